/// WAL archiving from `pg_stat_archiver`, under postgres_exporter's names (its `_count` counters
/// keep the exporter's spelling, so its dashboards' archiving panels work).
public struct StatArchiverCollector: PostgresCollector {
    public let name = PostgresCollectorName.statArchiver
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.archived, Self.failed, Self.lastArchiveAge] }
    public init() {}

    static let archived = PostgresMetric.counter("pg_stat_archiver_archived_count", "WAL files archived successfully.")
    static let failed = PostgresMetric.counter("pg_stat_archiver_failed_count", "Failed attempts to archive a WAL file.")
    static let lastArchiveAge = PostgresMetric.gauge(
        "pg_stat_archiver_last_archive_age", "Seconds since the last WAL file was archived (no series when none ever was).")

    static let sql = """
        SELECT archived_count, failed_count, extract(epoch FROM now() - last_archived_time) AS last_archive_age
        FROM pg_stat_archiver
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        for metric in [archived, failed, lastArchiveAge] { sink.declare(metric) }
        guard let row = rows.first else { return }
        sink.add(archived, row.double("archived_count"))
        sink.add(failed, row.double("failed_count"))
        // A server that never archived (archive_mode off) has no age: 0 would read as "just archived".
        sink.add(lastArchiveAge, row.double("last_archive_age"))
    }
}
