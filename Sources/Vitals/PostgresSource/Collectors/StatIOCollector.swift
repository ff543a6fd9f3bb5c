/// `pg_stat_io` (PostgreSQL 16+), which postgres_exporter lacks (its #1078): I/O operations by
/// backend type, object and context. The three labels take values from fixed server enumerations
/// (about 30 combinations), so the series are bounded without a cap.
public struct StatIOCollector: PostgresCollector {
    public let name = PostgresCollectorName.statIO
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { Self.operations.map(\.metric) + Self.bytes.map(\.metric) + Self.times.map(\.metric) }
    public init() {}

    static let labels = ["backend_type", "object", "context"]
    static let firstVersion = 16

    static let operations: [(column: String, metric: PostgresMetric)] = [
        ("reads", "Read operations (one block each, op_bytes)."),
        ("writes", "Write operations."),
        ("writebacks", "Requests to the kernel to write data out."),
        ("extends", "Relation extend operations."),
        ("hits", "Times a wanted block was found in shared buffers."),
        ("evictions", "Times a block was evicted from a buffer to make room."),
        ("reuses", "Times a ring buffer was reused (bulk reads, vacuum)."),
        ("fsyncs", "fsync calls."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_io_\($0.0)_total", $0.1, labels: labels)) }

    /// Bytes moved, on every version: PostgreSQL 18 counts them (`read_bytes`, `write_bytes`,
    /// `extend_bytes`) and drops `op_bytes`; 16 and 17 count operations of `op_bytes` each, so
    /// there the bytes are operations × op_bytes, the same quantity.
    static let bytes: [(column: String, operations: String, metric: PostgresMetric)] = [
        ("read_bytes", "reads", "Bytes read (PostgreSQL 18's read_bytes; reads × op_bytes before)."),
        ("write_bytes", "writes", "Bytes written (PostgreSQL 18's write_bytes; writes × op_bytes before)."),
        ("extend_bytes", "extends", "Bytes added by relation extends (PostgreSQL 18's extend_bytes; extends × op_bytes before)."),
    ].map { ($0.0, $0.1, PostgresMetric.counter("pg_stat_io_\($0.0)_total", $0.2, labels: labels)) }

    /// Milliseconds in the view (track_io_timing), seconds here.
    static let times: [(column: String, metric: PostgresMetric)] = [
        ("read_time", "Time spent in read operations (track_io_timing)."),
        ("write_time", "Time spent in write operations (track_io_timing)."),
        ("writeback_time", "Time spent in writeback operations (track_io_timing)."),
        ("extend_time", "Time spent in extend operations (track_io_timing)."),
        ("fsync_time", "Time spent in fsync operations (track_io_timing)."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_io_\($0.0)_seconds_total", $0.1, labels: labels)) }

    static let sql = "SELECT * FROM pg_stat_io"

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        guard context.majorVersion >= Self.firstVersion else { return }
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    /// NULL marks an operation that cannot happen for the row's combination: no series for it.
    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        for (_, metric) in operations + times { sink.declare(metric) }
        for (_, _, metric) in bytes { sink.declare(metric) }
        for row in rows.rows {
            guard let backend = row["backend_type"], let object = row["object"], let context = row["context"] else { continue }
            let labels = [backend, object, context]
            for (column, metric) in operations { sink.add(metric, row.double(column), labels) }
            let blockSize = row.double("op_bytes")
            for (column, operations, metric) in bytes {
                sink.add(metric, row.double(column) ?? blockSize.flatMap { size in row.double(operations).map { $0 * size } }, labels)
            }
            for (column, metric) in times { sink.add(metric, row.double(column).map { $0 / 1000 }, labels) }
        }
    }
}
