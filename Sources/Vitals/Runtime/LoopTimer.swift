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
    ///
    /// `periodic`: the wait of a loop that runs every so often (a pass, a findings round, the
    /// lag probe), which may end a little early or late; it ends at ``coalesced(_:after:)``, so
    /// such waits that fall due together cost one wake-up of the event loop, not one each.
    static func sleep(for duration: Duration, periodic: Bool = false) async throws {
        try Task.checkCancellation()
        guard duration > .zero else { return }
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let scheduled =
            periodic
            ? loop.scheduleTask(deadline: coalesced(.now(), after: duration)) {}
            : loop.scheduleTask(in: TimeAmount(duration)) {}
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

    static func sleep(until deadline: ContinuousClock.Instant, periodic: Bool = false) async throws {
        try await sleep(for: deadline - .now, periodic: periodic)
    }

    /// The end of a periodic wait of `duration` from `now`: the nearest point of a grid that every
    /// periodic wait shares (100 ms apart, or a tenth of `duration` when that is shorter).
    ///
    /// The daemon's periodic loops start together and their periods are multiples of each other
    /// (15 s passes, findings rounds and lag probe by default; `--event-loop.interval 5s` probes
    /// three times as often), yet each wait ended at its own instant, a millisecond or two from the
    /// others: four wake-ups of the event loop every 15 s where one does (timer slack, as the kernel's). The nearest point, not the next: a loop that waits a
    /// period after its work lands on the same point each time as long as the work and the wake-up
    /// take under half a step, instead of drifting a step later every period.
    static func coalesced(_ now: NIODeadline, after duration: Duration) -> NIODeadline {
        let end = now + TimeAmount(duration)
        let step = min(100_000_000, max(1, TimeAmount(duration).nanoseconds / 10))
        let nanoseconds = Int64(clamping: end.uptimeNanoseconds)
        let nearest = (nanoseconds + step / 2) / step * step
        return NIODeadline.uptimeNanoseconds(UInt64(max(0, nearest)))
    }
}
