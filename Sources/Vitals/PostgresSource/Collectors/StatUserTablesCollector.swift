/// Per-table and per-index health for the largest tables of every database the role can reach.
///
/// Unlike the other collectors it runs once per database (each needs its own connection), so the
/// source calls ``query(_:limit:)`` in each database and ``map(_:limit:into:)`` once on the union:
/// the cap applies across databases (the N largest tables overall), and indexes follow their tables.
public struct StatUserTablesCollector: Sendable {
    public static let name = PostgresCollectorName.statUserTables
    public static var metrics: [PostgresMetric] {
        [Self.deadTupleRatio, Self.indexScans, Self.indexTuplesRead, Self.indexTuplesFetched, Self.indexSize, Self.indexUnused] + Self.tableCounters.map(\.metric)
            + Self.tableGauges.map(\.metric) + StatioUserTablesCollector.metrics
    }

    static let tableLabels = ["datname", "schemaname", "relname"]
    static let indexLabels = ["datname", "schemaname", "relname", "indexrelname"]

    static let tableCounters: [(column: String, metric: PostgresMetric)] = [
        ("seq_scan", "Sequential scans started on the table."),
        ("seq_tup_read", "Rows read by sequential scans: the cost of missing indexes."),
        ("idx_scan", "Index scans started on the table."),
        ("idx_tup_fetch", "Rows fetched by index scans."),
        ("n_tup_ins", "Rows inserted."),
        ("n_tup_upd", "Rows updated (HOT updates included)."),
        ("n_tup_del", "Rows deleted."),
        ("n_tup_hot_upd", "Rows HOT-updated."),
        ("vacuum_count", "Manual vacuums."),
        ("autovacuum_count", "Autovacuums."),
        ("analyze_count", "Manual analyzes."),
        ("autoanalyze_count", "Autoanalyzes."),
    ].map { ($0.0, PostgresMetric.counter("pg_stat_user_tables_\($0.0)", $0.1, labels: tableLabels)) }

    static let tableGauges: [(column: String, metric: PostgresMetric)] = [
        ("n_live_tup", "Estimated live rows."),
        ("n_dead_tup", "Estimated dead rows."),
        ("n_mod_since_analyze", "Rows modified since the last analyze."),
        ("last_vacuum", "Last manual vacuum, as a Unix timestamp (0 = never)."),
        ("last_autovacuum", "Last autovacuum, as a Unix timestamp (0 = never)."),
        ("last_analyze", "Last manual analyze, as a Unix timestamp (0 = never)."),
        ("last_autoanalyze", "Last autoanalyze, as a Unix timestamp (0 = never)."),
        ("table_size_bytes", "Size of the table (with TOAST, without indexes)."),
        ("index_size_bytes", "Size of all the table's indexes."),
    ].map { ($0.0, PostgresMetric.gauge("pg_stat_user_tables_\($0.0)", $0.1, labels: tableLabels)) }

    static let deadTupleRatio = PostgresMetric.gauge(
        "pg_stat_user_tables_dead_tuple_ratio", "n_dead_tup / (n_live_tup + n_dead_tup): the share of the table that is dead rows.", labels: tableLabels)
    // postgres_exporter's names, without `_total` as its table counters: users' unused-index
    // alerts query exactly these (promtool's suffix warning is accepted for them).
    static let indexScans = PostgresMetric.counter("pg_stat_user_indexes_idx_scan", "Scans started on the index.", labels: indexLabels)
    static let indexTuplesRead = PostgresMetric.counter(
        "pg_stat_user_indexes_idx_tup_read", "Index entries returned by scans of the index.", labels: indexLabels)
    static let indexTuplesFetched = PostgresMetric.counter(
        "pg_stat_user_indexes_idx_tup_fetch", "Live table rows fetched by simple index scans of the index.", labels: indexLabels)
    /// The index counters, for the linter's list of accepted legacy names.
    static let indexCounters = [indexScans, indexTuplesRead, indexTuplesFetched]
    static let indexSize = PostgresMetric.gauge("pg_stat_user_indexes_size_bytes", "Size of the index.", labels: indexLabels)
    static let indexUnused = PostgresMetric.gauge(
        "pg_index_unused", "1 for an index never scanned since statistics were reset that enforces nothing (not unique, not primary key).",
        labels: indexLabels)

