import Testing

@testable import Vitals

/// The collection loop's rules, from tables of inputs: no threads, no clock, no server.
@Suite struct CollectionStateMachineTests {
    typealias Machine = CollectionStateMachine
    let t0 = ContinuousClock.now
    let settings = Machine.Settings(interval: .seconds(15), timeout: .seconds(5), backoffBase: .seconds(1))

    func ok(_ seconds: Double = 0.1, parts: [String: SourceFailure] = [:], details: [String: String] = [:]) -> PassOutcome {
        PassOutcome(partFailures: parts, upDetails: details, duration: .seconds(seconds))
    }

    func failed(_ reason: SourceErrorReason, _ message: String = "failed") -> PassOutcome {
        PassOutcome(failure: SourceFailure(reason, message: message), duration: .seconds(0.1))
    }

    @Test func firstPassStartsAtOnceWithItsDeadline() {
        var machine = Machine(settings: settings)
        #expect(machine.start(now: t0) == .runPass(deadline: t0 + .seconds(5)))
        #expect(machine.start(now: t0) == .none, "a second start is ignored")
    }

    @Test func aSuccessfulPassIsRecordedPublishedLoggedOnceAndRepeatsEveryInterval() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        let first = machine.passFinished(ok(details: ["version": "15.4.0"]), now: t0 + .seconds(1))
        #expect(
            first
                == .report(
                    .init(record: .up, publication: .pass, logs: [.up(details: ["version": "15.4.0"])], duration: .seconds(0.1)),
                    nextPassAt: t0 + .seconds(15)))
        #expect(machine.waitEnded(now: t0 + .seconds(15)) == .runPass(deadline: t0 + .seconds(20)))
        // Up again: nothing to log.
        #expect(
            machine.passFinished(ok(), now: t0 + .seconds(16))
                == .report(.init(record: .up, publication: .pass, logs: [], duration: .seconds(0.1)), nextPassAt: t0 + .seconds(30)))
    }

    @Test func failuresBackOffAndLogOnlyWhenTheReasonChanges() {
        var machine = Machine(settings: settings)
        var now = t0
        _ = machine.start(now: now)
        // (outcome, logged?, delay before the next pass)
        let table: [(PassOutcome, Bool, Duration)] = [
            (failed(.connect), true, .seconds(1)),
            (failed(.connect, "other text"), false, .seconds(2)),
            (failed(.auth), true, .seconds(4)),
            (failed(.auth), false, .seconds(8)),
            (failed(.auth), false, .seconds(15)),
            (failed(.auth), false, .seconds(15)),
        ]
        for (outcome, logged, delay) in table {
            guard case .report(let report, let next) = machine.passFinished(outcome, now: now + .milliseconds(100)) else {
                Issue.record("no report")
                return
            }
            #expect(report.record == .down(outcome.failure!))
            #expect(report.publication == .pass, "a failed pass publishes its own down mapping")
            #expect(report.logs == (logged ? [.down(outcome.failure!)] : []))
            #expect(next == now + delay)
            now = next
            #expect(machine.waitEnded(now: now) == .runPass(deadline: now + .seconds(5)))
        }
        guard case .report(let report, let next) = machine.passFinished(ok(), now: now) else {
            Issue.record("no report")
            return
        }
        #expect(report.logs == [.up(details: [:])])
        #expect(next == now + .seconds(15), "after a success the backoff starts again")
        _ = machine.waitEnded(now: next)
        guard case .report(_, let afterNextFailure) = machine.passFinished(failed(.connect), now: next) else {
            Issue.record("no report")
            return
        }
        #expect(afterNextFailure == next + .seconds(1))
    }

    @Test func anOverrunIsReportedOnceAndTheLatePassDoesNotCountTwice() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        let timeout = SourceFailure(.timeout, message: "no complete collection within 5s")
        #expect(
            machine.deadlinePassed(now: t0 + .seconds(6))
                == .reportOverrun(.init(record: .down(timeout), publication: .down, logs: [.down(timeout)], duration: .seconds(6))))
        #expect(machine.deadlinePassed(now: t0 + .seconds(7)) == .none, "one overrun per pass")
        #expect(machine.waitEnded(now: t0 + .seconds(8)) == .none, "no second pass while the first has not come back")
        // The aborted pass comes back failed: already recorded and logged as a timeout.
        #expect(
            machine.passFinished(failed(.io, "connection reset"), now: t0 + .seconds(9))
                == .report(.init(record: .unchanged, publication: .pass, logs: [], duration: .seconds(0.1)), nextPassAt: t0 + .seconds(1)))
        #expect(machine.health == .down(.timeout))
    }

    @Test func aLatePassThatSucceededBringsTheSourceBackUp() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        _ = machine.deadlinePassed(now: t0 + .seconds(6))
        guard case .report(let report, _) = machine.passFinished(ok(6.5), now: t0 + .seconds(7)) else {
            Issue.record("no report")
            return
        }
        #expect(report.record == .up)
        #expect(report.logs == [.up(details: [:])])
        #expect(machine.health == .up)
    }

    @Test func aDeadlineAfterThePassCameBackIsIgnored() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        _ = machine.passFinished(ok(), now: t0 + .seconds(1))
        #expect(machine.deadlinePassed(now: t0 + .seconds(6)) == .none)
    }

    @Test func failingPartsKeepTheSourceUpAndAreLoggedWhenTheyChange() {
        var machine = Machine(settings: settings)
        var now = t0
        _ = machine.start(now: now)
        let denied = SourceFailure(.permission, message: "collector wal: permission denied")
        let missing = SourceFailure(.unsupported, message: "collector wal: not supported")
        let table: [([String: SourceFailure], Machine.Report.Record, [Machine.LogEvent])] = [
            (["wal": denied], .upWithFailedPart(denied), [.up(details: [:]), .partFailed("wal", denied)]),
            (["wal": denied], .upWithFailedPart(denied), []),
            (["wal": missing], .upWithFailedPart(missing), [.partFailed("wal", missing)]),
            ([:], .up, []),
            (["wal": missing], .upWithFailedPart(missing), [.partFailed("wal", missing)]),
        ]
        for (parts, record, logs) in table {
            guard case .report(let report, let next) = machine.passFinished(ok(parts: parts), now: now) else {
                Issue.record("no report")
                return
            }
            #expect(report.record == record)
            #expect(report.logs == logs)
            now = next
            _ = machine.waitEnded(now: now)
        }
    }

    @Test func shutdownWhileWaitingClosesAtOnce() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        _ = machine.passFinished(ok(), now: t0)
        #expect(machine.shutdown() == .close)
        #expect(machine.shutdown() == .none)
        #expect(machine.waitEnded(now: t0 + .seconds(15)) == .none, "no pass after shutdown")
    }

    @Test func shutdownWhileAPassRunsAbortsItAndClosesWhenItComesBack() {
        var machine = Machine(settings: settings)
        _ = machine.start(now: t0)
        #expect(machine.shutdown() == .abortPass)
        #expect(machine.deadlinePassed(now: t0 + .seconds(6)) == .none, "no overrun reported while stopping")
        #expect(machine.passFinished(failed(.timeout), now: t0 + .seconds(1)) == .close)
    }

    @Test func shutdownBeforeTheFirstPassCloses() {
        var machine = Machine(settings: settings)
        #expect(machine.shutdown() == .close)
        #expect(machine.start(now: t0) == .none)
    }
}
