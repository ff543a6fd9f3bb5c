#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOPosix

/// The one thread type for a source's blocking work: libpq, hiredis and file reads run here,
/// never on an event loop or on Swift's cooperative pool, so a hung server or a slow disk ties up
/// only its own source.
///
/// Two ways to use it: ``run(_:)`` hands it one job at a time (a collection pass, driven by
/// ``CollectionRunner``); ``repeatEvery(_:watch:idleTimeouts:_:)`` makes it call a body again and
/// again (a log tail). Waits are on the monotonic clock, so setting the wall clock back cannot
/// stall a poll, and one timed wait per poll is the whole cost of an idle thread: a poll written
/// as `Task.sleep` plus a hop to a pool costs four cross-thread wake-ups (BENCHMARKS.md).
final class WorkerThread: Sendable {
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let stop = StopSignal()

    init() {
        thread.start()
    }

    /// Runs `job` on the thread and returns its result, or nil once the thread is shut down.
    /// Cancelling the caller neither interrupts nor skips the job: a source aborts its own blocking
    /// call, and the runner's last job, closing connections at shutdown, runs in a cancelled task.
    /// (`NIOThreadPool.runIfActive` skips a job submitted from a cancelled task, so it is not used.)
    func run<Result: Sendable>(_ job: @escaping @Sendable () -> Result) async -> Result? {
        await withCheckedContinuation { continuation in
            thread.submit { state in
                switch state {
                case .active: continuation.resume(returning: job())
                case .cancelled: continuation.resume(returning: nil)
                }
            }
        }
    }

    /// Calls `body` at once and then `interval` after each call returns, until the calling task
    /// is cancelled. Returns once the last call has finished.
    ///
    /// With a `watch`, the waits between calls follow ``LogPollSchedule``: a log being written is
    /// polled once per interval, one that went quiet only when the watch reports a change (then
    /// `interval` more, to batch a burst of writes; after a lone write's poll it waits for the
    /// next change at once) or once per idle timeout, which grows along
    /// `idleTimeouts` while those reads find nothing. Whatever the wait, a name changed in a log's
    /// directory is polled at once (a ``LogTailer/PollKind/rotation`` poll, which leaves the
    /// schedule and its interval as they are). When cancelled with writes that no call has read
    /// yet, it calls `body` once more first. `body` keeps the watch's followed files current and
    /// returns whether it read anything.
    func repeatEvery(
        _ interval: Duration, watch: LogChangeWatch? = nil, idleTimeouts: Backoff = LogPollSchedule.defaultIdleTimeouts,
        _ body: @escaping @Sendable (LogTailer.PollKind) -> Bool
    ) async {
        let stop = self.stop
        await withTaskCancellationHandler {
            await withCheckedContinuation { (finished: CheckedContinuation<Void, Never>) in
                thread.submit { state in
                    guard state == .active else { return finished.resume() }
                    var loop = PollingLoop(interval: interval, watch: watch, schedule: LogPollSchedule(interval: interval, idleTimeouts: idleTimeouts), stop: stop, body: body)
                    loop.run()
                    finished.resume()
                }
            }
        } onCancel: {
            stop.stop()
        }
    }

    /// Lets the job in progress finish, then ends the thread; later jobs are not run.
    func shutdown() async {
        stop.stop()
        try? await thread.shutdownGracefully()
    }

    /// A polling loop on a thread of its own, shut down when the loop ends: the log sources' whole run.
    static func repeatEvery(
        _ interval: Duration, watch: LogChangeWatch? = nil, idleTimeouts: Backoff = LogPollSchedule.defaultIdleTimeouts,
        _ body: @escaping @Sendable (LogTailer.PollKind) -> Bool
    ) async {
        let worker = WorkerThread()
        await worker.repeatEvery(interval, watch: watch, idleTimeouts: idleTimeouts, body)
        await worker.shutdown()
    }
}

/// The loop ``WorkerThread/repeatEvery(_:watch:idleTimeouts:_:)`` runs on its thread: `body`, then
/// the waits ``LogPollSchedule`` asks for, until `stop`; then `body` once more if writes wait.
private struct PollingLoop {
    let interval: Duration
    let watch: LogChangeWatch?
    var schedule: LogPollSchedule
    let stop: StopSignal
    let body: @Sendable (LogTailer.PollKind) -> Bool
    private var lastRotationPoll: ContinuousClock.Instant?

    init(interval: Duration, watch: LogChangeWatch?, schedule: LogPollSchedule, stop: StopSignal, body: @escaping @Sendable (LogTailer.PollKind) -> Bool) {
        self.interval = interval
        self.watch = watch
        self.schedule = schedule
        self.stop = stop
        self.body = body
    }

    mutating func run() {
        readUntilStopped()
        // Lines written since the last read exist only in the log until read: a restart starts
        // at the log's end, so without this read a stop would drop up to an interval of them.
        if let watch, watch.canWaitForChanges, schedule.readsAtStop(written: watch.drainWrites()) {
            _ = body(.scheduled)
        }
    }

