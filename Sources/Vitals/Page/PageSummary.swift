#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Everything the page shows, computed from metric frames and what the sources shared: a pure
/// value, rendered as JSON (`GET /api/summary`) and as HTML (`GET /`) from the same numbers.
///
/// Quantiles and rates are over the window (the frames from `earliest` to `latest`), as
/// `histogram_quantile(q, increase(…[window]))` would give them; request counts are totals
/// since vitals started, as `/metrics` has them.
public struct PageSummary: Sendable {
    public struct Route: Sendable, Equatable {
        /// `METHOD route`, as the findings name routes.
        public var name: String
        public var requests: UInt64
        public var windowRequests: UInt64
        public var ratePerSecond: Double
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
        /// The target quantile over the target, with enough requests to say so.
        public var overTarget: Bool
    }

    public struct Cache: Sendable, Equatable {
        public var hitRatio: Double?
        public var hitsPerSecond: Double
        public var missesPerSecond: Double
        public var evictedKeys: Double
        /// A hit ratio under the findings' threshold.
        public var low: Bool
    }

    public struct Connections: Sendable, Equatable {
        public var used: Double?
        public var max: Double?
        /// Sessions by state (`active`, `idle`, `idle in transaction`, …), all databases summed.
        public var byState: [(state: String, sessions: Double)]
        public var idleInTransactionMaxSeconds: Double?
        public var lockWaitingSessions: Double?

        public static func == (a: Connections, b: Connections) -> Bool {
            a.used == b.used && a.max == b.max && a.byState.elementsEqual(b.byState, by: { $0 == $1 })
                && a.idleInTransactionMaxSeconds == b.idleInTransactionMaxSeconds && a.lockWaitingSessions == b.lockWaitingSessions
        }
    }

    public struct EventLoop: Sendable, Equatable {
        /// p99 lag of vitals' own loops over the window.
        public var ownLagP99: Double?
        /// p99 of the application probe over the window.
        public var probeP99: Double?
        /// asyncio "Executing … took" lines in the window.
        public var blockedCallbacks: Double?
        public var slow: Bool
    }

    public var generatedAt: Double
    public var windowSeconds: Double
    public var settings: FindingSettings
    public var routes: [Route]
    public var cache: Cache?
    public var connections: Connections?
    public var eventLoop: EventLoop?
    public var findings: [Finding]
    public var findingsEvaluatedAt: Double?
    public var findingsWindowSeconds: Double = 300
    public var statements: [SlowQueryStats]
    public var sources: [SourceStatus.Snapshot]
    public var historyTimes: [Double]
    public var history: [PageHistory.Series]

    /// Routes listed, the busiest first; the route cap already bounds them, this keeps the page short.
    public static let maxRoutes = 50

    public init(
        earliest: MetricFrame, latest: MetricFrame, settings: FindingSettings, findings: [Finding] = [], findingsEvaluatedAt: Double? = nil,
        statements: [SlowQueryStats] = [], sources: [SourceStatus.Snapshot] = [], history: PageHistory? = nil, chartedRoutes: Int = 6
    ) {
        generatedAt = latest.time
        windowSeconds = max(0, latest.time - earliest.time)
        self.settings = settings
        self.findings = findings
        self.findingsEvaluatedAt = findingsEvaluatedAt
        self.statements = statements
        self.sources = sources
        historyTimes = history?.times ?? []
        self.history = history?.series(limit: chartedRoutes) ?? []
        routes = Self.routes(earliest: earliest, latest: latest, settings: settings)
        cache = Self.cache(earliest: earliest, latest: latest, settings: settings)
        connections = Self.connections(latest)
        eventLoop = Self.eventLoop(earliest: earliest, latest: latest, settings: settings)
    }

    /// Per-route observations between two frames, for ``PageHistory``.
    public static func observations(from earlier: MetricFrame, to later: MetricFrame) -> [PageHistory.Observation] {
        let seconds = later.time - earlier.time
        guard seconds > 0 else { return [] }
        return later.routes.map { name, counts in
            let interval = counts.since(earlier.routes[name])
            return PageHistory.Observation(
                route: name, p50: interval.quantile(0.5), p95: interval.quantile(0.95), p99: interval.quantile(0.99),
                rate: Double(interval.count) / seconds)
        }
    }

