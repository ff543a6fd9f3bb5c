/// Settings of the findings: the latency target, how often and over what window they are
/// recomputed, and each rule's thresholds.
public struct FindingsConfiguration: Sendable {
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey("target.latency", .duration, default: .duration(.milliseconds(200)), help: "The latency every route should stay under."),
        ConfigurationKey("target.quantile", .double, default: .double(0.95), help: "The quantile the latency target applies to, e.g. 0.95 for p95."),
        ConfigurationKey("findings.enabled", .bool, default: .bool(true), help: "Compute findings (/findings, vitals_finding_active)."),
        ConfigurationKey("findings.interval", .duration, default: .duration(.seconds(15)), help: "How often findings are recomputed."),
        ConfigurationKey("findings.window", .duration, default: .duration(.seconds(300)), help: "The window findings look back over."),
        ConfigurationKey("findings.max-per-kind", .int, default: .int(10), help: "Findings kept per kind, the top by impact."),
        ConfigurationKey("findings.min-requests", .int, default: .int(20), help: "Requests a route needs in the window before its quantile counts."),
        ConfigurationKey(
            "findings.n-plus-one.min-repeats", .int, default: .int(5),
            help: "Executions of one statement shape in one burst (request) that make an N+1."),
        ConfigurationKey(
            "findings.n-plus-one.gap", .duration, default: .duration(.milliseconds(50)),
            help: "A backend idle this long ends its burst, when the log has no transaction ids (%v) or traceparent tags."),
        ConfigurationKey("findings.cache.min-hit-ratio", .double, default: .double(0.8), help: "A Redis hit ratio under this (with traffic) is a finding."),
        ConfigurationKey(
            "findings.idle-in-transaction", .duration, default: .duration(.seconds(60)),
            help: "A session idle in a transaction this long is a finding."),
        ConfigurationKey(
            "findings.calls-per-request", .double, default: .double(10),
            help: "Calls per request of one lookup by key (pg_stat_statements, SELECT … WHERE <key> = $1) that make a finding."),
        ConfigurationKey(
            "findings.probe-p99", .duration, default: .duration(.milliseconds(100)),
            help: "An application probe p99 over this is an event-loop finding."),
        ConfigurationKey(
            "findings.hypopg", .bool, default: .bool(false),
            help: "Estimate each missing index's effect with the hypopg extension, where it is installed: EXPLAIN in vitals' own read-only session, nothing written. Keeps one statement per candidate in memory (with its literals before PostgreSQL 16)."),
    ]

    public var enabled: Bool
    public var interval: Duration
    public var window: Duration
    public var maxPerKind: Int
    public var rules: FindingSettings
    public var nPlusOne: NPlusOneDetector.Settings
    /// `--findings.hypopg`: estimate missing indexes with hypothetical ones.
    public var hypopg: Bool

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        enabled = values.bool("findings.enabled")
        interval = values.duration("findings.interval") ?? .seconds(15)
        window = values.duration("findings.window") ?? .seconds(300)
        guard interval >= .seconds(1), interval <= .seconds(600) else {
            throw ConfigurationError(.invalidValue, key: "findings.interval", "must be between 1s and 10m")
        }
        guard window >= interval * 2, window <= .seconds(21_600) else {
            throw ConfigurationError(.invalidValue, key: "findings.window", "must be at least two intervals and at most 6h")
        }
        maxPerKind = values.int("findings.max-per-kind") ?? 10
        guard (1...100).contains(maxPerKind) else { throw ConfigurationError(.invalidValue, key: "findings.max-per-kind", "must be 1 to 100") }
        var rules = FindingSettings()
        rules.targetLatency = (values.duration("target.latency") ?? .milliseconds(200)).seconds
        guard rules.targetLatency > 0 else { throw ConfigurationError(.invalidValue, key: "target.latency", "must be positive") }
        rules.targetQuantile = values.double("target.quantile") ?? 0.95
        guard rules.targetQuantile > 0, rules.targetQuantile < 1 else {
            throw ConfigurationError(.invalidValue, key: "target.quantile", "must be between 0 and 1, e.g. 0.95")
        }
        rules.minRequests = values.int("findings.min-requests") ?? 20
        guard rules.minRequests >= 1 else { throw ConfigurationError(.invalidValue, key: "findings.min-requests", "must be at least 1") }
        rules.cacheMinHitRatio = values.double("findings.cache.min-hit-ratio") ?? 0.8
        guard (0...1).contains(rules.cacheMinHitRatio) else {
            throw ConfigurationError(.invalidValue, key: "findings.cache.min-hit-ratio", "must be between 0 and 1")
        }
        rules.idleInTransactionSeconds = (values.duration("findings.idle-in-transaction") ?? .seconds(60)).seconds
        rules.probeP99 = (values.duration("findings.probe-p99") ?? .milliseconds(100)).seconds
        rules.callsPerRequest = values.double("findings.calls-per-request") ?? 10
        guard rules.callsPerRequest >= 1, rules.callsPerRequest <= 100_000 else {
            throw ConfigurationError(.invalidValue, key: "findings.calls-per-request", "must be 1 to 100000")
        }
        self.rules = rules
        let repeats = values.int("findings.n-plus-one.min-repeats") ?? 5
        guard (2...1000).contains(repeats) else {
            throw ConfigurationError(.invalidValue, key: "findings.n-plus-one.min-repeats", "must be 2 to 1000")
        }
        let gap = values.duration("findings.n-plus-one.gap") ?? .milliseconds(50)
        guard gap > .zero, gap <= .seconds(10) else {
            throw ConfigurationError(.invalidValue, key: "findings.n-plus-one.gap", "must be positive and at most 10s")
        }
        nPlusOne = NPlusOneDetector.Settings(minRepeats: repeats, gap: gap.seconds)
        hypopg = values.bool("findings.hypopg")
    }
}
