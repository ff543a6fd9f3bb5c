/// `pg_locks_count{datname,mode}`: locks held or awaited, per database and the nine table-level
/// lock modes, zeros included, as postgres_exporter publishes them.
public struct LocksCollector: PostgresCollector {
    public let name = PostgresCollectorName.locks
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.count, Self.waiting] }
    public init() {}

    static let modes = [
        "accesssharelock", "rowsharelock", "rowexclusivelock", "shareupdateexclusivelock", "sharelock", "sharerowexclusivelock",
        "exclusivelock", "accessexclusivelock", "sireadlock",
    ]
    static let count = PostgresMetric.gauge("pg_locks_count", "Locks held or awaited, by database and lock mode.", labels: ["datname", "mode"])
    static let waiting = PostgresMetric.gauge("pg_locks_waiting", "Lock requests not granted yet, by database.", labels: ["datname"])

    static let sql = """
        SELECT d.datname, lower(l.mode) AS mode, count(*) AS count, count(*) FILTER (WHERE NOT l.granted) AS waiting
        FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        GROUP BY d.datname, lower(l.mode)
        UNION ALL
        SELECT datname, NULL, 0, 0 FROM pg_database WHERE datallowconn
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        Self.map(try session.query(Self.sql), context: context, into: &output.metrics)
    }

    public static func map(_ rows: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) {
        sink.declare(count)
        sink.declare(waiting)
        let databases = context.databases.select(rows.rows.compactMap { $0["datname"] })
        var counts: [String: [String: Double]] = [:]
        var waits: [String: Double] = [:]
        for row in rows.rows {
            guard let datname = row["datname"] else { continue }
            if let mode = row["mode"], modes.contains(mode) {
                counts[datname, default: [:]][mode, default: 0] += row.double("count") ?? 0
            }
            waits[datname, default: 0] += row.double("waiting") ?? 0
        }
        for datname in databases {
            for mode in modes { sink.add(count, counts[datname]?[mode] ?? 0, [datname, mode]) }
            sink.add(waiting, waits[datname] ?? 0, [datname])
        }
    }
}
