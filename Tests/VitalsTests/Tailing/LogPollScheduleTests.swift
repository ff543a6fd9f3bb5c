import Testing

@testable import Vitals

/// The waits between reads of a watched log, from tables: each step is what happened and what the
/// schedule says next. Every wait is a wake-up of the log's thread.
@Suite struct LogPollScheduleTests {
    enum Step {
        /// A read; whether the watch already held changes afterwards.
        case read(pending: Bool, then: LogPollSchedule.Wait)
        /// An interval passed; whether the log was written during it.
        case interval(written: Bool, then: LogPollSchedule.Next)
        /// A change (true) or the idle timeout (false).
        case change(seen: Bool, then: LogPollSchedule.Next)
    }

    static func run(_ steps: [Step]) {
        var schedule = LogPollSchedule()
        for (number, step) in steps.enumerated() {
            switch step {
            case .read(let pending, let expected):
                #expect(schedule.afterRead(pendingChanges: pending) == expected, "step \(number)")
            case .interval(let written, let expected):
                #expect(schedule.afterInterval(written: written) == expected, "step \(number)")
            case .change(let seen, let expected):
                #expect(schedule.afterChange(seen: seen) == expected, "step \(number)")
            }
        }
    }

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
}
