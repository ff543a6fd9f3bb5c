/// Buffer-cache hits and disk reads per table and per index (`pg_statio_user_tables`,
/// `pg_statio_user_indexes`), under postgres_exporter's names: its table counters have no
/// `_total`, its index counters do.
///
/// The views are per database, like `pg_stat_user_tables`, so their columns ride on the
/// per-table visit of ``StatUserTablesCollector`` (same rows, same cap, same connection): a
/// separate visit would double the per-database connections of every slow pass.
public enum StatioUserTablesCollector {
    static let tableCounters: [(column: String, metric: PostgresMetric)] = [
        ("heap_blks_read", "heap_blocks_read", "Disk blocks read from the table."),
        ("heap_blks_hit", "heap_blocks_hit", "Buffer hits in the table."),
        ("idx_blks_read", "idx_blocks_read", "Disk blocks read from all the table's indexes."),
        ("idx_blks_hit", "idx_blocks_hit", "Buffer hits in all the table's indexes."),
        ("toast_blks_read", "toast_blocks_read", "Disk blocks read from the table's TOAST table."),
        ("toast_blks_hit", "toast_blocks_hit", "Buffer hits in the table's TOAST table."),
        ("tidx_blks_read", "tidx_blocks_read", "Disk blocks read from the table's TOAST index."),
        ("tidx_blks_hit", "tidx_blocks_hit", "Buffer hits in the table's TOAST index."),
    ].map { ($0.0, PostgresMetric.counter("pg_statio_user_tables_\($0.1)", $0.2, labels: StatUserTablesCollector.tableLabels)) }

    static let indexCounters: [(column: String, metric: PostgresMetric)] = [
        ("io_idx_blks_read", "idx_blks_read_total", "Disk blocks read from the index."),
        ("io_idx_blks_hit", "idx_blks_hit_total", "Buffer hits in the index."),
    ].map { ($0.0, PostgresMetric.counter("pg_statio_user_indexes_\($0.1)", $0.2, labels: StatUserTablesCollector.indexLabels)) }

    static var metrics: [PostgresMetric] { tableCounters.map(\.metric) + indexCounters.map(\.metric) }

    /// Columns the tables query adds (the view's names), and the indexes query (prefixed, since
    /// `pg_stat_user_indexes` has columns of the same names).
    static let tableColumns = tableCounters.map { "io.\($0.column)" }.joined(separator: ", ")
    static let indexColumns = "io.idx_blks_read AS io_idx_blks_read, io.idx_blks_hit AS io_idx_blks_hit"

    static func declare(into sink: inout PostgresMetricSink) {
        for metric in metrics { sink.declare(metric) }
    }

    /// A NULL (a table without TOAST) gives no series.
    static func addTable(_ row: PostgresRow, labels: [String], into sink: inout PostgresMetricSink) {
        for (column, metric) in tableCounters { sink.add(metric, row.double(column), labels) }
    }

    static func addIndex(_ row: PostgresRow, labels: [String], into sink: inout PostgresMetricSink) {
        for (column, metric) in indexCounters { sink.add(metric, row.double(column), labels) }
    }
}
