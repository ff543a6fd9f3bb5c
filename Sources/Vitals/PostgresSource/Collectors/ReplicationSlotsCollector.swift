/// Replication slots: whether each is in use and how much WAL it holds back.
public struct ReplicationSlotsCollector: PostgresCollector {
    public let name = PostgresCollectorName.replicationSlots
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.active, Self.walDiff, Self.xminAge] }
    public init() {}

    static let labels = ["slot_name", "database"]
    static let active = PostgresMetric.gauge("pg_replication_slots_active", "1 when a consumer is attached to the slot.", labels: labels)
    static let walDiff = PostgresMetric.gauge(
        "pg_replication_slots_pg_wal_lsn_diff", "Bytes of WAL the slot retains (current position minus its restart position).", labels: labels)
    static let xminAge = PostgresMetric.gauge(
        "pg_replication_slots_xmin_age", "Age in transactions of the oldest transaction the slot keeps from vacuum.", labels: labels)
    /// Slots are bounded by max_replication_slots; the cap only guards against a misconfiguration.
    static let maxSlots = 100

    static let sql = """
        SELECT slot_name, coalesce(database, '') AS database, active, age(xmin) AS xmin_age,
               CASE WHEN pg_is_in_recovery() THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), restart_lsn)
                    ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) END AS wal_diff
        FROM pg_replication_slots ORDER BY slot_name LIMIT 100
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        sink.declare(active)
        sink.declare(walDiff)
        sink.declare(xminAge)
        for row in rows.rows.prefix(maxSlots) {
            guard let slot = row["slot_name"] else { continue }
            let labels = [slot, row["database"] ?? ""]
            sink.add(active, row.double("active"), labels)
            sink.add(walDiff, row.double("wal_diff"), labels)
            sink.add(xminAge, row.double("xmin_age"), labels)
        }
    }
}
