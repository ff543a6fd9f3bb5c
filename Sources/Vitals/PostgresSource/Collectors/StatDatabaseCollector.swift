/// `pg_stat_database` and `pg_stat_database_conflicts`, per database, under postgres_exporter's
/// names (counters keep the exporter's names without `_total`, so dashboards 9628 and the
/// postgres-mixin work unchanged).
public struct StatDatabaseCollector: PostgresCollector {
    public let name = PostgresCollectorName.statDatabase
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] {
        [Self.numbackends, Self.statsReset, Self.activeTime] + Self.counters.map(\.metric) + Self.conflictCounters.map(\.metric)
            + Self.sessionCounters.map(\.metric) + Self.sessionTimes.map(\.metric)
    }
    public init() {}

    static let labels = ["datid", "datname"]

    /// Cumulative columns mirrored as counters, by column name.
    static let counters: [(column: String, metric: PostgresMetric)] = [
        ("xact_commit", "Transactions committed."),
        ("xact_rollback", "Transactions rolled back."),
        ("blks_read", "Disk blocks read."),
        ("blks_hit", "Disk blocks found in the buffer cache."),
        ("tup_returned", "Rows returned by queries (sequential scans count every row read)."),
        ("tup_fetched", "Rows fetched by queries."),
        ("tup_inserted", "Rows inserted."),
        ("tup_updated", "Rows updated."),
        ("tup_deleted", "Rows deleted."),
        ("conflicts", "Queries cancelled by recovery conflicts (standbys only)."),
        ("temp_files", "Temporary files created."),
        ("temp_bytes", "Bytes written to temporary files."),
        ("deadlocks", "Deadlocks detected."),
        ("blk_read_time", "Time spent reading blocks, in milliseconds (track_io_timing)."),
        ("blk_write_time", "Time spent writing blocks, in milliseconds (track_io_timing)."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_database_\($0.0)", $0.1, labels: labels)) }

    static let numbackends = PostgresMetric.gauge("pg_stat_database_numbackends", "Backends currently connected to the database.", labels: labels)
    static let statsReset = PostgresMetric.gauge(
        "pg_stat_database_stats_reset", "When the database's statistics were last reset, as a Unix timestamp (0 = never).", labels: labels)
    static let activeTime = PostgresMetric.counter(
        "pg_stat_database_active_time_seconds_total", "Time backends spent executing statements (PostgreSQL 14+).", labels: labels)

    /// PostgreSQL 14's session columns. postgres_exporter has only `active_time` among them; these
    /// follow its `active_time_seconds_total` pattern (typed, suffixed) rather than 0.11's untyped names.
    static let sessionCounters: [(column: String, metric: PostgresMetric)] = [
        ("sessions", "Sessions established (PostgreSQL 14+)."),
        ("sessions_abandoned", "Sessions ended because the client disconnected without saying so (PostgreSQL 14+)."),
        ("sessions_fatal", "Sessions ended by a fatal error (PostgreSQL 14+)."),
        ("sessions_killed", "Sessions ended by operator intervention (PostgreSQL 14+)."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_database_\($0.0)_total", $0.1, labels: labels)) }
    /// Milliseconds in the view, seconds here.
    static let sessionTimes: [(column: String, metric: PostgresMetric)] = [
        ("session_time", "Time sessions spent connected (PostgreSQL 14+)."),
        ("idle_in_transaction_time", "Time sessions spent idle in a transaction (PostgreSQL 14+)."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_database_\($0.0)_seconds_total", $0.1, labels: labels)) }

    static let conflictCounters: [(column: String, metric: PostgresMetric)] = [
        ("confl_tablespace", "Queries cancelled because of dropped tablespaces."),
        ("confl_lock", "Queries cancelled because of lock timeouts."),
        ("confl_snapshot", "Queries cancelled because of old snapshots."),
        ("confl_bufferpin", "Queries cancelled because of pinned buffers."),
        ("confl_deadlock", "Queries cancelled because of deadlocks."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_database_conflicts_\($0.0)", $0.1, labels: labels)) }

    static let sql = """
        SELECT d.*, extract(epoch FROM d.stats_reset) AS stats_reset_epoch,
               c.confl_tablespace, c.confl_lock, c.confl_snapshot, c.confl_bufferpin, c.confl_deadlock
        FROM pg_stat_database d LEFT JOIN pg_stat_database_conflicts c ON c.datid = d.datid
        WHERE d.datname IS NOT NULL
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], context: context, into: &$1) }
    }

    /// The row shape is `SELECT *` of the server's version: PostgreSQL 14 added `active_time` and
    /// the session columns; absent columns simply produce no series.
    public static func map(_ rows: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) {
        for metric in counters.map(\.metric) + conflictCounters.map(\.metric) + [numbackends, statsReset] { sink.declare(metric) }
        if context.majorVersion >= 14 {
            sink.declare(activeTime)
            for (_, metric) in sessionCounters + sessionTimes { sink.declare(metric) }
        }
        let allowed = Set(context.databases.select(rows.rows.compactMap { $0["datname"] }))
        for row in rows.rows {
            guard let datname = row["datname"], allowed.contains(datname), let datid = row["datid"] else { continue }
            let labels = [datid, datname]
            sink.add(numbackends, row.double("numbackends"), labels)
            for (column, metric) in counters { sink.add(metric, row.double(column), labels) }
            for (column, metric) in conflictCounters { sink.add(metric, row.double(column) ?? 0, labels) }
            sink.add(statsReset, row.double("stats_reset_epoch") ?? 0, labels)
            if let active = row.double("active_time") { sink.add(activeTime, active / 1000, labels) }
            for (column, metric) in sessionCounters { sink.add(metric, row.double(column), labels) }
            for (column, metric) in sessionTimes { sink.add(metric, row.double(column).map { $0 / 1000 }, labels) }
        }
    }
}
