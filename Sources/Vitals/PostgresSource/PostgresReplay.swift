/// What one statement of a pipeline came back with.
enum PostgresPipelineAnswer: Sendable {
    /// The rows of the statement, and how long the server took over it: from the previous
    /// statement's last result (or the send) to its own.
    case rows(PostgresRows, seconds: Double)
    /// The statement failed; the server skipped the rest of the pipeline.
    case failed(PostgresError, seconds: Double)
    /// Skipped because an earlier statement failed: it was never run.
    case aborted
}

/// Serves a pass's statements from the answers of one pipeline sent before the pass, and learns
/// the next pass's pipeline from what the collectors asked.
///
/// Collectors ask their statements one at a time, and each round trip is a wake-up of the target's
/// thread. Their statements are the same pass after pass (fixed SQL, chosen by server version and by
/// what the server has), so the previous pass's sequence, sent at once, answers nearly all of them.
/// A statement not in the plan, or one the pipeline did not run, is asked live: a changed sequence
/// costs round trips, never a wrong answer. Pure: the session around it does the I/O.
struct PostgresReplay: Sendable {
    /// Statements kept for the next pipeline at most: the collectors ask about twenty.
    static let maxStatements = 64

    /// The statements this pass's pipeline sent, in order.
    let plan: [String]
    private var answers: [PostgresPipelineAnswer]
    private var cursor = 0
    /// What was asked, in order, and whether it worked: the next plan.
    private var asked: [(sql: String, succeeded: Bool)] = []
    /// Server time of the answers served since ``takeServedSeconds()``.
    private var servedSeconds = 0.0

    /// - Parameters:
    ///   - plan: the statements sent, in order; `answers` has one per statement.
    init(plan: [String], answers: [PostgresPipelineAnswer]) {
        precondition(plan.count == answers.count, "one answer per planned statement")
        self.plan = plan
        self.answers = answers
    }

    /// The answer to `sql` from the pipeline; nil when the server must be asked now. Looks forward
    /// only: a statement the plan has later means the ones between were not asked this time, and
    /// they are skipped.
    mutating func serve(_ sql: String) -> Result<PostgresRows, PostgresError>? {
        guard let position = plan[cursor...].firstIndex(of: sql) else { return nil }
        cursor = position + 1
        switch answers[position] {
        case .rows(let rows, let seconds):
            servedSeconds += seconds
            asked.append((sql, true))
            return .success(rows)
        case .failed(let error, let seconds):
            servedSeconds += seconds
            asked.append((sql, false))
            return .failure(error)
        case .aborted:
            return nil
        }
    }

    /// Records a statement asked live.
    mutating func record(_ sql: String, succeeded: Bool) {
        asked.append((sql, succeeded))
    }

    mutating func takeServedSeconds() -> Double {
        defer { servedSeconds = 0 }
        return servedSeconds
    }

    /// The next pass's pipeline: what was asked this pass and worked, in order. A failing
    /// statement is left to be asked live, so it cannot abort the statements after it.
    var nextPlan: [String] {
        Array(asked.lazy.filter(\.succeeded).map(\.sql).prefix(Self.maxStatements))
    }
}

/// What the collectors of one pass query: the answers of the pipeline sent before the pass
/// (``PostgresReplay``), and the connection for the rest.
final class PostgresReplaySession: PostgresQuerying {
    private let live: any PostgresQuerying
    private var replay: PostgresReplay

    init(live: any PostgresQuerying, plan: [String], answers: [PostgresPipelineAnswer]) {
        self.live = live
        self.replay = PostgresReplay(plan: plan, answers: answers)
    }

    func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        if let served = replay.serve(sql) { return try served.get() }
        do {
            let rows = try live.query(sql)
            replay.record(sql, succeeded: true)
            return rows
        } catch {
            replay.record(sql, succeeded: false)
            throw error
        }
    }

    /// Asked live and not recorded: in the next pipeline it would be sent again for nothing.
    func queryOnce(_ sql: String) throws(PostgresError) -> PostgresRows { try live.queryOnce(sql) }

    func takePrefetchedSeconds() -> Double { replay.takeServedSeconds() }

    var nextPlan: [String] { replay.nextPlan }
}
