/// The thresholds every rule reads; flags `--target.*` and `--findings.*`.
public struct FindingSettings: Sendable, Equatable {
    /// The latency every route should stay under at ``targetQuantile``.
    public var targetLatency: Double = 0.2
    public var targetQuantile: Double = 0.95
    /// Requests a route needs in the window before its quantile is trusted.
    public var minRequests: Int = 20
    /// A Redis keyspace hit ratio under this, with ``cacheMinLookupsPerMinute``, is a finding.
    public var cacheMinHitRatio: Double = 0.8
    public var cacheMinLookupsPerMinute: Double = 60
    public var connectionsRatio: Double = 0.8
    public var idleInTransactionSeconds: Double = 60
    /// The application probe's p99 over this means its event loop is slow to answer.
    public var probeP99: Double = 0.1
    /// Routes named as "slow in the same window" in an event-loop finding.
    static let maxRelatedRoutes = 5
    /// Calls per request of one lookup by key (pg_stat_statements) that make a finding.
    public var callsPerRequest: Double = 10
    /// A pool plateau: at least this many sessions, flat over at least ``poolMinFrames`` frames.
    public var poolMinSessions: Int = 3
    public var poolMinFrames: Int = 4
    /// The later half's quantile must be this many times the earlier half's to count as rising.
    public var poolLatencyRise: Double = 1.1

    public init() {}

    var quantileName: String { "p" + SampleValue.format(targetQuantile * 100) }
}

/// What one evaluation reads: the window's first and last frames, and the one before the last;
/// ``frames`` is the whole window, oldest first, for the rules that need its shape over time.
public struct FindingInputs: Sendable {
    public var earliest: MetricFrame
    public var previous: MetricFrame
    public var latest: MetricFrame
    public var frames: [MetricFrame]

    /// Without `frames`, the window is the three frames given.
    public init(earliest: MetricFrame, previous: MetricFrame, latest: MetricFrame, frames: [MetricFrame]? = nil) {
        self.earliest = earliest
        self.previous = previous
        self.latest = latest
        self.frames = frames ?? [earliest, previous, latest]
    }

    /// Seconds between the first and the last frame.
    public var window: Double { max(0, latest.time - earliest.time) }

    /// A counter's increase over the window, series by series (a reset counts what is there now).
    func increase(_ name: String) -> [(labels: [String: String], value: Double)] {
        latest.scalars(name).map { series in
            let before = earliest.value(name, labels: series.labels) ?? 0
            return (series.labels, series.value >= before ? series.value - before : series.value)
        }
    }

    func perMinute(_ amount: Double) -> Double { window > 0 ? amount * 60 / window : 0 }
}

/// Every rule, as pure functions of the inputs: each returns its candidates, unbounded; the
/// board keeps the top by impact.
public enum FindingRules {
    public static func evaluate(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        guard inputs.window > 0 else { return [] }
        let routes = routesOverTarget(inputs, settings: settings)
        return routes + cache(inputs, settings: settings) + cacheMissesTrackRoutes(inputs, slowRoutes: routes.map(\.subject))
            + connections(inputs, settings: settings)
            + eventLoop(inputs, settings: settings, slowRoutes: routes.map(\.subject)) + nPlusOne(inputs, settings: settings)
            + missingIndexes(inputs) + postgres(inputs, settings: settings)
    }

