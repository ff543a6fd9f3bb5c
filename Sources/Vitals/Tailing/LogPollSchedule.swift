/// When a watched log is read next: the waits between reads of ``WorkerThread/repeatEvery(_:watch:idleTimeouts:_:)``,
/// as a state machine that returns what to do.
///
/// - A log being written is read once per interval, one wake-up each: after a read that follows
///   writes, the thread sleeps one interval and reads again if the log was written meanwhile,
///   without waiting for the write's inotify event first (that was a second wake-up a second).
/// - A log that went quiet for an interval is not read; the thread sleeps until it changes.
/// - A change wakes the thread, which waits one more interval to batch the burst, then reads.
///   A change that comes more than an interval after the last read is a lone write (a slow
///   statement every few seconds): after its read the thread waits for the next change at once,
///   instead of sleeping one more interval to find the log quiet. A change within an interval of
///   the last read means the log is being written: it is read once per interval from then on.
/// - An idle log is read once per idle timeout, for changes inotify does not report (a network
///   file system's writes from another host). Each such read that finds nothing doubles the next
///   timeout, from 5 s up to a minute, so a log quiet for hours costs a wake-up a minute, not
///   twelve. A read after a timeout that does find new lines shows the watch missed a write: the
///   timeout then stays at its base for good, as it was before it grew.
///
/// What it costs: a log written once every few seconds wakes the thread twice per write (the
/// change, and the read an interval later). A log that starts being written steadily costs one
/// wake-up more at the start of each spell, for the change right after the first read. On a file
/// system whose writes inotify never reports, the first write after a quiet spell is read up to a
/// minute late (never lost), and only then does the timeout stay short.
struct LogPollSchedule: Equatable {
    /// 5 s, doubling after each quiet read, at most a minute.
    static let defaultIdleTimeouts = Backoff(base: .seconds(5), cap: .seconds(60))

    /// The least time between two rotation polls (``LogTailer/PollKind/rotation``). Rotations come
    /// seconds apart at the most; names that churn faster (a lock file per write) would otherwise
    /// make a poll per event. A file created and renamed away within it can still be skipped.
    static let rotationPollGap: Duration = .milliseconds(100)

    enum Wait: Equatable {
        /// Sleep one interval, then look whether the log was written meanwhile.
        case interval
        /// Sleep until the log changes or the idle timeout passes.
        case change
    }

    enum Next: Equatable {
        case read
        case wait(Wait)
    }

    /// How long the thread sleeps between reads of a log being written, and so how soon after a
    /// read a change shows that the log is being written rather than written once.
    private let interval: Duration
    /// The log is being written: after each read, sleep one interval and read again if written.
    private var active = false
    /// Writes were seen that no read has taken yet: read after the interval whatever it brings.
    private var unread = false
    /// Counts the quiet reads after an idle timeout the way a retry counts failures: each one
    /// doubles the next timeout, up to the cap.
    private var quietTimeouts: Backoff
    /// The next read is the one an idle timeout asked for.
    private var readingAfterTimeout = false
    /// A read after a timeout found lines no event announced: the watch misses writes here.
    private var watchMissesWrites = false

    init(interval: Duration, idleTimeouts: Backoff = Self.defaultIdleTimeouts) {
        self.interval = interval
        quietTimeouts = idleTimeouts
    }

    /// How long the next wait for a change may last before the log is read anyway.
    var idleTimeout: Duration {
        quietTimeouts.delay(afterFailures: quietTimeouts.consecutiveFailures + 1)
    }

    /// After a read; `pendingChanges`: the watch already held changes (written while reading);
    /// `found`: the read took new bytes.
    mutating func afterRead(pendingChanges: Bool, found: Bool) -> Wait {
        if readingAfterTimeout {
            readingAfterTimeout = false
            if !found {
                if !watchMissesWrites { _ = quietTimeouts.failed() }
            } else if !pendingChanges {
                // No event came for these bytes, not even after the read: the watch missed them.
                // (A write that lands between the timeout and the read has its event waiting.)
                watchMissesWrites = true
                quietTimeouts.succeeded()
            }
        }
        // Written while it was read: within an interval of the read, so being written.
        if pendingChanges { active = true }
        unread = pendingChanges
        return active ? .interval : .change
    }

    /// After sleeping one interval; `written`: the watch held changes at its end.
    mutating func afterInterval(written: Bool) -> Next {
        if unread {
            // After a change, `written` also holds that change's own event and says nothing of
            // more writes: `active` was decided when the change (or the read's writes) came.
            unread = false
            return .read
        }
        if written {
            active = true
            return .read
        }
        active = false
        return .wait(.change)
    }

    /// After a wait for a change that a change ended; `sinceRead`: the time since the
    /// last read ended.
    mutating func afterChange(sinceRead: Duration) -> Next {
        unread = true
        active = sinceRead < interval
        return .wait(.interval)
    }

    /// After a wait for a change that the idle timeout ended.
    mutating func afterIdleTimeout() -> Next {
        active = false
        readingAfterTimeout = true
        return .read
    }

    /// When the thread is stopped in a wait; `written`: the watch held changes at the stop.
    /// True when there are writes no read has taken: a graceful stop reads them first, so a
    /// stop between a write and its read (an interval later) drops none of its lines.
    func readsAtStop(written: Bool) -> Bool {
        unread || written
    }
}