    private mutating func readUntilStopped() {
        while !stop.isStopped {
            let found = body(.scheduled)
            guard let watch, watch.canWaitForChanges, stop.canWaitForDescriptors else {
                if sleepInterval() { return }
                continue
            }
            let readEnded = ContinuousClock.now
            var wait = schedule.afterRead(pendingChanges: watch.drainWrites(), found: found)
            // Sleep until the schedule says read; only `body` changes what the watch follows.
            while true {
                let next: LogPollSchedule.Next
                switch wait {
                case .interval:
                    if sleepInterval() { return }
                    next = schedule.afterInterval(written: watch.drainWrites())
                case .change:
                    switch stop.wait(for: schedule.idleTimeout, orUntilReadable: [watch.writeDescriptor, watch.rotationDescriptor]) {
                    case .stopped: return
                    case .timedOut: next = schedule.afterIdleTimeout()
                    case .readable: next = schedule.afterChange(sinceRead: .now - readEnded)
                    }
                }
                guard case .wait(let more) = next else { break }
                wait = more
            }
        }
    }

    /// Sleeps `interval`, polling at once on each rotation meanwhile; true when stopped.
    private mutating func sleepInterval() -> Bool {
        guard let watch, watch.isComplete, stop.canWaitForDescriptors else { return stop.wait(for: interval) }
        let end = ContinuousClock.now + interval
        while true {
            let remaining = end - .now
            guard remaining > .zero else { return false }
            switch stop.wait(for: remaining, orUntilReadable: [watch.rotationDescriptor]) {
            case .stopped: return true
            case .timedOut: return false
            case .readable:
                // Names that churn (a lock file made and removed per write) make at most one
                // rotation poll per gap: the events wait in the queue until it has passed.
                if let last = lastRotationPoll {
                    let gap = last + LogPollSchedule.rotationPollGap - .now
                    if gap > .zero {
                        if stop.wait(for: min(gap, remaining)) { return true }
                        continue
                    }
                }
                // Events that concern no log (a neighbour's name) are drained and slept through.
                if watch.drainRotations() {
                    _ = body(.rotation)
                    lastRotationPoll = .now
                }
            }
        }
    }
}

/// A flag one thread sets and another can sleep on: waits return early once it is set.
final class StopSignal: @unchecked Sendable {
    enum Wake {
        case stopped
        case timedOut
        case readable
    }

    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>
    private var stopped = false
    /// A pipe written once by `stop()`, so a `poll(2)` on other descriptors also sees the stop;
    /// nil when no pipe could be made (descriptors exhausted), and then only timed waits are used.
    private let pipe: (read: CInt, write: CInt)?

    /// `wakesDescriptors: false` makes no pipe, for a signal only ever waited on with
    /// ``wait(for:)`` (it then costs no descriptors).
    init(wakesDescriptors: Bool = true) {
        mutex = .allocate(capacity: 1)
        condition = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
        var ends: [CInt] = [-1, -1]
        if wakesDescriptors, Glibc.pipe(&ends) == 0 {
            for end in ends {
                _ = fcntl(end, F_SETFD, FD_CLOEXEC)
                _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            }
            pipe = (ends[0], ends[1])
        } else {
            pipe = nil
        }
    }

    deinit {
        if let pipe {
            Glibc.close(pipe.read)
            Glibc.close(pipe.write)
        }
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

    var canWaitForDescriptors: Bool { pipe != nil }

    func stop() {
        pthread_mutex_lock(mutex)
        let first = !stopped
        stopped = true
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
        if first, let pipe {
            var byte: UInt8 = 1
            _ = Glibc.write(pipe.write, &byte, 1)
        }
    }

    /// Sleeps for `duration` or until `stop()`; returns whether it was stopped.
    func wait(for duration: Duration) -> Bool {
        var deadline = Self.monotonicNow()
        let (seconds, attoseconds) = duration.components
        var nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        nanoseconds %= 1_000_000_000
        deadline.tv_nsec = nanoseconds
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while !stopped {
            if pthread_cond_timedwait(condition, mutex, &deadline) == ETIMEDOUT { break }
        }
        return stopped
    }

    /// Sleeps until one of `descriptors` is readable, `stop()` or `duration` passes, whichever is first.
    func wait(for duration: Duration, orUntilReadable descriptors: [CInt]) -> Wake {
        guard let pipe else { return wait(for: duration) ? .stopped : .timedOut }
        let start = Self.monotonicNow()
        let total = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        while true {
            if isStopped { return .stopped }
            let now = Self.monotonicNow()
            let elapsed = Double(now.tv_sec - start.tv_sec) + Double(now.tv_nsec - start.tv_nsec) / 1e9
            let remaining = total - elapsed
            guard remaining > 0 else { return .timedOut }
            var polled = [pollfd(fd: pipe.read, events: Int16(POLLIN), revents: 0)]
            for descriptor in descriptors { polled.append(pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)) }
            let ready = poll(&polled, nfds_t(polled.count), CInt(min(remaining * 1000, 3_600_000).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                // A failed poll must not turn into a busy loop: sleep the rest as a timed wait.
                return wait(for: .milliseconds(Int(remaining * 1000))) ? .stopped : .timedOut
            }
            if polled[0].revents != 0 || isStopped { return .stopped }
            if polled.dropFirst().contains(where: { $0.revents != 0 }) { return .readable }
        }
    }

    private static func monotonicNow() -> timespec {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now
    }
}
