/// Transaction-ID wraparound per database: postgres_exporter's `database_wraparound` names (the
/// values are ages in transactions, despite the exporter's `_seconds`), and how far each database
/// is towards the anti-wraparound autovacuum that `autovacuum_freeze_max_age` forces.
public struct DatabaseWraparoundCollector: PostgresCollector {
    public let name = PostgresCollectorName.databaseWraparound
    public let cadence = PostgresCadence.slow
    public var metrics: [PostgresMetric] { [Self.frozenXIDAge, Self.minMXIDAge, Self.freezeMaxAgeRatio] }
    public init() {}

    static let labels = ["datname"]
    static let frozenXIDAge = PostgresMetric.gauge(
        "pg_database_wraparound_age_datfrozenxid_seconds", "age(datfrozenxid): transactions since the database was last frozen.",
        labels: labels)
    static let minMXIDAge = PostgresMetric.gauge(
        "pg_database_wraparound_age_datminmxid_seconds", "mxid_age(datminmxid): multixacts since the database was last frozen.",
        labels: labels)
    static let freezeMaxAgeRatio = PostgresMetric.gauge(
        "pg_database_wraparound_freeze_max_age_ratio",
        "age(datfrozenxid) / autovacuum_freeze_max_age: at 1 an anti-wraparound autovacuum is forced; far above, writes are at risk.",
        labels: labels)

    static let sql = """
        SELECT datname, age(datfrozenxid)::float8 AS xid_age, mxid_age(datminmxid)::float8 AS mxid_age,
               age(datfrozenxid)::float8 / current_setting('autovacuum_freeze_max_age')::float8 AS freeze_ratio
        FROM pg_database WHERE datallowconn
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], context: context, into: &$1) }
    }

    public static func map(_ rows: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) {
        for metric in [frozenXIDAge, minMXIDAge, freezeMaxAgeRatio] { sink.declare(metric) }
        let allowed = Set(context.databases.select(rows.rows.compactMap { $0["datname"] }))
        for row in rows.rows {
            guard let datname = row["datname"], allowed.contains(datname) else { continue }
            sink.add(frozenXIDAge, row.double("xid_age"), [datname])
            sink.add(minMXIDAge, row.double("mxid_age"), [datname])
            sink.add(freezeMaxAgeRatio, row.double("freeze_ratio"), [datname])
        }
    }
}