    /// Indexes kept at most, over all kept tables, largest first.
    static func indexLimit(tables: Int) -> Int { tables * 5 }

    /// Relations a session holds or awaits an ACCESS EXCLUSIVE lock on (a running or queued DDL):
    /// the size functions would wait behind it (postgres_exporter's README warns of exactly this),
    /// so those relations are sized from `relpages` instead, lock-free. The session's lock_timeout
    /// still bounds the race where such a lock arrives between the check and the size call.
    static let lockedRelations = """
        locked AS (SELECT DISTINCT relation FROM pg_locks WHERE locktype = 'relation' AND mode = 'AccessExclusiveLock'
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
        """

    static func tablesSQL(limit: Int) -> String {
        """
        WITH \(lockedRelations),
        sized AS (
            SELECT s.*, c.relpages,
                   CASE WHEN s.relid IN (SELECT relation FROM locked)
                        THEN c.relpages::float8 * current_setting('block_size')::float8
                        ELSE pg_table_size(s.relid) END AS table_size_bytes,
                   CASE WHEN s.relid IN (SELECT relation FROM locked) OR EXISTS (
                            SELECT 1 FROM pg_index i WHERE i.indrelid = s.relid AND i.indexrelid IN (SELECT relation FROM locked))
                        THEN (SELECT coalesce(sum(ic.relpages), 0)::float8 * current_setting('block_size')::float8
                              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = s.relid)
                        ELSE pg_indexes_size(s.relid) END AS index_size_bytes
            FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        ), with_io AS (
            SELECT sized.*, \(StatioUserTablesCollector.tableColumns)
            FROM sized LEFT JOIN pg_statio_user_tables io ON io.relid = sized.relid
        )
        SELECT current_database() AS datname, relid, schemaname, relname,
               seq_scan, seq_tup_read, coalesce(idx_scan, 0) AS idx_scan, coalesce(idx_tup_fetch, 0) AS idx_tup_fetch,
               n_tup_ins, n_tup_upd, n_tup_del, n_tup_hot_upd, n_live_tup, n_dead_tup, n_mod_since_analyze,
               coalesce(extract(epoch FROM last_vacuum), 0) AS last_vacuum, coalesce(extract(epoch FROM last_autovacuum), 0) AS last_autovacuum,
               coalesce(extract(epoch FROM last_analyze), 0) AS last_analyze, coalesce(extract(epoch FROM last_autoanalyze), 0) AS last_autoanalyze,
               vacuum_count, autovacuum_count, analyze_count, autoanalyze_count, table_size_bytes, index_size_bytes,
               heap_blks_read, heap_blks_hit, idx_blks_read, idx_blks_hit, toast_blks_read, toast_blks_hit, tidx_blks_read, tidx_blks_hit
        FROM with_io
        ORDER BY table_size_bytes + index_size_bytes DESC, relid
        LIMIT \(limit)
        """
    }

    /// The indexes of the kept tables (`relids` are the numeric OIDs the tables query returned).
    static func indexesSQL(relids: [String], limit: Int) -> String {
        let list = relids.filter { !$0.isEmpty && $0.allSatisfy(\.isNumber) }.joined(separator: ",")
        return """
            WITH \(lockedRelations)
            SELECT current_database() AS datname, s.relid, s.schemaname, s.relname, s.indexrelname, s.idx_scan, s.idx_tup_read, s.idx_tup_fetch,
                   CASE WHEN s.relid IN (SELECT relation FROM locked) OR s.indexrelid IN (SELECT relation FROM locked)
                        THEN c.relpages::float8 * current_setting('block_size')::float8
                        ELSE pg_relation_size(s.indexrelid) END AS size_bytes,
                   i.indisunique, i.indisprimary, \(StatioUserTablesCollector.indexColumns)
            FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid JOIN pg_class c ON c.oid = s.indexrelid
            LEFT JOIN pg_statio_user_indexes io ON io.indexrelid = s.indexrelid
            WHERE s.relid IN (\(list.isEmpty ? "0" : list))
            ORDER BY size_bytes DESC
            LIMIT \(indexLimit(tables: limit))
            """
    }

