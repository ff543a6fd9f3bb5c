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
    /// executions apart — and ranks on `pg_stat_statements(false)`: no text, so the server does not
    /// load its query-text file, and nothing large is sorted or sent. The texts are asked apart, for
    /// statements not seen before (``textsSQL(_:queryLength:)``).
    static func sql(majorVersion: Int, limit: Int) -> String {
        let column = columns(majorVersion: majorVersion)
        return """
            WITH top AS (
                SELECT userid, dbid, queryid, sum(calls) AS calls, sum(\(column.totalTime)) AS total_ms, sum(rows) AS rows,
                       sum(\(column.readTime)) AS read_ms, sum(\(column.writeTime)) AS write_ms
                FROM pg_stat_statements(false) WHERE queryid IS NOT NULL
                GROUP BY userid, dbid, queryid ORDER BY total_ms DESC LIMIT \(limit)
            )
            SELECT t.queryid::text AS queryid, t.userid::text AS userid, t.dbid::text AS dbid,
                   coalesce(d.datname, t.dbid::text) AS datname, coalesce(r.rolname, t.userid::text) AS "user",
                   t.calls, t.total_ms / 1000 AS seconds, t.rows, t.read_ms / 1000 AS block_read_seconds,
                   t.write_ms / 1000 AS block_write_seconds
            FROM top t LEFT JOIN pg_database d ON d.oid = t.dbid LEFT JOIN pg_roles r ON r.oid = t.userid
            ORDER BY t.total_ms DESC
            """
    }

    /// The texts of `keys`, cut to `queryLength` by the server. The keys are numbers the server
    /// sent (``PostgresStatementTexts/Key``), written into the statement as three array literals:
    /// pg_stat_statements counts every such statement as one, however many keys it names, where
    /// a list of tuples would add an entry per length.
    static func textsSQL(_ keys: [PostgresStatementTexts.Key], queryLength: Int) -> String {
        func array(_ values: [String]) -> String { "'{\(values.joined(separator: ","))}'" }
        let userids = array(keys.map { String($0.userid) }), dbids = array(keys.map { String($0.dbid) })
        let queryids = array(keys.map { String($0.queryid) })
        return """
            SELECT DISTINCT ON (userid, dbid, queryid) userid::text AS userid, dbid::text AS dbid, queryid::text AS queryid,
                   left(s.query, \(queryLength)) AS query
            FROM pg_stat_statements(true) s
            JOIN unnest(\(userids)::oid[], \(dbids)::oid[], \(queryids)::bigint[]) AS wanted (userid, dbid, queryid) USING (userid, dbid, queryid)
            """
    }

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        guard try session.query(Self.presenceSQL).first?.double("installed") ?? 0 > 0 else {
            // A failure, not an empty list: silence here read as "no statements", and /ready, the
            // log and /statements must say how to enable it.
            throw PostgresError(.statementsNotInstalled)
        }
        let rows: PostgresRows
        do {
            rows = try session.query(Self.sql(majorVersion: context.majorVersion, limit: context.statementsLimit))
        } catch where error.sqlState == "55000" {
            // object_not_in_prerequisite_state: "must be loaded via shared_preload_libraries".
            throw PostgresError(.statementsNotPreloaded, detail: error.detail)
        }
        let keys = PostgresStatementTexts.Key.keys(of: rows, limit: context.statementsLimit)
        let top = keys.compactMap { $0 }
        var texts = context.statementTexts
        let missing = top.filter { texts[$0] == nil }
        if !missing.isEmpty {
            // Its text names what it asks for, so it is asked now and never replayed.
            texts.learn(try session.queryOnce(Self.textsSQL(missing, queryLength: context.queryLength)), queryLength: context.queryLength)
        }
        texts = texts.keeping(top)
        output.statements = Self.map(rows, keys: keys, texts: texts, context: context, into: &output.metrics)
        output.statementTexts = texts
    }

    /// - Parameter keys: ``PostgresStatementTexts/Key/keys(of:limit:)`` of `result`.
    /// - Returns: the statements with their texts, for `/statements`.
    @discardableResult
    static func map(
        _ result: PostgresRows, keys: [PostgresStatementTexts.Key?], texts: PostgresStatementTexts, context: PostgresCollectionContext,
        into sink: inout PostgresMetricSink
    ) -> [PostgresStatementEntry] {
        for metric in [calls, seconds, rows, blockRead, blockWrite, singleRowLookup] { sink.declare(metric) }
        // Found once: a pass reads up to `statementsLimit` rows of them.
        let column = (
            queryid: result.position(of: "queryid"), datname: result.position(of: "datname"), user: result.position(of: "user"),
            calls: result.position(of: "calls"), seconds: result.position(of: "seconds"), rows: result.position(of: "rows"),
            blockRead: result.position(of: "block_read_seconds"), blockWrite: result.position(of: "block_write_seconds"))
        var entries: [PostgresStatementEntry] = []
        var labelled: [(labels: [String], row: PostgresRow, entry: Int, isSingleRowLookup: Bool)] = []
        for (row, key) in zip(result.rows.prefix(context.statementsLimit), keys) {
            guard let queryid = row[at: column.queryid], let datname = row[at: column.datname], let user = row[at: column.user] else { continue }
            guard context.databases.allows(datname) else { continue }
            // Redacted where it leaves the source, in PostgresPasses.collect.
            let text = key.flatMap { texts[$0] }
            labelled.append((labels: [queryid, datname, user], row: row, entry: entries.count, isSingleRowLookup: text?.isSingleRowLookup ?? false))
            entries.append(
                PostgresStatementEntry(
                    queryid: queryid, datname: datname, user: user, calls: row.double(at: column.calls) ?? 0,
                    totalSeconds: row.double(at: column.seconds) ?? 0, rows: row.double(at: column.rows) ?? 0, query: text?.query ?? ""))
        }
        // The rows come by total time (the entries keep that order); the samples go in label
        // order, sorted once here, so that the build finds six families in order and sorts none.
        labelled.sort { $0.labels.lexicographicallyPrecedes($1.labels) }
        for (labels, row, index, isSingleRowLookup) in labelled {
            let entry = entries[index]
            sink.add(calls, entry.calls, labels)
            sink.add(seconds, entry.totalSeconds, labels)
            sink.add(rows, row.double(at: column.rows), labels)
            sink.add(blockRead, row.double(at: column.blockRead) ?? 0, labels)
            sink.add(blockWrite, row.double(at: column.blockWrite) ?? 0, labels)
            if isSingleRowLookup { sink.add(singleRowLookup, 1, labels) }
        }
        return entries
    }
}

