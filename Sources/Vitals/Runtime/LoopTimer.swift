import NIOCore
import NIOPosix

/// The daemon's timed waits, on an event loop's timer rather than `Task.sleep`.
///
/// On Linux `Task.sleep` arms a libdispatch timer, and while any dispatch timer more than about a
/// second away is pending, dispatch's timer thread wakes once a second to re-arm it (seen with
/// strace on a program that only sleeps an hour). vitals always has such a wait pending (the next
/// pass, the next findings round), so that was a wake-up a second at rest. An event loop waits in
/// `epoll_wait` with the exact timeout: a 15 s wait costs one wake-up, at its end.
enum LoopTimer {
    /// Returns after `duration`, or throws `CancellationError` as soon as the task is cancelled.
    static func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let scheduled = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(duration)) {}
        try await withTaskCancellationHandler {
            do {
                try await scheduled.futureResult.get()
            } catch {
                throw CancellationError()
            }
        } onCancel: {
            scheduled.cancel()
        }
    }

    static func sleep(until deadline: ContinuousClock.Instant) async throws {
        try await sleep(for: deadline - .now)
    }
}
