import Testing

@testable import Vitals

/// The waits between reads of a watched log, from tables: each step is what happened and what the
/// schedule says next. Every wait is a wake-up of the log's thread.
@Suite struct LogPollScheduleTests {
    enum Step {
        /// A read; whether the watch already held changes afterwards.
        case read(pending: Bool, then: LogPollSchedule.Wait)
        /// A read that took new bytes (`found`) or none; whether the watch held changes afterwards.
        case readFinding(Bool, pending: Bool = false, then: LogPollSchedule.Wait)
        /// How long the next wait for a change may last.
        case idleTimeout(Duration)
        /// An interval passed; whether the log was written during it.
        case interval(written: Bool, then: LogPollSchedule.Next)
        /// A change (true) or the idle timeout (false), `after` the last read ended.
        case change(seen: Bool, after: Duration = .zero, then: LogPollSchedule.Next)
        /// A stop in the wait; whether the watch held changes; whether the thread reads once more.
        case stop(written: Bool, reads: Bool)
    }

    static let interval: Duration = .seconds(2)

    static func run(_ steps: [Step], idleTimeouts: Backoff = LogPollSchedule.defaultIdleTimeouts) {
        var schedule = LogPollSchedule(interval: interval, idleTimeouts: idleTimeouts)
        for (number, step) in steps.enumerated() {
            switch step {
            case .read(let pending, let expected):
                #expect(schedule.afterRead(pendingChanges: pending, found: false) == expected, "step \(number)")
            case .readFinding(let found, let pending, let expected):
                #expect(schedule.afterRead(pendingChanges: pending, found: found) == expected, "step \(number)")
            case .idleTimeout(let expected):
                #expect(schedule.idleTimeout == expected, "step \(number)")
            case .interval(let written, let expected):
                #expect(schedule.afterInterval(written: written) == expected, "step \(number)")
            case .change(let seen, let after, let expected):
                #expect((seen ? schedule.afterChange(sinceRead: after) : schedule.afterIdleTimeout()) == expected, "step \(number)")
            case .stop(let written, let expected):
                #expect(schedule.readsAtStop(written: written) == expected, "step \(number)")
            }
        }
    }

    /// An idle log read twice after its timeout, finding nothing each time: the timeout has grown
    /// from 5 s to 20 s.
    static let twoQuietTimeouts: [Step] = [
        .readFinding(false, then: .change),
        .change(seen: false, then: .read),
        .readFinding(false, then: .change),
        .change(seen: false, then: .read),
        .readFinding(false, then: .change),
        .idleTimeout(.seconds(20)),
    ]

    @Test func aLogWrittenAllTheTimeIsReadOncePerIntervalWithOneWakeUpEach() {
        Self.run([
            .read(pending: false, then: .change),
            .change(seen: true, then: .wait(.interval)),
            .interval(written: true, then: .read),
            // From here: one interval, one read, no wait for the write's event.
            .read(pending: false, then: .interval),
            .interval(written: true, then: .read),
            .read(pending: false, then: .interval),
            .interval(written: true, then: .read),
        ])
    }

    @Test func aLogThatGoesQuietIsNotReadAgainUntilItChanges() {
        Self.run([
            .read(pending: false, then: .change),
            .change(seen: true, then: .wait(.interval)),
            .interval(written: false, then: .read),
            .read(pending: false, then: .interval),
            .interval(written: false, then: .wait(.change)),
            .change(seen: true, then: .wait(.interval)),
            .interval(written: false, then: .read),
        ])
    }

    @Test func aLogWrittenOnceEveryFewSecondsWakesTwicePerWrite() {
        Self.run([
            .readFinding(false, then: .change),
            .change(seen: true, after: .seconds(5), then: .wait(.interval)),
            // The watch still holds the change that started the interval.
            .interval(written: true, then: .read),
            // No sleep to find the log quiet: the next wake-up is the next write.
            .readFinding(true, then: .change),
            .change(seen: true, after: .seconds(3), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .change),
        ])
    }

    @Test func aLogThatStartsBeingWrittenIsReadOncePerIntervalAfterOneWakeUpMore() {
        Self.run([
            .readFinding(false, then: .change),
            .change(seen: true, after: .seconds(30), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .change),
            // Written again right after that read: the log is being written.
            .change(seen: true, after: .milliseconds(10), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .interval),
            .interval(written: true, then: .read),
            .readFinding(true, then: .interval),
            .interval(written: false, then: .wait(.change)),
            // Quiet for an interval, then one write: a lone write again.
            .change(seen: true, after: .seconds(4), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .change),
        ])
    }

