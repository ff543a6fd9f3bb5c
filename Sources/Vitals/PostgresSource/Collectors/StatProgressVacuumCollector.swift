/// Running vacuums from `pg_stat_progress_vacuum`, under postgres_exporter's names: one series set
/// per vacuum, labelled by database and table. Vacuums run at most `autovacuum_max_workers` plus
/// the manual ones, and the query keeps 20, so the labels stay bounded.
public struct StatProgressVacuumCollector: PostgresCollector {
    public let name = PostgresCollectorName.statProgressVacuum
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.phase] + Self.gauges.map(\.metric) }
    public init() {}

    static let labels = ["datname", "relname"]
    static let limit = 20

    /// The view's phases, in the server's order: every vacuum has one series per phase, 1 for the current one.
    static let phases = [
        "initializing", "scanning heap", "vacuuming indexes", "vacuuming heap", "cleaning up indexes", "truncating heap",
        "performing final cleanup",
    ]
    static let phase = PostgresMetric.gauge(
        "pg_stat_progress_vacuum_phase", "1 for the vacuum's current phase, 0 for the others.", labels: labels + ["phase"])

    static let gauges: [(column: String, metric: PostgresMetric)] = [
        ("heap_blks_total", PostgresMetric.gauge("pg_stat_progress_vacuum_heap_blks", "Heap blocks of the table being vacuumed.", labels: labels)),
        ("heap_blks_scanned", PostgresMetric.gauge("pg_stat_progress_vacuum_heap_blks_scanned", "Heap blocks scanned so far.", labels: labels)),
        ("heap_blks_vacuumed", PostgresMetric.gauge("pg_stat_progress_vacuum_heap_blks_vacuumed", "Heap blocks vacuumed so far.", labels: labels)),
        ("index_vacuum_count", PostgresMetric.gauge("pg_stat_progress_vacuum_index_vacuums", "Index vacuum cycles completed.", labels: labels)),
        ("max_dead_tuples", PostgresMetric.gauge(
            "pg_stat_progress_vacuum_max_dead_tuples",
            "Dead tuples that fit before an index vacuum cycle (PostgreSQL 17+: bytes of dead-item storage).", labels: labels)),
        ("num_dead_tuples", PostgresMetric.gauge(
            "pg_stat_progress_vacuum_num_dead_tuples", "Dead tuples collected since the last index vacuum cycle.", labels: labels)),
    ]

    /// PostgreSQL 17 renamed the dead-tuple columns (and measures the first in bytes); the
    /// exporter keeps one name for both, and so does this. A table of another database cannot be
    /// named from this connection (pg_class is per database): its OID stands in, as in the exporter.
    static func sql(majorVersion: Int) -> String {
        let (maxDead, numDead) = majorVersion >= 17 ? ("max_dead_tuple_bytes", "num_dead_item_ids") : ("max_dead_tuples", "num_dead_tuples")
        return """
            SELECT datname, CASE WHEN datname = current_database() THEN relid::regclass::text ELSE relid::text END AS relname,
                   phase, heap_blks_total, heap_blks_scanned, heap_blks_vacuumed, index_vacuum_count,
                   \(maxDead) AS max_dead_tuples, \(numDead) AS num_dead_tuples
            FROM pg_stat_progress_vacuum WHERE datname IS NOT NULL
            ORDER BY pid LIMIT \(limit)
            """
    }

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        let rows = try session.query(Self.sql(majorVersion: context.majorVersion))
        output.map([rows], of: name, context: context) { Self.map($0[0], context: context, into: &$1) }
    }

    public static func map(_ rows: PostgresRows, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) {
        sink.declare(phase)
        for (_, metric) in gauges { sink.declare(metric) }
        var seen = Set<[String]>()
        for row in rows.rows.prefix(limit) {
            guard let datname = row["datname"], context.databases.allows(datname), let relname = row["relname"] else { continue }
            let labels = [datname, relname]
            // Two vacuums of one table cannot run at once, but a duplicate series would fail the scrape.
            guard seen.insert(labels).inserted else { continue }
            let current = row["phase"]
            for name in phases { sink.add(phase, name == current ? 1 : 0, labels + [name]) }
            for (column, metric) in gauges { sink.add(metric, row.double(column), labels) }
        }
    }
}
