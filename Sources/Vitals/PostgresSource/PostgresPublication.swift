/// The latest state of one target, turned into the snapshot its publisher exposes.
///
/// A pure value: passes are merged into it and ``snapshot()`` joins the collectors' families, so
/// what a scrape sees is always one consistent pass (the fast collectors' latest results plus the
/// slow collectors' latest results) and never a duplicate series. Each collector's families are
/// built when its samples change and kept while they do not: a slow collector's until its next
/// pass, and any collector's while its rows stay the same (``PostgresMappedRows``). Kept families
/// are the same storage from publication to publication, so a scrape finds them unchanged by an
/// identity check. No two collectors share a family name, so their families are joined, not merged.
public struct PostgresPublication: Sendable {
    static let up = PostgresMetric.gauge("pg_up", "Whether the last connection to the server and its queries succeeded (1) or not (0).")
    static let staticInfo = PostgresMetric.gauge(
        "pg_static", "Version of the server as labels; the value is always 1.", labels: ["version", "short_version"])
    static let versionInfo = PostgresMetric.gauge(
        "pg_version_info", "Version of the server as labels; the value is always 1.", labels: ["version", "server_version_num"])
    static let versionNumber = PostgresMetric.gauge("pg_server_version_num", "server_version_num of the server, e.g. 150004.")
    static let lastScrapeError = PostgresMetric.gauge(
        "pg_exporter_last_scrape_error", "1 when the last collection pass had an error (the server down or any collector failing), else 0.")
    static let lastScrapeDuration = PostgresMetric.gauge(
        "pg_exporter_last_scrape_duration_seconds", "How long the last fast collection pass took.")
    static let collectorSuccess = PostgresMetric.gauge(
        "pg_scrape_collector_success", "Whether the collector's last run succeeded (1) or not (0).", labels: ["collector"])
    static let collectorDuration = PostgresMetric.gauge(
        "pg_scrape_collector_duration_seconds", "How long the collector's last run took.", labels: ["collector"])

    /// The families every publication carries, whatever the collectors found.
    static var metrics: [PostgresMetric] {
        [up, staticInfo, versionInfo, versionNumber, lastScrapeError, lastScrapeDuration, collectorSuccess, collectorDuration]
    }

    public let target: String?
    /// Every collector that is switched on: each always has a success series.
    public let enabled: [PostgresCollectorName]
    public private(set) var isUp = false
    public private(set) var hasRun = false
    public private(set) var version: String?
    public private(set) var serverVersion = 0
    public private(set) var lastPassDuration: Double = 0
    private var outcomes: [PostgresCollectorName: PostgresCollectorOutcome] = [:]
    /// Each collector's families, built from its outcome's samples: the two are set and cleared together.
    private var built: [PostgresCollectorName: [FamilySnapshot]] = [:]

    public init(target: String?, enabled: [PostgresCollectorName]) {
        self.target = target
        self.enabled = enabled.sorted()
    }

    /// Takes a pass's results. A connection failure drops everything collected before: stale
    /// values from a server that cannot be reached would look current.
    public mutating func apply(_ pass: PostgresPassResult, isFast: Bool) {
        hasRun = true
        if pass.connectionError != nil {
            markDown()
            if isFast { lastPassDuration = pass.duration }
            return
        }
        isUp = true
        version = pass.version ?? version
        serverVersion = pass.serverVersion
        if isFast { lastPassDuration = pass.duration }
        // A failed collector's outcome replaces its previous one: its old values are not kept,
        // they could be arbitrarily stale. (Per-table statistics keep what the reachable databases gave.)
        for (name, outcome) in pass.outcomes {
            // Samples handed back unchanged are the same array, which `==` finds at once.
            if let previous = outcomes.updateValue(outcome, forKey: name), previous.metrics == outcome.metrics { continue }
            var sink = PostgresMetricSink(target: target)
            sink.append(outcome.metrics)
            built[name] = sink.build()
        }
    }

    /// The target is down (connection failure, or the runner saw a pass overrun its deadline).
    public mutating func markDown() {
        hasRun = true
        isUp = false
        outcomes = [:]
        built = [:]
    }

    /// Whether any collector's last run failed.
    /// A missing pg_stat_statements does not count: postgres-mixin alerts on
    /// `pg_exporter_last_scrape_error`, and a server without the extension is not failing.
    public var hasFailures: Bool { outcomes.values.contains { !$0.success && $0.error?.isMissingSetup != true } }

    public var statements: [PostgresStatementEntry] {
        (outcomes[.statStatements]?.statements ?? []).map { entry in
            var entry = entry
            entry.target = target
            return entry
        }
    }

    public func failures() -> [(PostgresCollectorName, PostgresError)] {
        outcomes.compactMap { name, outcome in outcome.error.map { (name, $0) } }.sorted { $0.0 < $1.0 }
    }

    public func snapshot() -> [FamilySnapshot] {
        var sink = PostgresMetricSink(target: target)
        sink.add(Self.up, isUp ? 1 : 0)
        sink.add(Self.lastScrapeError, (!isUp || hasFailures) ? 1 : 0)
        sink.add(Self.lastScrapeDuration, lastPassDuration)
        if isUp, let version {
            sink.add(Self.staticInfo, 1, [version, Self.shortVersion(serverVersion)])
            sink.add(Self.versionInfo, 1, [Self.shortVersion(serverVersion), String(serverVersion)])
            sink.add(Self.versionNumber, Double(serverVersion))
        } else {
            sink.declare(Self.staticInfo)
        }
        for name in enabled {
            let outcome = outcomes[name]
            // A collector that has not run yet (slow ones right after a reconnect) counts as failed
            // only while the target is down.
            sink.add(Self.collectorSuccess, (outcome?.success ?? isUp) ? 1 : 0, [name.rawValue])
            sink.add(Self.collectorDuration, outcome?.duration ?? 0, [name.rawValue])
        }
        var families = sink.build()
        guard isUp else { return families }
        for name in enabled {
            if let collected = built[name] { families += collected }
        }
        return families
    }

    /// `150020` → `15.20.0`, `90624` → `9.6.24`: the semver postgres_exporter puts in `short_version`.
    public static func shortVersion(_ number: Int) -> String {
        if number >= 100_000 { return "\(number / 10000).\(number % 10000).0" }
        return "\(number / 10000).\(number / 100 % 100).\(number % 100)"
    }
}
