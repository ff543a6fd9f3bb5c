/// The rules over what the Postgres source measures: lock waits with their relation, unused
/// indexes, lookups called many times per request, and a client pool's plateau.
extension FindingRules {
    static func postgres(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        lockWaits(inputs) + unusedIndexes(inputs) + callsPerRequest(inputs, settings: settings) + poolSaturated(inputs, settings: settings)
    }

    /// One finding per relation waited on; the database's alone when no relation is known (a
    /// wait on an advisory lock, or a vitals that does not publish `pg_locks_waiting_relation`).
    static func lockWaits(_ inputs: FindingInputs) -> [Finding] {
        var findings: [Finding] = []
        for waiting in inputs.latest.scalars("pg_stat_activity_lock_waiting_sessions") where waiting.value > 0 {
            // Waiting in two frames in a row: a lock held across a pass, not a passing blip.
            guard (inputs.previous.value("pg_stat_activity_lock_waiting_sessions", labels: waiting.labels) ?? 0) > 0 else { continue }
            let database = Self.databaseSubject(waiting.labels)
            let sessions = Finding.Evidence("sessions_waiting", waiting.value, unit: "count", window: 0)
            let relations = inputs.latest.scalars("pg_locks_waiting_relation").filter { $0.value > 0 && Self.sameDatabase($0.labels, waiting.labels) }
            guard !relations.isEmpty else {
                findings.append(
                    Finding(
                        kind: .lockWaits, subject: database, evidence: [sessions],
                        action: "Sessions are waiting for locks. Find the blocker with pg_blocking_pids() in pg_stat_activity; keep transactions that take row or table locks short.",
                        impactSecondsPerMinute: nil))
                continue
            }
            for relation in relations {
                let name = relation.labels["relation"] ?? LabelLimiter<String>.overflowValue
                let named = name != LabelLimiter<String>.overflowValue
                findings.append(
                    Finding(
                        kind: .lockWaits, subject: name + " in " + database,
                        evidence: [sessions, Finding.Evidence("sessions_waiting_on_relation", relation.value, unit: "count", window: 0)],
                        action: (named ? "Sessions are waiting for a lock on \(name)." : "Sessions are waiting for locks on relations past the cap.")
                            + " Find the blocker: SELECT pid, pg_blocking_pids(pid), wait_event, now() - query_start FROM pg_stat_activity WHERE wait_event_type = 'Lock'; it is often idle in transaction or a migration. Keep transactions that lock \(named ? name : "these relations") short, run DDL with SET lock_timeout, and use FOR UPDATE SKIP LOCKED for queues.",
                        impactSecondsPerMinute: nil))
            }
        }
        return findings
    }

    /// Drop candidates: indexes never scanned since statistics were reset that enforce nothing.
    /// No impact: what an index costs is write time vitals does not see per index.
    static func unusedIndexes(_ inputs: FindingInputs) -> [Finding] {
        var findings: [Finding] = []
        for unused in inputs.latest.scalars("pg_index_unused") where unused.value > 0 {
            let labels = unused.labels
            guard let schema = labels["schemaname"], let relation = labels["relname"], let index = labels["indexrelname"] else { continue }
            var evidence = [Finding.Evidence("index_scans", 0, unit: "count", window: 0)]
            let size = inputs.latest.value("pg_stat_user_indexes_size_bytes", labels: labels)
            if let size {
                evidence.append(Finding.Evidence("index_size_bytes", size, unit: "bytes", window: 0))
            }
            let reset = inputs.latest.scalars("pg_stat_database_stats_reset").first { Self.sameDatabase($0.labels, labels) }?.value ?? 0
            let since: String
            if reset > 0 {
                let age = max(0, inputs.latest.time - reset)
                evidence.append(Finding.Evidence("statistics_age_seconds", age, unit: "seconds", window: 0))
                since = "in the \(Self.days(age)) since statistics were reset"
            } else {
                since = "since statistics began (never reset)"
            }
            let name = FilterShape.sqlIdentifier(schema) + "." + FilterShape.sqlIdentifier(index)
            findings.append(
                Finding(
                    kind: .unusedIndex, subject: "\(schema).\(index) on \(schema).\(relation) in \(Self.databaseSubject(labels))", evidence: evidence,
                    action: "Index \(name) was never scanned \(since) and enforces no constraint: every write to \(schema).\(relation) maintains it for nothing. Before dropping it, check that no replica uses it (statistics are per server) and that the statistics cover rare jobs (month-end reports); then DROP INDEX CONCURRENTLY \(name);",
                    impactSecondsPerMinute: nil, rank: size))
        }
        return findings
    }