/// The texts of the top statements, kept by a target's worker from one pass to the next, so that
/// a text is asked, sent and lexed once while its statement stays in the top list, not every pass.
///
/// A pure value. Bounded: ``keeping(_:)`` leaves the texts of one pass's top statements only
/// (`--postgres.statements-limit`).
public struct PostgresStatementTexts: Sendable, Equatable {
    /// A statement as pg_stat_statements tells them apart (the collector sums top-level and nested
    /// executions under it). Numbers, as the server sent them: a texts statement can only carry numbers.
    public struct Key: Hashable, Sendable {
        let userid: UInt32
        let dbid: UInt32
        let queryid: Int64

        init(userid: UInt32, dbid: UInt32, queryid: Int64) {
            self.userid = userid
            self.dbid = dbid
            self.queryid = queryid
        }

        /// The key of each of the first `limit` rows, nil where one of the three is not an integer
        /// (two oids and a bigint). The columns are found once, not by name in every row.
        static func keys(of rows: PostgresRows, limit: Int) -> [Key?] {
            guard let userid = rows.columns.firstIndex(of: "userid"), let dbid = rows.columns.firstIndex(of: "dbid"),
                let queryid = rows.columns.firstIndex(of: "queryid")
            else { return Array(repeating: nil, count: min(limit, rows.count)) }
            return rows.values.prefix(limit).map { values in
                guard let user = values[userid].flatMap({ UInt32($0) }), let database = values[dbid].flatMap({ UInt32($0) }),
                    let statement = values[queryid].flatMap({ Int64($0) })
                else { return nil }
                return Key(userid: user, dbid: database, queryid: statement)
            }
        }
    }

    public struct Text: Sendable, Equatable {
        /// Cut to the query length, as the server sent it (not yet redacted).
        let query: String
        /// A lookup by key (``SingleRowLookup``): what the `calls_per_request` finding reads.
        let isSingleRowLookup: Bool
    }

    private var texts: [Key: Text] = [:]

    public init() {}

    subscript(key: Key) -> Text? { texts[key] }

    var count: Int { texts.count }
    var keys: Dictionary<Key, Text>.Keys { texts.keys }

    /// Takes the texts of a ``StatStatementsCollector/textsSQL(_:queryLength:)`` answer. A statement
    /// gone from the server meanwhile has no row, and is asked again if it is still on top next pass.
    mutating func learn(_ answer: PostgresRows, queryLength: Int) {
        for (row, key) in zip(answer.rows, Key.keys(of: answer, limit: answer.count)) {
            guard let key else { continue }
            let query = row["query"] ?? ""
            // The server cut it already (`left`); counting characters walks every one, and a text
            // no longer in bytes than the limit cannot be longer in characters.
            let cut = query.utf8.count <= queryLength ? query : String(query.prefix(queryLength))
            texts[key] = Text(query: cut, isSingleRowLookup: SingleRowLookup.matches(cut))
        }
    }

    /// The texts of `keys` only.
    func keeping(_ keys: [Key]) -> PostgresStatementTexts {
        // At rest: the same statements as the pass before, all known.
        if texts.count == keys.count, keys.allSatisfy({ texts[$0] != nil }) { return self }
        var kept = PostgresStatementTexts()
        kept.texts.reserveCapacity(keys.count)
        for key in keys {
            if let text = texts[key] { kept.texts[key] = text }
        }
        return kept
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

