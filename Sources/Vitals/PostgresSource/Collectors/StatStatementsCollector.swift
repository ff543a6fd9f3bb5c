/// The top statements by total execution time from `pg_stat_statements`, as counters labelled by
/// `queryid`, `datname` and `user` only. The query text never becomes a label: it is served at
/// `GET /statements` (see ``PostgresStatementEntry``).
///
/// Needs the extension in the connected database (it sees every database's statements); without it
/// the collector fails with a code whose description is the command that enables it.
public struct StatStatementsCollector: PostgresCollector {
    public let name = PostgresCollectorName.statStatements
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.calls, Self.seconds, Self.rows, Self.blockRead, Self.blockWrite, Self.singleRowLookup] }
    public init() {}

    static let labels = ["queryid", "datname", "user"]
    static let calls = PostgresMetric.counter("pg_stat_statements_calls_total", "Times the statement was executed.", labels: labels)
    static let seconds = PostgresMetric.counter("pg_stat_statements_seconds_total", "Time spent executing the statement.", labels: labels)
    static let rows = PostgresMetric.counter("pg_stat_statements_rows_total", "Rows retrieved or affected by the statement.", labels: labels)
    static let blockRead = PostgresMetric.counter(
        "pg_stat_statements_block_read_seconds_total", "Time the statement spent reading blocks (track_io_timing).", labels: labels)
    static let blockWrite = PostgresMetric.counter(
        "pg_stat_statements_block_write_seconds_total", "Time the statement spent writing blocks (track_io_timing).", labels: labels)

    /// What the `calls_per_request` finding reads: which of the top statements are lookups by key.
    /// Told from the text, which never leaves the collector as a label; the series are the top
    /// statements' own, so the statements limit bounds them.
    static let singleRowLookup = PostgresMetric.gauge(
        "pg_stat_statements_single_row_lookup",
        "1 for a statement shaped as a lookup by key (SELECT … WHERE <key> = $1): run many times per request, it is an N+1.", labels: labels)

    static let presenceSQL = "SELECT count(*) AS installed FROM pg_extension WHERE extname = 'pg_stat_statements'"

    /// Column names by version: PostgreSQL 13 renamed `total_time` to `total_exec_time`, and 17
    /// split `blk_read_time` into `shared_blk_read_time` and `local_blk_read_time`.
    static func columns(majorVersion: Int) -> (totalTime: String, readTime: String, writeTime: String) {
        switch majorVersion {
        case ..<13: ("total_time", "blk_read_time", "blk_write_time")
        case 13..<17: ("total_exec_time", "blk_read_time", "blk_write_time")
        default: ("total_exec_time", "shared_blk_read_time + local_blk_read_time", "shared_blk_write_time + local_blk_write_time")
        }
    }

    /// Aggregates by (user, database, queryid) — PostgreSQL 14+ keeps top-level and nested
    /// executions apart — ranks on `pg_stat_statements(false)` (no text), and reads texts only
    /// for the top N, so the text file is loaded once and nothing large is sorted.
    static func sql(majorVersion: Int, limit: Int, queryLength: Int) -> String {
        let column = columns(majorVersion: majorVersion)
        return """
            WITH top AS (
                SELECT userid, dbid, queryid, sum(calls) AS calls, sum(\(column.totalTime)) AS total_ms, sum(rows) AS rows,
                       sum(\(column.readTime)) AS read_ms, sum(\(column.writeTime)) AS write_ms
                FROM pg_stat_statements(false) WHERE queryid IS NOT NULL
                GROUP BY userid, dbid, queryid ORDER BY total_ms DESC LIMIT \(limit)
            ), texts AS (
                SELECT DISTINCT ON (s.userid, s.dbid, s.queryid) s.userid, s.dbid, s.queryid, left(s.query, \(queryLength)) AS query
                FROM pg_stat_statements(true) s JOIN top USING (userid, dbid, queryid)
            )
            SELECT t.queryid::text AS queryid, coalesce(d.datname, t.dbid::text) AS datname, coalesce(r.rolname, t.userid::text) AS "user",
                   t.calls, t.total_ms / 1000 AS seconds, t.rows, t.read_ms / 1000 AS block_read_seconds,
                   t.write_ms / 1000 AS block_write_seconds, x.query
            FROM top t LEFT JOIN texts x USING (userid, dbid, queryid)
            LEFT JOIN pg_database d ON d.oid = t.dbid LEFT JOIN pg_roles r ON r.oid = t.userid
            ORDER BY t.total_ms DESC
            """
    }

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        guard try session.query(Self.presenceSQL).first?.double("installed") ?? 0 > 0 else {
            // A failure, not an empty list: silence here read as "no statements", and /ready, the
            // log and /statements must say how to enable it.
            throw PostgresError(.statementsNotInstalled)
        }
        let sql = Self.sql(majorVersion: context.majorVersion, limit: context.statementsLimit, queryLength: context.queryLength)
        let rows: PostgresRows
        do {
            rows = try session.query(sql)
        } catch where error.sqlState == "55000" {
            // object_not_in_prerequisite_state: "must be loaded via shared_preload_libraries".
            throw PostgresError(.statementsNotPreloaded, detail: error.detail)
        }
        output.statements = Self.map(rows, context: context, into: &output.metrics)
    }

    /// - Returns: the statements with their texts, for `/statements`.
    @discardableResult
    public static func map(_ result: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) -> [PostgresStatementEntry] {
        for metric in [calls, seconds, rows, blockRead, blockWrite, singleRowLookup] { sink.declare(metric) }
        var entries: [PostgresStatementEntry] = []
        var labelled: [(labels: [String], row: PostgresRow, entry: Int)] = []
        for row in result.rows.prefix(context.statementsLimit) {
            guard let queryid = row["queryid"], let datname = row["datname"], let user = row["user"] else { continue }
            guard context.databases.allows(datname) else { continue }
            labelled.append((labels: [queryid, datname, user], row: row, entry: entries.count))
            let text = row["query"] ?? ""
            entries.append(
                PostgresStatementEntry(
                    queryid: queryid, datname: datname, user: user, calls: row.double("calls") ?? 0, totalSeconds: row.double("seconds") ?? 0,
                    rows: row.double("rows") ?? 0,
                    // Redacted where it leaves the source, in PostgresPasses.collect.
                    // The server cut it already (`left`); counting characters walks every one,
                    // and a text no longer in bytes than the limit cannot be longer in characters.
                    query: text.utf8.count <= context.queryLength ? text : String(text.prefix(context.queryLength))))
        }
        // The rows come by total time (the entries keep that order); the samples go in label
        // order, sorted once here, so that the build finds six families in order and sorts none.
        labelled.sort { $0.labels.lexicographicallyPrecedes($1.labels) }
        for (labels, row, index) in labelled {
            let entry = entries[index]
            sink.add(calls, entry.calls, labels)
            sink.add(seconds, entry.totalSeconds, labels)
            sink.add(rows, row.double("rows"), labels)
            sink.add(blockRead, row.double("block_read_seconds") ?? 0, labels)
            sink.add(blockWrite, row.double("block_write_seconds") ?? 0, labels)
            if SingleRowLookup.matches(row["query"] ?? "") { sink.add(singleRowLookup, 1, labels) }
        }
        return entries
    }
}

/// One statement as `GET /statements` serves it.
public struct PostgresStatementEntry: Sendable, Equatable {
    public var target: String?
    public var queryid: String
    public var datname: String
    public var user: String
    public var calls: Double
    public var totalSeconds: Double
    public var rows: Double
    public var query: String

    public init(target: String? = nil, queryid: String, datname: String, user: String, calls: Double, totalSeconds: Double, rows: Double, query: String) {
        self.target = target
        self.queryid = queryid
        self.datname = datname
        self.user = user
        self.calls = calls
        self.totalSeconds = totalSeconds
        self.rows = rows
        self.query = query
    }

    public var meanSeconds: Double { calls > 0 ? totalSeconds / calls : 0 }
}

