/// `pg_locks_count{datname,mode}`: locks held or awaited, per database and the nine table-level
/// lock modes, zeros included, as postgres_exporter publishes them.
public struct LocksCollector: PostgresCollector {
    public let name = PostgresCollectorName.locks
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.count, Self.waiting, Self.waitingRelation] }
    public init() {}

    static let modes = [
        "accesssharelock", "rowsharelock", "rowexclusivelock", "shareupdateexclusivelock", "sharelock", "sharerowexclusivelock",
        "exclusivelock", "accessexclusivelock", "sireadlock",
    ]
    static let count = PostgresMetric.gauge("pg_locks_count", "Locks held or awaited, by database and lock mode.", labels: ["datname", "mode"])
    static let waiting = PostgresMetric.gauge("pg_locks_waiting", "Lock requests not granted yet, by database.", labels: ["datname"])

    static let waitingRelation = PostgresMetric.gauge(
        "pg_locks_waiting_relation",
        "Sessions waiting for a lock, by database and the relation they wait on (the \(maxRelations) with most waiters; the rest are __other__).",
        labels: ["datname", "relation"])
    /// Relations named at most per pass, those with most waiters first.
    static let maxRelations = 20

    /// The relation each waiting session waits on: the one of its ungranted lock; for a row lock
    /// (the ungranted lock is on the holder's transaction id) the one of the tuple lock it holds
    /// meanwhile. pg_class is per database, so a relation of another database than the connected
    /// one is named by its OID. Waits with no relation (advisory locks) are not counted here.
    static let relationsSQL = """
        WITH waits AS (
            SELECT coalesce(CASE WHEN w.relation IS NOT NULL THEN w.database END, t.database) AS database,
                   coalesce(w.relation, t.relation) AS relation
            FROM pg_locks w
            LEFT JOIN LATERAL (SELECT h.database, h.relation FROM pg_locks h
                               WHERE h.pid = w.pid AND h.locktype = 'tuple' AND h.granted LIMIT 1) t ON w.relation IS NULL
            WHERE NOT w.granted
        )
        SELECT d.datname, coalesce(quote_ident(n.nspname) || '.' || quote_ident(c.relname), w.relation::text) AS relation, count(*) AS waiting
        FROM waits w JOIN pg_database d ON d.oid = w.database
        LEFT JOIN pg_class c ON c.oid = w.relation AND w.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        LEFT JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE w.relation IS NOT NULL
        GROUP BY 1, 2
        ORDER BY waiting DESC, 2
        LIMIT 1000
        """

    static let sql = """
        SELECT d.datname, lower(l.mode) AS mode, count(*) AS count, count(*) FILTER (WHERE NOT l.granted) AS waiting
        FROM pg_locks l JOIN pg_database d ON d.oid = l.database
        GROUP BY d.datname, lower(l.mode)
        UNION ALL
        SELECT datname, NULL, 0, 0 FROM pg_database WHERE datallowconn
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        let rows = [try session.query(Self.sql), try session.query(Self.relationsSQL)]
        output.map(rows, of: name, context: context) { Self.map($0[0], relations: $0[1], context: context, into: &$1) }
    }

    public static func map(
        _ rows: PostgresRows, relations: PostgresRows = PostgresRows([]), context: PostgresCollectionContext, into sink: inout PostgresMetricSink
    ) {
        sink.declare(count)
        sink.declare(waiting)
        sink.declare(waitingRelation)
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
        // Most waiters first, so the relations that matter keep their names; the limiter is per
        // pass (a gauge of now, not a counter), so a relation named once is not kept forever.
        let allowed = Set(databases)
        var names = LabelLimiter<[String]>(capacity: maxRelations)
        var byRelation: [[String]: Double] = [:]
        let sorted = relations.rows.sorted { ($0.double("waiting") ?? 0) > ($1.double("waiting") ?? 0) }
        for row in sorted {
            guard let datname = row["datname"], allowed.contains(datname), let relation = row["relation"] else { continue }
            let key = names.admit([datname, relation]) ?? [datname, LabelLimiter<String>.overflowValue]
            byRelation[key, default: 0] += row.double("waiting") ?? 0
        }
        for (labels, value) in byRelation { sink.add(waitingRelation, value, labels) }
    }
}