    /// Lookups by key (`pg_stat_statements_single_row_lookup`) whose calls in the window, per
    /// request of the timing log, reach ``FindingSettings/callsPerRequest``. Both are counted
    /// across the whole application: pg_stat_statements does not know routes.
    static func callsPerRequest(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        let requests = inputs.latest.routes.reduce(0.0) { sum, route in sum + Double(route.value.since(inputs.earliest.routes[route.key]).count) }
        guard requests >= Double(max(1, settings.minRequests)) else { return [] }
        // One statement is one queryid in one database, whichever roles ran it.
        var statements: [[String: String]: (calls: Double, seconds: Double)] = [:]
        for lookup in inputs.latest.scalars("pg_stat_statements_single_row_lookup") where lookup.value > 0 {
            // A statement new to the top list has no start in the window: its whole history is not
            // this window's, so it waits for the next evaluations.
            guard let calls = Self.increase("pg_stat_statements_calls_total", lookup.labels, inputs) else { continue }
            var key = lookup.labels
            key["user"] = nil
            statements[key, default: (0, 0)].calls += calls
            statements[key, default: (0, 0)].seconds += Self.increase("pg_stat_statements_seconds_total", lookup.labels, inputs) ?? 0
        }
        var findings: [Finding] = []
        for (labels, totals) in statements {
            let perRequest = totals.calls / requests
            guard perRequest >= settings.callsPerRequest, let queryid = labels["queryid"] else { continue }
            findings.append(
                Finding(
                    kind: .callsPerRequest, subject: queryid + " in " + Self.databaseSubject(labels),
                    evidence: [
                        Finding.Evidence("calls_per_request", perRequest, unit: "count", window: inputs.window),
                        Finding.Evidence("calls_per_minute", inputs.perMinute(totals.calls), unit: "per_minute", window: inputs.window),
                        Finding.Evidence("requests_per_minute", inputs.perMinute(requests), unit: "per_minute", window: inputs.window),
                        Finding.Evidence("database_seconds_per_minute", inputs.perMinute(totals.seconds), unit: "seconds", window: inputs.window),
                    ],
                    action: "Statement \(queryid), a lookup by key (WHERE <key> = $1), ran about \(Int(perRequest.rounded())) times per request over the window (threshold \(SampleValue.format(settings.callsPerRequest))): the N+1 pattern, seen from pg_stat_statements. Its normalised text is at GET /statements. Load the rows in one query (WHERE <key> = ANY($1), a join, or the ORM's eager loading: selectinload/joinedload); an n_plus_one finding names the route when the statement log is read. Counted over every route and every client of the server.",
                    impactSecondsPerMinute: inputs.perMinute(totals.seconds)))
        }
        return findings
    }

    /// One application's sessions flat at one count over the later half of the window while the
    /// routes' quantile, over the target, rose from the earlier half: requests queue for a
    /// connection of a full client-side pool, not for Postgres.
    static func poolSaturated(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        let frames = inputs.frames
        let middle = (frames.count - 1) / 2
        guard frames.count - middle >= max(2, settings.poolMinFrames), let first = frames.first, let latest = frames.last else { return [] }
        let half = frames[middle]
        var rising: [(route: String, before: Double, after: Double)] = []
        for (route, counts) in latest.routes where route.hasSuffix(" __other__") == false {
            let before = half.routes[route].map { $0.since(first.routes[route]) }
            let after = counts.since(half.routes[route])
            guard after.count >= UInt64(max(1, settings.minRequests)), let earlier = before?.quantile(settings.targetQuantile),
                let later = after.quantile(settings.targetQuantile), later > settings.targetLatency, later > earlier * settings.poolLatencyRise
            else { continue }
            rising.append((route, earlier, later))
        }
        guard let worst = rising.max(by: { $0.after < $1.after }) else { return [] }
        let later = frames[middle...]
        var findings: [Finding] = []
        for sessions in latest.scalars("pg_stat_activity_application_sessions") where sessions.value >= Double(max(1, settings.poolMinSessions)) {
            guard sessions.labels["application_name"] != LabelLimiter<String>.overflowValue,
                later.allSatisfy({ $0.value("pg_stat_activity_application_sessions", labels: sessions.labels) == sessions.value })
            else { continue }
            let application = sessions.labels["application_name"].flatMap { $0.isEmpty ? nil : $0 } ?? "(no application_name)"
            let routes = rising.map(\.route).sorted().prefix(FindingSettings.maxRelatedRoutes)
            let seconds = max(0, latest.time - half.time)
            findings.append(
                Finding(
                    kind: .poolSaturated, subject: application + " in " + Self.databaseSubject(sessions.labels),
                    evidence: [
                        Finding.Evidence("sessions", sessions.value, unit: "count", window: seconds),
                        Finding.Evidence("flat_frames", Double(later.count), unit: "count", window: seconds),
                        Finding.Evidence("routes_rising", Double(rising.count), unit: "count", window: inputs.window),
                        Finding.Evidence(settings.quantileName + "_seconds_earlier_half", worst.before, unit: "seconds", window: seconds),
                        Finding.Evidence(settings.quantileName + "_seconds_later_half", worst.after, unit: "seconds", window: seconds),
                    ],
                    action: "\(application) held exactly \(Int(sessions.value)) sessions for \(later.count) evaluations while the \(settings.quantileName) of \(routes.joined(separator: ", ")) rose over the target: the signature of a full client-side pool, where requests wait for a connection rather than for Postgres. Check the pool's wait time and timeouts; raise its size (SQLAlchemy pool_size + max_overflow, asyncpg max_size) if pg_connections_used_ratio leaves room, or hold connections for less time (no slow work inside a transaction, fix N+1s). If pg_stat_activity shows these sessions mostly idle, the pool is not the bottleneck.",
                    impactSecondsPerMinute: nil))
        }
        return findings
    }

    /// The increase of `name`'s series with exactly `labels` over the window; nil when the
    /// window's first frame lacks it or the counter went back (a reset).
    static func increase(_ name: String, _ labels: [String: String], _ inputs: FindingInputs) -> Double? {
        guard let before = inputs.earliest.value(name, labels: labels), let now = inputs.latest.value(name, labels: labels), now >= before else { return nil }
        return now - before
    }

    /// Whether two series are about the same database of the same server.
    static func sameDatabase(_ a: [String: String], _ b: [String: String]) -> Bool {
        a["datname"] == b["datname"] && a["target"] == b["target"]
    }

    static func days(_ seconds: Double) -> String {
        let days = seconds / 86_400
        return days >= 2 ? "\(Int(days)) days" : "\(Int((seconds / 3600).rounded())) hours"
    }
}
