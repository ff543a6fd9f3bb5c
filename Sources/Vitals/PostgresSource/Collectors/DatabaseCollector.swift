/// Database sizes and connection limits, from `pg_database`.
public struct DatabaseCollector: PostgresCollector {
    public let name = PostgresCollectorName.database
    public let cadence = PostgresCadence.slow
    public var metrics: [PostgresMetric] { [Self.size, Self.connectionLimit] }
    public init() {}

    static let size = PostgresMetric.gauge("pg_database_size_bytes", "Disk space used by the database.", labels: ["datname"])
    static let connectionLimit = PostgresMetric.gauge(
        "pg_database_connection_limit", "Connection limit of the database (-1 = no limit).", labels: ["datname"])

    /// `pg_database_size` fails for a database the role may not connect to: those are skipped
    /// rather than failing the collector (pg_monitor includes pg_read_all_stats, which may).
    static let sql = """
        SELECT datname, datconnlimit,
               CASE WHEN has_database_privilege(oid, 'CONNECT') OR pg_has_role('pg_read_all_stats', 'MEMBER')
                    THEN pg_database_size(oid) END AS size
        FROM pg_database WHERE datallowconn
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], context: context, into: &$1) }
    }

    public static func map(_ rows: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) {
        sink.declare(size)
        sink.declare(connectionLimit)
        let allowed = Set(context.databases.select(rows.rows.compactMap { $0["datname"] }))
        for row in rows.rows {
            guard let datname = row["datname"], allowed.contains(datname) else { continue }
            sink.add(size, row.double("size"), [datname])
            sink.add(connectionLimit, row.double("datconnlimit"), [datname])
        }
    }
}