    /// What one database returned.
    public struct DatabaseTables: Sendable {
        public var tables: PostgresRows
        public var indexes: PostgresRows
        public init(tables: PostgresRows, indexes: PostgresRows) {
            self.tables = tables
            self.indexes = indexes
        }
    }

    public static func query(_ session: any PostgresQuerying, limit: Int) throws(PostgresError) -> DatabaseTables {
        guard limit > 0 else { return DatabaseTables(tables: PostgresRows([]), indexes: PostgresRows([])) }
        let tables = try session.query(tablesSQL(limit: limit))
        guard !tables.isEmpty else { return DatabaseTables(tables: tables, indexes: PostgresRows([])) }
        let indexes = try session.query(indexesSQL(relids: tables.rows.compactMap { $0["relid"] }, limit: limit))
        return DatabaseTables(tables: tables, indexes: indexes)
    }

    public static func map(_ databases: [DatabaseTables], limit: Int, into sink: inout PostgresMetricSink) {
        for (_, metric) in tableCounters + tableGauges { sink.declare(metric) }
        for metric in [deadTupleRatio, indexScans, indexTuplesRead, indexTuplesFetched, indexSize, indexUnused] { sink.declare(metric) }
        StatioUserTablesCollector.declare(into: &sink)

        // The N largest tables over all databases.
        func size(_ row: PostgresRow) -> Double { (row.double("table_size_bytes") ?? 0) + (row.double("index_size_bytes") ?? 0) }
        let tables = databases.flatMap(\.tables.rows).sorted { size($0) > size($1) }.prefix(limit)
        var kept = Set<[String]>()
        for row in tables {
            guard let datname = row["datname"], let schema = row["schemaname"], let relation = row["relname"] else { continue }
            let labels = [datname, schema, relation]
            kept.insert(labels)
            for (column, metric) in tableCounters { sink.add(metric, row.double(column), labels) }
            for (column, metric) in tableGauges { sink.add(metric, row.double(column), labels) }
            StatioUserTablesCollector.addTable(row, labels: labels, into: &sink)
            let live = row.double("n_live_tup") ?? 0
            let dead = row.double("n_dead_tup") ?? 0
            sink.add(deadTupleRatio, live + dead > 0 ? dead / (live + dead) : 0, labels)
        }
        let indexes = databases.flatMap(\.indexes.rows).sorted { ($0.double("size_bytes") ?? 0) > ($1.double("size_bytes") ?? 0) }
        for row in indexes.prefix(indexLimit(tables: limit)) {
            guard let datname = row["datname"], let schema = row["schemaname"], let relation = row["relname"], let index = row["indexrelname"],
                kept.contains([datname, schema, relation])
            else { continue }
            let labels = [datname, schema, relation, index]
            let scans = row.double("idx_scan") ?? 0
            sink.add(indexScans, scans, labels)
            sink.add(indexTuplesRead, row.double("idx_tup_read"), labels)
            sink.add(indexTuplesFetched, row.double("idx_tup_fetch"), labels)
            sink.add(indexSize, row.double("size_bytes"), labels)
            StatioUserTablesCollector.addIndex(row, labels: labels, into: &sink)
            if scans == 0, row.bool("indisunique") == false, row.bool("indisprimary") == false {
                sink.add(indexUnused, 1, labels)
            }
        }
    }
}
