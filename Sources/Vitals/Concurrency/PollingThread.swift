#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// Runs blocking periodic work, such as tailing a log, on a thread of its own.
///
/// A poll every 100 ms written as `Task.sleep` followed by a hop to the shared thread pool costs
/// four cross-thread wake-ups per poll (timer thread, executor thread, pool thread, executor
/// again); the profile put that at 4.7 ms of CPU a second for the timing-log source alone
/// (BENCHMARKS.md). Here a poll is one timed wait on one thread. The wait is on the monotonic
/// clock, so setting the wall clock back cannot stall a poll.
enum PollingThread {
    /// Calls `body` at once and then `interval` after each call returns, on a dedicated thread,
    /// until the calling task is cancelled. Returns once the last call has finished.
    static func run(every interval: Duration, _ body: @escaping @Sendable () -> Void) async {
        let stop = StopSignal()
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                thread.submit { _ in
                    while !stop.isStopped {
                        body()
                        if stop.wait(for: interval) { break }
                    }
                    finished.resume()
                }
            }
        } onCancel: {
            stop.stop()
        }
        try? await thread.shutdownGracefully()
    }
}

/// A flag one thread sets and another can sleep on: `wait(for:)` returns early once it is set.
final class StopSignal: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var stopped = false

    init() {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    var isStopped: Bool {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return stopped
    }

    func stop() {
        pthread_mutex_lock(mutex)
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    /// Sleeps for `duration` or until `stop()`; returns whether it was stopped.
    func wait(for duration: Duration) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let (seconds, attoseconds) = duration.components
        var nanoseconds = Int(now.tv_nsec) + Int(attoseconds / 1_000_000_000)
        var deadline = timespec()
        deadline.tv_sec = now.tv_sec + Int(seconds) + nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        deadline.tv_nsec = nanoseconds
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        return stopped
    }
}
