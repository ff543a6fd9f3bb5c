/// On a primary: each standby's replay distance in bytes, from `pg_stat_replication`.
public struct StatReplicationCollector: PostgresCollector {
    public let name = PostgresCollectorName.statReplication
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.lsnDiff, Self.legacyLsnDiff, Self.currentLSN] }
    public init() {}

    static let labels = ["application_name", "client_addr", "state", "slot_name"]
    static let lsnDiff = PostgresMetric.gauge(
        "pg_stat_replication_pg_wal_lsn_diff", "Bytes of WAL the standby has not replayed yet.", labels: labels)
    /// The pre-PostgreSQL 10 name postgres-mixin's "replication stopped" alert still queries, same value.
    static let legacyLsnDiff = PostgresMetric.gauge(
        "pg_stat_replication_pg_xlog_location_diff", "Same as pg_stat_replication_pg_wal_lsn_diff (the name postgres-mixin queries).", labels: labels)
    static let currentLSN = PostgresMetric.gauge(
        "pg_stat_replication_pg_current_wal_lsn_bytes", "The primary's WAL write position when the standby was measured, in bytes.", labels: labels)
    /// Standbys are bounded by max_wal_senders; this cap only guards against a misconfiguration.
    static let maxStandbys = 100

    static let sql = """
        SELECT coalesce(r.application_name, '') AS application_name, coalesce(host(r.client_addr), 'local') AS client_addr,
               coalesce(r.state, '') AS state, coalesce(s.slot_name, '') AS slot_name,
               pg_wal_lsn_diff(pg_current_wal_lsn(), r.replay_lsn) AS lsn_diff,
               pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') AS current_lsn
        FROM pg_stat_replication r LEFT JOIN pg_replication_slots s ON s.active_pid = r.pid
        WHERE NOT pg_is_in_recovery()
        LIMIT 100
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        sink.declare(lsnDiff)
        sink.declare(legacyLsnDiff)
        sink.declare(currentLSN)
        for row in rows.rows.prefix(maxStandbys) {
            let labels = labels.map { row[$0] ?? "" }
            sink.add(lsnDiff, row.double("lsn_diff"), labels)
            sink.add(legacyLsnDiff, row.double("lsn_diff"), labels)
            sink.add(currentLSN, row.double("current_lsn"), labels)
        }
    }
}