    /// Routes whose quantile over the window is over the target, by excess × traffic.
    static func routesOverTarget(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        var findings: [Finding] = []
        let database = RouteDatabaseTime(inputs)
        for (route, counts) in inputs.latest.routes where route.hasSuffix(" __other__") == false {
            let window = counts.since(inputs.earliest.routes[route])
            guard window.count >= UInt64(max(1, settings.minRequests)), let observed = window.quantile(settings.targetQuantile),
                observed > settings.targetLatency
            else { continue }
            let perMinute = inputs.perMinute(Double(window.count))
            var evidence = [
                Finding.Evidence(settings.quantileName + "_seconds", observed, unit: "seconds", window: inputs.window),
                Finding.Evidence("target_seconds", settings.targetLatency, unit: "seconds", window: 0),
                Finding.Evidence("requests_per_minute", perMinute, unit: "per_minute", window: inputs.window),
            ]
            if let p99 = window.quantile(0.99) { evidence.insert(Finding.Evidence("p99_seconds", p99, unit: "seconds", window: inputs.window), at: 1) }
            var inDatabase = ""
            if let time = database.perRequest(route) {
                evidence += [
                    Finding.Evidence("statements_per_request", time.statements, unit: "count", window: inputs.window),
                    Finding.Evidence("database_seconds_per_request", time.seconds, unit: "seconds", window: inputs.window),
                ]
                if let share = time.share {
                    evidence.append(Finding.Evidence("database_share", share, unit: "ratio", window: inputs.window))
                    inDatabase = " It spends \(Int((share * 100).rounded())) % of its time in the database"
                } else {
                    inDatabase = " It spends \(Self.milliseconds(time.seconds)) per request in the database"
                }
                inDatabase += ", in about \(SampleValue.format((time.statements * 10).rounded() / 10)) statements per request."
            }
            findings.append(
                Finding(
                    kind: .routeOverTarget, subject: route, route: route, evidence: evidence,
                    action: "Over the \(settings.quantileName) target of \(Self.milliseconds(settings.targetLatency)).\(inDatabase) Look at this route's other findings first (N+1, missing index, cache, event loop); with none, time its handler.",
                    impactSecondsPerMinute: (observed - settings.targetLatency) * perMinute))
        }
        return findings
    }

    static func cache(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        var findings: [Finding] = []
        let misses = inputs.increase("redis_keyspace_misses_total")
        for hits in inputs.increase("redis_keyspace_hits_total") {
            let subject = hits.labels["target"] ?? "redis"
            let missed = misses.first { $0.labels == hits.labels }?.value ?? 0
            let lookups = hits.value + missed
            guard lookups > 0, inputs.perMinute(lookups) >= settings.cacheMinLookupsPerMinute else { continue }
            let ratio = hits.value / lookups
            guard ratio < settings.cacheMinHitRatio else { continue }
            findings.append(
                Finding(
                    kind: .cacheIneffective, subject: subject,
                    evidence: [
                        Finding.Evidence("hit_ratio", ratio, unit: "ratio", window: inputs.window),
                        Finding.Evidence("lookups_per_minute", inputs.perMinute(lookups), unit: "per_minute", window: inputs.window),
                        Finding.Evidence("misses_per_minute", inputs.perMinute(missed), unit: "per_minute", window: inputs.window),
                    ],
                    action: "Only \(Int((ratio * 100).rounded())) % of lookups hit (threshold \(Int((settings.cacheMinHitRatio * 100).rounded())) %): the cache costs memory and a round trip and saves little. Cache what is read repeatedly (check key patterns and TTLs), or drop the cache for these keys.",
                    impactSecondsPerMinute: nil))
        }
        for evicted in inputs.increase("redis_evicted_keys_total") where evicted.value > 0 {
            let limit = inputs.latest.value("redis_memory_max_bytes", labels: evicted.labels) ?? 0
            guard limit > 0 else { continue }
            findings.append(
                Finding(
                    kind: .cacheEvictions, subject: evicted.labels["target"] ?? "redis",
                    evidence: [
                        Finding.Evidence("evictions_per_minute", inputs.perMinute(evicted.value), unit: "per_minute", window: inputs.window),
                        Finding.Evidence("maxmemory_bytes", limit, unit: "bytes", window: 0),
                    ],
                    action: "Redis is evicting keys to stay under maxmemory: cached reads fall through to the database. Raise maxmemory, shorten TTLs of large values, or cache less.",
                    impactSecondsPerMinute: nil))
        }
        return findings
    }

