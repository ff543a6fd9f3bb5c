/// One pass's queries answered from replies fetched ahead of it.
///
/// A pass asks the same statements every time (they depend on the server version and the
/// collectors, not on what earlier statements return), so the worker sends the statements the
/// previous pass asked in one pipeline (``PostgresConnection/pipeline(_:)``) and the collectors
/// then read their replies from here: one round trip for the pass instead of one per statement.
/// A statement not fetched ahead (the first pass, a new collector, a server upgrade) goes to the
/// live session as before. A statement the pipeline refused is run once more live, and if that
/// works it is never pipelined again on this worker (the extended protocol takes one statement per
/// string, the simple one several). What the collectors ask is recorded for the next pass.
final class PipelinedSession: PostgresQuerying {
    typealias Reply = (reply: Result<PostgresRows, PostgresError>, seconds: Double)

    private let live: any PostgresQuerying
    /// Replies by statement, in the order the statements were sent (one statement may be asked twice).
    private var replies: [String: [Reply]] = [:]
    /// Every statement asked, in order: the next pass's pipeline.
    private(set) var asked: [String] = []
    /// Statements that failed in the pipeline and worked live.
    private(set) var refusedByPipeline: Set<String> = []
    /// Server time of the replies handed out so far, so collectors' durations still include it.
    private(set) var fetchedSeconds: Double = 0

    init(live: any PostgresQuerying, statements: [String] = [], replies fetched: [Reply] = []) {
        self.live = live
        for (statement, reply) in zip(statements, fetched) { replies[statement, default: []].append(reply) }
    }

    func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        asked.append(sql)
        guard var queue = replies[sql], !queue.isEmpty else { return try live.query(sql) }
        let fetched = queue.removeFirst()
        replies[sql] = queue
        fetchedSeconds += fetched.seconds
        switch fetched.reply {
        case .success(let rows):
            return rows
        case .failure:
            let rows = try live.query(sql)
            refusedByPipeline.insert(sql)
            return rows
        }
    }
}
