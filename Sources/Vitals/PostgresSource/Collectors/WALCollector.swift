/// The WAL position in bytes: written WAL on a primary, replayed WAL on a replica. Its rate is
/// the WAL generation rate. `pg_ls_waldir()` (segment counts) is deliberately not used: it needs
/// an extra grant beyond pg_monitor (postgres_exporter #1100).
public struct WALCollector: PostgresCollector {
    public let name = PostgresCollectorName.wal
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.position, Self.legacyPosition] }
    public init() {}

    static let position = PostgresMetric.gauge(
        "pg_wal_lsn_bytes", "Current WAL position in bytes: the write position on a primary, the replay position on a replica.")
    /// The name postgres-mixin's WAL alerts query (from the old queries.yaml), same value.
    static let legacyPosition = PostgresMetric.gauge("pg_xlog_position_bytes", "Same as pg_wal_lsn_bytes (the name postgres-mixin queries).")

    static let sql = """
        SELECT CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END AS lsn
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        sink.declare(position)
        sink.declare(legacyPosition)
        sink.add(position, rows.first?.double("lsn"))
        sink.add(legacyPosition, rows.first?.double("lsn"))
    }
}
