/// When a watched log is read next: the waits between reads of ``WorkerThread/repeatEvery(_:watch:idleTimeout:_:)``,
/// as a state machine that returns what to do.
///
/// - A log being written is read once per interval, one wake-up each: after a read that follows
///   writes, the thread sleeps one interval and reads again if the log was written meanwhile,
///   without waiting for the write's inotify event first (that was a second wake-up a second).
/// - A log that went quiet for an interval is not read; the thread sleeps until it changes.
/// - A change wakes the thread, which waits one more interval to batch the burst, then reads.
/// - An idle log is read once per idle timeout (changes inotify does not report).
///
/// What it costs: a log written once every few seconds wakes the thread three times per write
/// (the change, the batching interval, the interval that finds it quiet) instead of two.
struct LogPollSchedule: Equatable {
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

    /// The last read followed writes: after the next interval, read again only if written.
    private var active = false
    /// Writes were seen that no read has taken yet: read after the interval whatever it brings.
    private var unread = false

    /// After a read; `pendingChanges`: the watch already held changes (written while reading).
    mutating func afterRead(pendingChanges: Bool) -> Wait {
        unread = pendingChanges
        return pendingChanges || active ? .interval : .change
    }

    /// After sleeping one interval; `written`: the watch held changes at its end.
    mutating func afterInterval(written: Bool) -> Next {
        if unread || written {
            unread = false
            active = true
            return .read
        }
        active = false
        return .wait(.change)
    }

    /// After waiting for a change: `seen` when the log changed, false when the idle timeout passed.
    mutating func afterChange(seen: Bool) -> Next {
        if seen {
            unread = true
            return .wait(.interval)
        }
        active = false
        return .read
    }
}
