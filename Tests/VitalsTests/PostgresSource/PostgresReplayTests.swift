import Testing

@testable import Vitals

/// Passes queries on to another session and counts what reached it: the "live" side of a replay.
final class CountingSession: PostgresQuerying, @unchecked Sendable {
    let inner: any PostgresQuerying
    private(set) var asked: [String] = []

    init(_ inner: any PostgresQuerying) { self.inner = inner }

    func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        asked.append(sql)
        return try inner.query(sql)
    }
}

@Suite struct PostgresReplayTests {
    static func rows(_ value: String) -> PostgresRows { PostgresRows([["v": value]]) }

    @Test func servesThePlanInOrderAndLearnsTheSameNextPlan() throws {
        var replay = PostgresReplay(
            plan: ["a", "b", "c"], answers: [.rows(Self.rows("1"), seconds: 0.5), .rows(Self.rows("2"), seconds: 0.25), .rows(Self.rows("3"), seconds: 0)])
        let a = replay.serve("a")
        let b = replay.serve("b")
        #expect(try a?.get() == Self.rows("1"))
        #expect(try b?.get() == Self.rows("2"))
        let seconds = replay.takeServedSeconds()
        let again = replay.takeServedSeconds()
        #expect(seconds == 0.75)
        #expect(again == 0, "taken once")
        let c = replay.serve("c")
        #expect(try c?.get() == Self.rows("3"))
        #expect(replay.nextPlan == ["a", "b", "c"])
    }

    /// A statement asked again after its turn, or one never planned, goes to the server.
    @Test func aStatementOutOfTurnOrNewIsAskedLiveAndJoinsTheNextPlan() {
        var replay = PostgresReplay(plan: ["a", "b"], answers: [.rows(Self.rows("1"), seconds: 0), .rows(Self.rows("2"), seconds: 0)])
        let new = replay.serve("new")
        #expect(new == nil)
        replay.record("new", succeeded: true)
        let b = replay.serve("b")
        #expect(b != nil)
        let a = replay.serve("a")
        #expect(a == nil, "the plan is served forward only")
        replay.record("a", succeeded: true)
        #expect(replay.nextPlan == ["new", "b", "a"])
    }

    /// A collector that stopped asking a statement (an extension dropped): the ones between are
    /// skipped and leave the plan.
    @Test func statementsNotAskedAreSkippedAndDropped() {
        var replay = PostgresReplay(
            plan: ["a", "b", "c"], answers: [.rows(Self.rows("1"), seconds: 1), .rows(Self.rows("2"), seconds: 1), .rows(Self.rows("3"), seconds: 1)])
        let c = replay.serve("c")
        #expect(c != nil)
        let seconds = replay.takeServedSeconds()
        #expect(seconds == 1, "only what was served counts")
        #expect(replay.nextPlan == ["c"])
    }

    /// A statement that failed in the pipeline fails its collector as it would live, and is left
    /// out of the next pipeline so it cannot abort the others again; the ones the server skipped
    /// after it are asked live.
    @Test func aFailureIsServedAndLeftOutAndTheAbortedAreAskedLive() throws {
        let failure = PostgresError(.permission, sqlState: "42501", detail: "permission denied")
        var replay = PostgresReplay(plan: ["a", "b", "c"], answers: [.rows(Self.rows("1"), seconds: 0), .failed(failure, seconds: 0.1), .aborted])
        let a = replay.serve("a")
        #expect(a != nil)
        let b = replay.serve("b")
        let served = try #require(b)
        #expect(throws: PostgresError.self) { try served.get() }
        if case .failure(let error) = served { #expect(error.code == .permission && error.sqlState == "42501") }
        let c = replay.serve("c")
        #expect(c == nil, "never run by the server")
        replay.record("c", succeeded: true)
        #expect(replay.nextPlan == ["a", "c"])
    }

    @Test func theNextPlanIsBounded() {
        var replay = PostgresReplay(plan: [], answers: [])
        for index in 0..<(PostgresReplay.maxStatements * 2) { replay.record("SELECT \(index)", succeeded: true) }
        #expect(replay.nextPlan.count == PostgresReplay.maxStatements)
        #expect(replay.nextPlan.first == "SELECT 0")
    }

    /// The collectors run on a replay session: what the pipeline answered never reaches the
    /// connection, the rest does, and a collector's duration includes its statements' server time.
    @Test func collectorsOnAReplaySessionAskOnlyWhatThePipelineLacks() {
        let live = CountingSession(PostgresFixtureSession(rows: ["pg_postmaster_start_time": PostgresRows([["start_time": "1700000000"]])]))
        // The first pass has no plan: every statement is asked live.
        var first = PostgresPassResult()
        let firstSession = PostgresReplaySession(live: live, plan: [], answers: [])
        PostgresTargetWorker.run([PostmasterCollector(), WALCollector()], on: firstSession, context: PostgresMappingTests.pg15, into: &first)
        let plan = firstSession.nextPlan
        #expect(plan == live.asked && plan.count == 2)

        // The second pass: the plan was sent as a pipeline, and its answers serve both collectors.
        let answers: [PostgresPipelineAnswer] = [.rows(PostgresRows([["start_time": "1800000000"]]), seconds: 2), .rows(PostgresRows([]), seconds: 3)]
        var second = PostgresPassResult()
        let secondSession = PostgresReplaySession(live: live, plan: plan, answers: answers)
        PostgresTargetWorker.run([PostmasterCollector(), WALCollector()], on: secondSession, context: PostgresMappingTests.pg15, into: &second)
        #expect(live.asked.count == 2, "nothing asked live")
        #expect(second.outcomes[.postmaster]?.success == true)
        #expect((second.outcomes[.postmaster]?.duration ?? 0) >= 2 && (second.outcomes[.postmaster]?.duration ?? 0) < 3)
        #expect((second.outcomes[.wal]?.duration ?? 0) >= 3)
        var publication = PostgresPublication(target: nil, enabled: [.postmaster, .wal])
        publication.apply(second, isFast: true)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).sum("pg_postmaster_start_time_seconds") == 1_800_000_000)
        #expect(secondSession.nextPlan == plan)
    }

    /// Locks first: the pipeline's statements share one transaction and keep their locks to its
    /// end, so pg_locks counts only its own statement's locks, as it did alone.
    @Test func theLocksCollectorRunsFirst() {
        #expect(PostgresSource.collectors(.fast, disabled: []).first?.name == .locks)
    }
}
