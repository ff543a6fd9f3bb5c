/// Sessions per database and state, transaction ages, idle-in-transaction sessions, lock waits,
/// and connection saturation (`pg_connections_used` against `max_connections`).
public struct StatActivityCollector: PostgresCollector {
    public let name = PostgresCollectorName.statActivity
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [
            Self.count, Self.maxTransactionDuration, Self.idleInTransaction, Self.idleInTransactionMax, Self.lockWaiting, Self.connectionsUsed,
            Self.connectionsAvailable, Self.connectionsRatio, Self.applicationSessions,
        ] }
    public init() {}

    static let labels = ["datname", "state"]
    /// Every state `pg_stat_activity.state` can take; each database gets all of them, zeros
    /// included, so a state's series exists before its first session (as postgres_exporter does).
    static let states = ["active", "idle", "idle in transaction", "idle in transaction (aborted)", "fastpath function call", "disabled"]

    static let count = PostgresMetric.gauge("pg_stat_activity_count", "Sessions by database and state.", labels: labels)
    static let maxTransactionDuration = PostgresMetric.gauge(
        "pg_stat_activity_max_tx_duration", "Age in seconds of the oldest open transaction, by database and state.", labels: labels)
    static let idleInTransaction = PostgresMetric.gauge(
        "pg_stat_activity_idle_in_transaction_sessions", "Sessions idle inside an open transaction (aborted ones included).", labels: ["datname"])
    static let idleInTransactionMax = PostgresMetric.gauge(
        "pg_stat_activity_idle_in_transaction_max_seconds",
        "How long the longest idle-in-transaction session of the database has been idle, in seconds.", labels: ["datname"])
    static let lockWaiting = PostgresMetric.gauge(
        "pg_stat_activity_lock_waiting_sessions", "Sessions waiting for a heavyweight lock (wait_event_type Lock).", labels: ["datname"])
    static let connectionsUsed = PostgresMetric.gauge(
        "pg_connections_used", "Client backends connected, all databases: what max_connections limits.")
    static let connectionsAvailable = PostgresMetric.gauge(
        "pg_connections_max", "Connections ordinary roles can open: max_connections minus superuser_reserved_connections.")
    static let connectionsRatio = PostgresMetric.gauge(
        "pg_connections_used_ratio", "pg_connections_used / pg_connections_max: 1 means ordinary roles can no longer connect.")

    static let applicationSessions = PostgresMetric.gauge(
        "pg_stat_activity_application_sessions",
        "Client sessions by database and application_name, any state (the \(maxApplications) largest; the rest are __other__): a client pool's size.",
        labels: ["datname", "application_name"])
    /// Applications named at most per pass, the largest first.
    static let maxApplications = 20

    static let applicationsSQL = """
        SELECT d.datname, a.application_name, count(*) AS count
        FROM pg_stat_activity a JOIN pg_database d ON d.oid = a.datid
        WHERE a.backend_type = 'client backend'
        GROUP BY 1, 2
        ORDER BY count DESC, 1, 2
        LIMIT 1000
        """

    static let activitySQL = """
        SELECT d.datname, s.state,
               count(a.pid) AS count,
               coalesce(max(extract(epoch FROM clock_timestamp() - a.xact_start)), 0) AS max_tx_duration,
               coalesce(max(extract(epoch FROM clock_timestamp() - a.state_change)), 0) AS max_state_duration,
               count(a.pid) FILTER (WHERE a.wait_event_type = 'Lock') AS lock_waiting
        FROM pg_database d
        CROSS JOIN (VALUES ('active'), ('idle'), ('idle in transaction'), ('idle in transaction (aborted)'),
                           ('fastpath function call'), ('disabled')) AS s(state)
        LEFT JOIN pg_stat_activity a ON a.datid = d.oid AND a.state = s.state
        WHERE d.datallowconn
        GROUP BY d.datname, s.state
        """
    static let connectionsSQL = """
        SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used,
               current_setting('max_connections')::float8 AS max_connections,
               current_setting('superuser_reserved_connections')::float8 AS reserved
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        let rows = [try session.query(Self.activitySQL), try session.query(Self.connectionsSQL), try session.query(Self.applicationsSQL)]
        output.map(rows, of: name, context: context) { rows, sink in
            Self.map(activity: rows[0], connections: rows[1], applications: rows[2], context: context, into: &sink)
        }
    }

    public static func map(
        activity: PostgresRows, connections: PostgresRows, applications: PostgresRows = PostgresRows([]), context: PostgresCollectionContext,
        into sink: inout PostgresMetricSink
    ) {
        for metric in [
            count, maxTransactionDuration, idleInTransaction, idleInTransactionMax, lockWaiting, connectionsUsed, connectionsAvailable, connectionsRatio,
            applicationSessions,
        ] {
            sink.declare(metric)
        }
        let allowed = Set(context.databases.select(activity.rows.compactMap { $0["datname"] }))
        var idleCount: [String: Double] = [:]
        var idleMax: [String: Double] = [:]
        var waiting: [String: Double] = [:]
        for row in activity.rows {
            guard let datname = row["datname"], allowed.contains(datname), let state = row["state"] else { continue }
            let sessions = row.double("count") ?? 0
            sink.add(count, sessions, [datname, state])
            sink.add(maxTransactionDuration, max(0, row.double("max_tx_duration") ?? 0), [datname, state])
            waiting[datname, default: 0] += row.double("lock_waiting") ?? 0
            if state.hasPrefix("idle in transaction") {
                idleCount[datname, default: 0] += sessions
                idleMax[datname] = max(idleMax[datname] ?? 0, sessions > 0 ? max(0, row.double("max_state_duration") ?? 0) : 0)
            } else {
                idleCount[datname, default: 0] += 0
                idleMax[datname] = idleMax[datname] ?? 0
            }
        }
        for (datname, value) in idleCount { sink.add(idleInTransaction, value, [datname]) }
        for (datname, value) in idleMax { sink.add(idleInTransactionMax, value, [datname]) }
        for (datname, value) in waiting { sink.add(lockWaiting, value, [datname]) }

        // Largest first, so pools keep their names; per pass, as this is a gauge of now.
        var names = LabelLimiter<[String]>(capacity: maxApplications)
        var byApplication: [[String]: Double] = [:]
        let sorted = applications.rows.sorted { ($0.double("count") ?? 0) > ($1.double("count") ?? 0) }
        for row in sorted {
            guard let datname = row["datname"], allowed.contains(datname) else { continue }
            let key = names.admit([datname, row["application_name"] ?? ""]) ?? [datname, LabelLimiter<String>.overflowValue]
            byApplication[key, default: 0] += row.double("count") ?? 0
        }
        for (labels, value) in byApplication { sink.add(applicationSessions, value, labels) }

        if let row = connections.first, let used = row.double("used"), let maximum = row.double("max_connections") {
            let available = max(1, maximum - (row.double("reserved") ?? 0))
            sink.add(connectionsUsed, used)
            sink.add(connectionsAvailable, available)
            sink.add(connectionsRatio, used / available)
        }
    }
}
