/// Whether the server is a replica and, on a replica, how far replay is behind.
public struct ReplicationCollector: PostgresCollector {
    public let name = PostgresCollectorName.replication
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.isReplica, Self.lag, Self.legacyLag, Self.lastReplay] }
    public init() {}

    static let isReplica = PostgresMetric.gauge("pg_replication_is_replica", "1 when the server is in recovery (a replica), 0 on a primary.")
    static let lag = PostgresMetric.gauge(
        "pg_replication_lag_seconds",
        "Replica: seconds since the last replayed transaction, 0 when everything received is replayed; always 0 on a primary.")
    /// The name postgres-mixin's alerts query (from the old queries.yaml), same value.
    static let legacyLag = PostgresMetric.gauge("pg_replication_lag", "Same as pg_replication_lag_seconds (the name postgres-mixin queries).")
    static let lastReplay = PostgresMetric.gauge(
        "pg_replication_last_replay_seconds", "Replica: seconds since the last replayed transaction, even when nothing is pending.")

    /// Lag is 0 when nothing is pending (received == replayed): an idle primary must not look like
    /// a growing lag (postgres_exporter #385); a replica that stops receiving shows it through
    /// pg_replication_last_replay_seconds and the primary's pg_stat_replication.
    static let sql = """
        SELECT pg_is_in_recovery() AS is_replica,
               CASE WHEN NOT pg_is_in_recovery() THEN 0
                    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                    ELSE greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())) END AS lag,
               CASE WHEN pg_is_in_recovery()
                    THEN greatest(0, extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())) END AS last_replay
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        for metric in [isReplica, lag, legacyLag, lastReplay] { sink.declare(metric) }
        guard let row = rows.first else { return }
        sink.add(isReplica, row.double("is_replica"))
        sink.add(lag, row.double("lag") ?? 0)
        sink.add(legacyLag, row.double("lag") ?? 0)
        sink.add(lastReplay, row.double("last_replay"))
    }
}