    @Test func aChangeAnIntervalAfterTheReadIsALoneWrite() {
        Self.run([
            .readFinding(true, then: .change),
            .change(seen: true, after: Self.interval, then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .change),
            .change(seen: true, after: Self.interval - .milliseconds(1), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .interval),
        ])
    }

    /// A restart starts at the log's end, so a stop drops what no read took unless it reads first.
    @Test func aStopBetweenAWriteAndItsReadReadsItFirst() {
        Self.run([
            .readFinding(false, then: .change),
            .stop(written: false, reads: false),
            // A write whose event the thread has not taken yet.
            .stop(written: true, reads: true),
            // The lone write's change was drained with its wake-up; its read is an interval away.
            .change(seen: true, after: .seconds(5), then: .wait(.interval)),
            .stop(written: false, reads: true),
            .interval(written: true, then: .read),
            .readFinding(true, then: .change),
            .stop(written: false, reads: false),
            // A log being written: what came during the interval's sleep.
            .change(seen: true, after: .milliseconds(10), then: .wait(.interval)),
            .interval(written: true, then: .read),
            .readFinding(true, then: .interval),
            .stop(written: true, reads: true),
            .stop(written: false, reads: false),
        ])
    }

    @Test func anIdleLogIsReadOncePerIdleTimeout() {
        Self.run([
            .read(pending: false, then: .change),
            .change(seen: false, then: .read),
            .read(pending: false, then: .change),
            .change(seen: false, then: .read),
        ])
    }

    @Test func writesDuringAReadAreReadAfterTheNextIntervalEvenIfNothingFollows() {
        Self.run([
            .read(pending: true, then: .interval),
            .interval(written: false, then: .read),
            .read(pending: false, then: .interval),
            .interval(written: false, then: .wait(.change)),
        ])
    }

    @Test func theIdleTimeoutEndsTheActiveSpell() {
        Self.run([
            .read(pending: true, then: .interval),
            .interval(written: true, then: .read),
            .read(pending: false, then: .interval),
            .interval(written: false, then: .wait(.change)),
            .change(seen: false, then: .read),
            .read(pending: false, then: .change),
        ])
    }

    @Test func eachQuietReadAfterAnIdleTimeoutDoublesTheNextUpToAMinute() {
        Self.run([
            .idleTimeout(.seconds(5)),
            .readFinding(false, then: .change),
            // The first read is not one a timeout asked for: the timeout stays.
            .idleTimeout(.seconds(5)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(10)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(20)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(40)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(60)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(60)),
        ])
    }

    @Test func changesTheWatchReportsKeepTheLongTimeout() {
        Self.run(Self.twoQuietTimeouts + [
            // The watch saw a write: it works, so waiting long for the next one loses nothing.
            .change(seen: true, then: .wait(.interval)),
            .interval(written: false, then: .read),
            .readFinding(true, then: .interval),
            .interval(written: false, then: .wait(.change)),
            .idleTimeout(.seconds(20)),
        ])
    }

    @Test func aWriteOnlyTheIdleTimeoutFoundKeepsTheTimeoutAtItsBaseForGood() {
        Self.run(Self.twoQuietTimeouts + [
            // No event announced these bytes: this file system's writes escape inotify.
            .change(seen: false, then: .read),
            .readFinding(true, then: .change),
            .idleTimeout(.seconds(5)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(5)),
            .change(seen: false, then: .read),
            .readFinding(false, then: .change),
            .idleTimeout(.seconds(5)),
        ])
    }

    @Test func aWriteThatRacedTheTimeoutAndWasAnnouncedDoesNotShortenIt() {
        Self.run(Self.twoQuietTimeouts + [
            // Written just after the timeout: the read finds it and its event waits in the watch.
            .change(seen: false, then: .read),
            .readFinding(true, pending: true, then: .interval),
            .interval(written: false, then: .read),
            .readFinding(false, then: .interval),
            .interval(written: false, then: .wait(.change)),
            .idleTimeout(.seconds(20)),
        ])
    }

    @Test func theTimeoutsFollowTheBackoffGiven() {
        Self.run(
            [
                .idleTimeout(.milliseconds(100)),
                .readFinding(false, then: .change),
                .change(seen: false, then: .read),
                .readFinding(false, then: .change),
                .idleTimeout(.milliseconds(200)),
                .change(seen: false, then: .read),
                .readFinding(false, then: .change),
                .idleTimeout(.milliseconds(250)),
            ], idleTimeouts: Backoff(base: .milliseconds(100), cap: .milliseconds(250)))
    }
}