    static func routes(earliest: MetricFrame, latest: MetricFrame, settings: FindingSettings) -> [Route] {
        let seconds = latest.time - earliest.time
        let all = latest.routes.map { name, counts -> Route in
            let window = counts.since(earliest.routes[name])
            let atTarget = window.quantile(settings.targetQuantile)
            return Route(
                name: name, requests: counts.count, windowRequests: window.count, ratePerSecond: seconds > 0 ? Double(window.count) / seconds : 0,
                p50: window.quantile(0.5), p95: window.quantile(0.95), p99: window.quantile(0.99),
                overTarget: window.count >= UInt64(settings.minRequests) && (atTarget ?? 0) > settings.targetLatency)
        }
        return Array(all.sorted { ($0.windowRequests, $0.requests, $1.name) > ($1.windowRequests, $1.requests, $0.name) }.prefix(maxRoutes))
    }

    private static func total(_ frame: MetricFrame, _ name: String) -> Double? {
        let values = frame.scalars(name)
        return values.isEmpty ? nil : values.reduce(0) { $0 + $1.value }
    }

    static func cache(earliest: MetricFrame, latest: MetricFrame, settings: FindingSettings) -> Cache? {
        guard let hits = total(latest, "redis_keyspace_hits_total"), let misses = total(latest, "redis_keyspace_misses_total") else { return nil }
        let seconds = max(latest.time - earliest.time, 1e-9)
        // A counter that went down (a restarted Redis) counts from zero, as `increase` does.
        func increase(_ now: Double, _ then: Double?) -> Double { now >= (then ?? 0) ? now - (then ?? 0) : now }
        let hitIncrease = increase(hits, total(earliest, "redis_keyspace_hits_total"))
        let missIncrease = increase(misses, total(earliest, "redis_keyspace_misses_total"))
        let evicted = total(latest, "redis_evicted_keys_total").map { increase($0, total(earliest, "redis_evicted_keys_total")) } ?? 0
        let lookups = hitIncrease + missIncrease
        let ratio = lookups > 0 ? hitIncrease / lookups : nil
        return Cache(
            hitRatio: ratio, hitsPerSecond: hitIncrease / seconds, missesPerSecond: missIncrease / seconds, evictedKeys: evicted,
            low: (ratio ?? 1) < settings.cacheMinHitRatio)
    }

    static func connections(_ latest: MetricFrame) -> Connections? {
        let used = total(latest, "pg_connections_used")
        let states = latest.scalars("pg_stat_activity_count")
        guard used != nil || !states.isEmpty else { return nil }
        var byState: [String: Double] = [:]
        for sample in states { byState[sample.labels["state"] ?? "unknown", default: 0] += sample.value }
        return Connections(
            used: used, max: total(latest, "pg_connections_max"),
            byState: byState.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { (state: $0.key, sessions: $0.value) },
            idleInTransactionMaxSeconds: latest.scalars("pg_stat_activity_idle_in_transaction_max_seconds").map(\.value).max(),
            lockWaitingSessions: total(latest, "pg_stat_activity_lock_waiting_sessions"))
    }

    static func eventLoop(earliest: MetricFrame, latest: MetricFrame, settings: FindingSettings) -> EventLoop? {
        let own = latest.ownLag.map { $0.since(earliest.ownLag).quantile(0.99) } ?? nil
        let probe = latest.probe.map { $0.since(earliest.probe).quantile(0.99) } ?? nil
        let blocked = total(latest, "app_event_loop_blocked_total").map { now in
            let then = total(earliest, "app_event_loop_blocked_total") ?? 0
            return now >= then ? now - then : now
        }
        guard latest.ownLag != nil || latest.probe != nil || blocked != nil else { return nil }
        return EventLoop(ownLagP99: own, probeP99: probe, blockedCallbacks: blocked, slow: (probe ?? 0) > settings.probeP99 || (blocked ?? 0) > 0)
    }