    static func connections(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        var findings: [Finding] = []
        for ratio in inputs.latest.scalars("pg_connections_used_ratio") where ratio.value >= settings.connectionsRatio {
            let used = inputs.latest.value("pg_connections_used", labels: ratio.labels) ?? 0
            let limit = inputs.latest.value("pg_connections_max", labels: ratio.labels) ?? 0
            findings.append(
                Finding(
                    kind: .connectionsNearLimit, subject: ratio.labels["target"] ?? "postgres",
                    evidence: [
                        Finding.Evidence("connections_used", used, unit: "count", window: 0),
                        Finding.Evidence("connections_max", limit, unit: "count", window: 0),
                        Finding.Evidence("used_ratio", ratio.value, unit: "ratio", window: 0),
                    ],
                    action: "Connections are near max_connections: new ones will be refused, and clients wait for their pools. Put a pooler (PgBouncer) in front, or lower each application instance's pool size.",
                    impactSecondsPerMinute: nil))
        }
        for idle in inputs.latest.scalars("pg_stat_activity_idle_in_transaction_max_seconds") where idle.value >= settings.idleInTransactionSeconds {
            findings.append(
                Finding(
                    kind: .idleInTransaction, subject: Self.databaseSubject(idle.labels),
                    evidence: [
                        Finding.Evidence("longest_idle_seconds", idle.value, unit: "seconds", window: 0),
                        Finding.Evidence(
                            "sessions", inputs.latest.value("pg_stat_activity_idle_in_transaction_sessions", labels: idle.labels) ?? 0, unit: "count",
                            window: 0),
                    ],
                    action: "A session has held a transaction open while idle: it keeps its locks and a pool slot, and blocks vacuum. Commit or roll back before slow work (HTTP calls, rendering); set idle_in_transaction_session_timeout.",
                    impactSecondsPerMinute: nil))
        }
        return findings
    }

    static func eventLoop(_ inputs: FindingInputs, settings: FindingSettings, slowRoutes: [String]) -> [Finding] {
        var evidence: [Finding.Evidence] = []
        var blockedPerMinute: Double?
        if let blocked = inputs.latest.blocked?.since(inputs.earliest.blocked), blocked.count > 0 {
            evidence.append(Finding.Evidence("asyncio_warnings", Double(blocked.count), unit: "count", window: inputs.window))
            evidence.append(Finding.Evidence("blocked_seconds_per_minute", inputs.perMinute(blocked.sum), unit: "seconds", window: inputs.window))
            blockedPerMinute = inputs.perMinute(blocked.sum)
        }
        if let probe = inputs.latest.probe?.since(inputs.earliest.probe), let p99 = probe.quantile(0.99), p99 > settings.probeP99 {
            evidence.append(Finding.Evidence("probe_p99_seconds", p99, unit: "seconds", window: inputs.window))
        }
        guard !evidence.isEmpty else { return [] }
        let related = slowRoutes.sorted().prefix(FindingSettings.maxRelatedRoutes)
        let routes = related.isEmpty ? "" : " Routes over target in the same window: \(related.joined(separator: ", "))."
        return [
            Finding(
                kind: .eventLoopBlocked, subject: "application", evidence: evidence,
                action: "The application's event loop was blocked: every request waits while one handler runs synchronous code. Move blocking calls (time.sleep, sync drivers, CPU work) to a thread with run_in_executor or asyncio.to_thread.\(routes)",
                impactSecondsPerMinute: blockedPerMinute)
        ]
    }

    static func nPlusOne(_ inputs: FindingInputs, settings: FindingSettings) -> [Finding] {
        var findings: [Finding] = []
        for (key, totals) in inputs.latest.nPlusOne {
            let window = totals.since(inputs.earliest.nPlusOne[key])
            guard window.bursts > 0 else { continue }
            let route = key.route
            let perBurst = Double(window.statements) / Double(window.bursts)
            findings.append(
                Finding(
                    kind: .nPlusOne, subject: key.fingerprint + (route.map { " " + $0 } ?? ""), route: route,
                    evidence: [
                        Finding.Evidence("bursts", Double(window.bursts), unit: "count", window: inputs.window),
                        Finding.Evidence("statements_per_burst", perBurst, unit: "count", window: inputs.window),
                        Finding.Evidence("database_seconds_per_minute", inputs.perMinute(window.seconds), unit: "seconds", window: inputs.window),
                    ],
                    action: (route.map { "Route \($0) runs" } ?? "An unknown route (no sqlcommenter tags) runs")
                        + " `\(totals.shape)` about \(Int(perBurst.rounded())) times per request, one row at a time. Load the rows in one query (WHERE id = ANY($1), a join, or the ORM's eager loading: selectinload/joinedload).",
                    impactSecondsPerMinute: inputs.perMinute(window.seconds)))
        }
        return findings
    }

