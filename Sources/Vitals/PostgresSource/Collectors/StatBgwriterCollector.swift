/// Background writer and checkpointer counters under postgres_exporter's `pg_stat_bgwriter_*_total`
/// names, on every version from 13 to 17.
///
/// PostgreSQL 17 moved the checkpoint columns to `pg_stat_checkpointer` (renamed) and the backend
/// write counts to `pg_stat_io`; postgres_exporter then leaves the dashboards' checkpoint panels
/// empty (#1161, #1219). vitals reads the new views and publishes them under the old names too,
/// so one dashboard works on 13–17; the new `pg_stat_checkpointer_*` names are published as well.
public struct StatBgwriterCollector: PostgresCollector {
    public let name = PostgresCollectorName.statBgwriter
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] {
        [Self.statsReset, Self.checkpointerStatsReset] + Self.bgwriterColumns.map(\.metric) + Self.checkpointerOnly.map(\.metric)
    }
    public init() {}

    static func bgwriter(_ column: String, _ help: String) -> PostgresMetric {
        .counter("pg_stat_bgwriter_\(column)_total", help)
    }

    static let checkpointsTimed = bgwriter("checkpoints_timed", "Scheduled checkpoints performed.")
    static let checkpointsRequested = bgwriter("checkpoints_req", "Requested checkpoints performed.")
    static let checkpointWriteTime = bgwriter("checkpoint_write_time", "Time spent writing checkpoint files to disk, in milliseconds.")
    static let checkpointSyncTime = bgwriter("checkpoint_sync_time", "Time spent synchronizing checkpoint files to disk, in milliseconds.")
    static let buffersCheckpoint = bgwriter("buffers_checkpoint", "Buffers written during checkpoints.")
    static let buffersClean = bgwriter("buffers_clean", "Buffers written by the background writer.")
    static let maxwrittenClean = bgwriter("maxwritten_clean", "Times the background writer stopped a cleaning scan for writing too many buffers.")
    static let buffersBackend = bgwriter(
        "buffers_backend", "Buffers written directly by client backends (PostgreSQL 17+: writes of client backends in pg_stat_io).")
    static let buffersBackendFsync = bgwriter(
        "buffers_backend_fsync", "Times a client backend had to fsync itself (PostgreSQL 17+: fsyncs of client backends in pg_stat_io).")
    static let buffersAlloc = bgwriter("buffers_alloc", "Buffers allocated.")
    // postgres_exporter's name and type: a timestamp that only moves forward, published as a counter.
    static let statsReset = PostgresMetric.counter(
        "pg_stat_bgwriter_stats_reset_total", "When the background writer statistics were last reset, as a Unix timestamp.")
    static let checkpointerStatsReset = PostgresMetric.counter(
        "pg_stat_checkpointer_stats_reset_total", "When the checkpointer statistics were last reset, as a Unix timestamp (PostgreSQL 17+).")

    static func checkpointer(_ column: String, _ help: String) -> PostgresMetric {
        .counter("pg_stat_checkpointer_\(column)_total", help)
    }

    /// PostgreSQL 17's `pg_stat_checkpointer` column → the pre-17 `pg_stat_bgwriter` column.
    static let checkpointerToBgwriter: [(checkpointer: String, bgwriter: String)] = [
        ("num_timed", "checkpoints_timed"),
        ("num_requested", "checkpoints_req"),
        ("write_time", "checkpoint_write_time"),
        ("sync_time", "checkpoint_sync_time"),
        ("buffers_written", "buffers_checkpoint"),
    ]
    static let checkpointerOnly: [(column: String, metric: PostgresMetric)] = [
        ("num_timed", checkpointer("num_timed", "Scheduled checkpoints (PostgreSQL 17+).")),
        ("num_requested", checkpointer("num_requested", "Requested checkpoints (PostgreSQL 17+).")),
        ("restartpoints_timed", checkpointer("restartpoints_timed", "Scheduled restartpoints (PostgreSQL 17+).")),
        ("restartpoints_req", checkpointer("restartpoints_req", "Requested restartpoints (PostgreSQL 17+).")),
        ("restartpoints_done", checkpointer("restartpoints_done", "Restartpoints performed (PostgreSQL 17+).")),
        ("write_time", checkpointer("write_time", "Time spent writing checkpoint files, in milliseconds (PostgreSQL 17+).")),
        ("sync_time", checkpointer("sync_time", "Time spent synchronizing checkpoint files, in milliseconds (PostgreSQL 17+).")),
        ("buffers_written", checkpointer("buffers_written", "Buffers written by checkpoints and restartpoints (PostgreSQL 17+).")),
    ]

    static let bgwriterColumns: [(column: String, metric: PostgresMetric)] = [
        ("checkpoints_timed", checkpointsTimed), ("checkpoints_req", checkpointsRequested),
        ("checkpoint_write_time", checkpointWriteTime), ("checkpoint_sync_time", checkpointSyncTime),
        ("buffers_checkpoint", buffersCheckpoint), ("buffers_clean", buffersClean), ("maxwritten_clean", maxwrittenClean),
        ("buffers_backend", buffersBackend), ("buffers_backend_fsync", buffersBackendFsync), ("buffers_alloc", buffersAlloc),
    ]

    static let bgwriterSQL = "SELECT *, extract(epoch FROM stats_reset) AS stats_reset_epoch FROM pg_stat_bgwriter"
    static let checkpointerSQL = "SELECT *, extract(epoch FROM stats_reset) AS stats_reset_epoch FROM pg_stat_checkpointer"
    static let ioSQL = """
        SELECT sum(writes) AS buffers_backend, sum(fsyncs) AS buffers_backend_fsync
        FROM pg_stat_io WHERE backend_type = 'client backend'
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        var rows = [try session.query(Self.bgwriterSQL)]
        if context.majorVersion >= 17 {
            rows += [try session.query(Self.checkpointerSQL), try session.query(Self.ioSQL)]
        }
        output.map(rows, of: name, context: context) { rows, sink in
            Self.map(bgwriter: rows[0], checkpointer: rows.count > 1 ? rows[1] : nil, io: rows.count > 2 ? rows[2] : nil, into: &sink)
        }
    }

    /// Merges the version's views into one row of pre-17 column names, then maps that row.
    public static func map(bgwriter: PostgresRows, checkpointer: PostgresRows?, io: PostgresRows?, into sink: inout PostgresMetricSink) {
        for (_, metric) in bgwriterColumns { sink.declare(metric) }
        sink.declare(statsReset)
        guard let row = bgwriter.first else { return }
        var values: [String: Double] = [:]
        for (column, _) in bgwriterColumns { values[column] = row.double(column) }
        if let checkpoint = checkpointer?.first {
            for (column, metric) in checkpointerOnly { sink.add(metric, checkpoint.double(column)) }
            sink.add(checkpointerStatsReset, checkpoint.double("stats_reset_epoch"))
            for (new, old) in checkpointerToBgwriter { values[old] = values[old] ?? checkpoint.double(new) }
        }
        if let io = io?.first {
            // pg_stat_io counts operations of op_bytes (one block): the same unit as the old buffers.
            values["buffers_backend"] = values["buffers_backend"] ?? io.double("buffers_backend") ?? 0
            values["buffers_backend_fsync"] = values["buffers_backend_fsync"] ?? io.double("buffers_backend_fsync") ?? 0
        }
        for (column, metric) in bgwriterColumns { sink.add(metric, values[column]) }
        sink.add(statsReset, row.double("stats_reset_epoch"))
    }
}