    /// `GET /api/summary`; the schema is in the README ("The page").
    public func json() -> String {
        func optional(_ value: Double?) -> String { value.map(JSONText.number) ?? "null" }
        var out = "{\"generated_at\":" + JSONText.quote(SlowQueryTime.iso8601(generatedAt))
        out += ",\"window_seconds\":" + JSONText.number(windowSeconds)
        out += ",\"target\":{\"latency_seconds\":" + JSONText.number(settings.targetLatency) + ",\"quantile\":" + JSONText.number(settings.targetQuantile) + "}"
        out += ",\"routes\":[" + routes.map { route in
            "{\"route\":" + JSONText.quote(route.name) + ",\"requests\":" + String(route.requests) + ",\"window_requests\":" + String(route.windowRequests)
                + ",\"rate_per_second\":" + JSONText.number(route.ratePerSecond) + ",\"p50_seconds\":" + optional(route.p50)
                + ",\"p95_seconds\":" + optional(route.p95) + ",\"p99_seconds\":" + optional(route.p99)
                + ",\"over_target\":" + (route.overTarget ? "true" : "false") + "}"
        }.joined(separator: ",") + "]"
        out += ",\"history\":{\"times\":[" + historyTimes.map { JSONText.number($0.rounded()) }.joined(separator: ",") + "],\"routes\":["
        out += history.map { series in
            func list(_ values: [Double?]) -> String { "[" + values.map { $0.map { JSONText.number(($0 * 1e6).rounded() / 1e6) } ?? "null" }.joined(separator: ",") + "]" }
            return "{\"route\":" + JSONText.quote(series.route) + ",\"p50_seconds\":" + list(series.p50) + ",\"p95_seconds\":" + list(series.p95)
                + ",\"p99_seconds\":" + list(series.p99) + ",\"rate_per_second\":" + list(series.rate) + "}"
        }.joined(separator: ",") + "]}"
        out += ",\"findings\":" + FindingsJSON.render(findings, evaluatedAt: findingsEvaluatedAt, window: findingsWindowSeconds, settings: settings)
        out += ",\"statements\":[" + statements.map { stats in
            "{\"id\":" + JSONText.quote(stats.id) + ",\"query\":" + JSONText.quote(stats.text) + ",\"count\":" + String(stats.count)
                + ",\"total_seconds\":" + JSONText.number(stats.totalSeconds) + ",\"mean_seconds\":" + JSONText.number(stats.meanSeconds)
                + ",\"p99_seconds\":" + JSONText.number(stats.p99Seconds) + "}"
        }.joined(separator: ",") + "]"
        out += ",\"cache\":" + (cache.map { cache in
            "{\"hit_ratio\":" + optional(cache.hitRatio) + ",\"hits_per_second\":" + JSONText.number(cache.hitsPerSecond)
                + ",\"misses_per_second\":" + JSONText.number(cache.missesPerSecond) + ",\"evicted_keys\":" + JSONText.number(cache.evictedKeys) + "}"
        } ?? "null")
        out += ",\"connections\":" + (connections.map { connections in
            "{\"used\":" + optional(connections.used) + ",\"max\":" + optional(connections.max) + ",\"by_state\":{"
                + connections.byState.map { JSONText.quote($0.state) + ":" + JSONText.number($0.sessions) }.joined(separator: ",") + "}"
                + ",\"idle_in_transaction_max_seconds\":" + optional(connections.idleInTransactionMaxSeconds)
                + ",\"lock_waiting_sessions\":" + optional(connections.lockWaitingSessions) + "}"
        } ?? "null")
        out += ",\"event_loop\":" + (eventLoop.map { loop in
            "{\"vitals_lag_p99_seconds\":" + optional(loop.ownLagP99) + ",\"app_probe_p99_seconds\":" + optional(loop.probeP99)
                + ",\"app_blocked_callbacks\":" + optional(loop.blockedCallbacks) + "}"
        } ?? "null")
        out += ",\"sources\":[" + sources.map { source in
            "{\"source\":" + JSONText.quote(source.source) + ",\"instance\":" + (source.instance.map(JSONText.quote) ?? "null")
                + ",\"state\":" + JSONText.quote(source.state.rawValue) + ",\"error\":" + (source.lastError.map(JSONText.quote) ?? "null") + "}"
        }.joined(separator: ",") + "]"
        return out + "}\n"
    }
}