    /// Scans a missing index would turn into lookups, from the slow statements' analysed plans.
    static func missingIndexes(_ inputs: FindingInputs) -> [Finding] {
        var findings: [Finding] = []
        for (key, totals) in inputs.latest.indexCandidates {
            let window = totals.since(inputs.earliest.indexCandidates[key])
            guard window.statements > 0 else { continue }
            let (ddl, needsTrigram) = key.filter.suggestedIndex(on: key.relation)
            let columns = key.filter.conditions.map(\.column)
            var seen = Set<String>()
            let subject = key.relation + " (" + columns.filter { seen.insert($0).inserted }.joined(separator: ", ") + ")"
            var finding = Finding(
                kind: .missingIndex, subject: subject,
                evidence: [
                    Finding.Evidence("slow_statements", Double(window.statements), unit: "count", window: inputs.window),
                    Finding.Evidence("statement_seconds_per_minute", inputs.perMinute(window.seconds), unit: "seconds", window: inputs.window),
                    Finding.Evidence("rows_scanned", totals.rowsScanned, unit: "rows", window: 0),
                    Finding.Evidence("rows_returned", totals.rowsReturned, unit: "rows", window: 0),
                ],
                action: "Sequential scans of \(key.relation) read \(Int(totals.rowsScanned)) rows to return \(Int(totals.rowsReturned)). \(ddl)"
                    + (needsTrigram ? " (needs the pg_trgm extension: CREATE EXTENSION pg_trgm;)" : ""),
                impactSecondsPerMinute: inputs.perMinute(window.seconds))
            if let estimate = inputs.latest.indexEstimates[key] { MissingIndexEstimate.attach(estimate, to: &finding) }
            findings.append(finding)
        }
        return findings
    }

    /// Where a route's time goes in the database, from the statements sqlcommenter tagged with it
    /// (`pg_route_statement*`) over the requests of the timing log in the same window. A tag names
    /// a path, a timing-log route is `METHOD path`: the requests of every method of the path count.
    struct RouteDatabaseTime {
        struct PerRequest: Equatable {
            var statements: Double
            var seconds: Double
            /// Database seconds over the requests' own seconds; nil when the requests took no time.
            var share: Double?
        }

        private var statements: [String: Double] = [:]
        private var seconds: [String: Double] = [:]
        private var requests: [String: (count: Double, seconds: Double)] = [:]

        init(_ inputs: FindingInputs) {
            for series in inputs.increase("pg_route_statements_total") { statements[series.labels["route"] ?? "", default: 0] += series.value }
            guard !statements.isEmpty else { return }
            for series in inputs.increase("pg_route_statement_seconds_total") { seconds[series.labels["route"] ?? "", default: 0] += series.value }
            for (route, counts) in inputs.latest.routes {
                let window = counts.since(inputs.earliest.routes[route])
                let path = Self.path(of: route)
                requests[path, default: (0, 0)].count += Double(window.count)
                requests[path, default: (0, 0)].seconds += window.sum
            }
        }

        static func path(of route: String) -> String {
            route.firstIndex(of: " ").map { String(route[route.index(after: $0)...]) } ?? route
        }

        func perRequest(_ route: String) -> PerRequest? {
            let path = Self.path(of: route)
            guard let count = statements[path] ?? statements[route], count > 0, let served = requests[path], served.count > 0 else { return nil }
            let time = seconds[path] ?? seconds[route] ?? 0
            return PerRequest(statements: count / served.count, seconds: time / served.count, share: served.seconds > 0 ? min(1, time / served.seconds) : nil)
        }
    }

    static func databaseSubject(_ labels: [String: String]) -> String {
        let database = labels["datname"] ?? "postgres"
        return labels["target"].map { "\(database)@\($0)" } ?? database
    }

    static func milliseconds(_ seconds: Double) -> String {
        SampleValue.format((seconds * 1000).rounded()) + " ms"
    }
}
