/// The collectors, named as postgres_exporter names them (`pg_scrape_collector_success{collector}`).
public enum PostgresCollectorName: String, Sendable, CaseIterable, Comparable {
    case database
    case locks
    case longRunningTransactions = "long_running_transactions"
    case postmaster
    case replication
    case replicationSlots = "replication_slots"
    case settings
    case statActivity = "stat_activity"
    case statBgwriter = "stat_bgwriter"
    case statDatabase = "stat_database"
    case statReplication = "stat_replication"
    case statStatements = "stat_statements"
    case statUserTables = "stat_user_tables"
    case wal

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// How often a collector runs: cheap, fast-moving statistics every interval; settings, sizes and
/// per-table statistics (which touch every relation, or every database) on the slow interval.
public enum PostgresCadence: Sendable {
    case fast
    case slow
}

/// What collectors need to know besides the rows: the server and the caps.
public struct PostgresCollectionContext: Sendable {
    /// `server_version_num`, e.g. 150020.
    public var serverVersion: Int
    public var databases: PostgresDatabaseFilter
    public var statementsLimit: Int
    public var queryLength: Int
    public var tablesLimit: Int

    public init(serverVersion: Int, databases: PostgresDatabaseFilter = .init(), statementsLimit: Int = 100, queryLength: Int = 1000, tablesLimit: Int = 200) {
        self.serverVersion = serverVersion
        self.databases = databases
        self.statementsLimit = statementsLimit
        self.queryLength = queryLength
        self.tablesLimit = tablesLimit
    }

    public var majorVersion: Int { serverVersion / 10000 }
}

/// A server-wide collector: one or a few queries on the main connection, mapped to families.
///
/// Implementations keep the mapping in a static, pure function from ``PostgresRows`` to the sink,
/// so every version's row shape is unit-tested without a server.
public protocol PostgresCollector: Sendable {
    var name: PostgresCollectorName { get }
    /// Whether it runs every pass or on the slow interval: the pass reads this, nothing else decides.
    var cadence: PostgresCadence { get }
    /// Every fixed-name family it can publish: the metric catalog is built from these.
    var metrics: [PostgresMetric] { get }
    func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into sink: inout PostgresMetricSink) throws(PostgresError)
}

/// One metric family of the Postgres source, before the optional `target` label is appended.
public struct PostgresMetric: Sendable, Hashable {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labels: [String]

    public init(_ name: String, _ type: MetricType, _ help: String, labels: [String] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.labels = labels
    }

    public static func gauge(_ name: String, _ help: String, labels: [String] = []) -> PostgresMetric { .init(name, .gauge, help, labels: labels) }
    public static func counter(_ name: String, _ help: String, labels: [String] = []) -> PostgresMetric { .init(name, .counter, help, labels: labels) }
}

/// Collects one pass's samples. With several targets every series gets a `target` label
/// (host:port/dbname), so targets never collide; with one target there is none, as in
/// postgres_exporter. Built on ``SnapshotBuilder``, so a duplicate series cannot be produced.
public struct PostgresMetricSink: Sendable {
    public let target: String?
    private var builder = SnapshotBuilder()
    private var descriptors: [String: MetricDescriptor] = [:]
    /// Statement texts for `/statements`, filled by the statements collector.
    public var statements: [PostgresStatementEntry]?

    public init(target: String?) {
        self.target = target
    }

    private mutating func descriptor(_ metric: PostgresMetric) -> MetricDescriptor {
        if let known = descriptors[metric.name] { return known }
        // Names and labels are compile-time constants checked by the unit tests, so this cannot fail.
        let descriptor = try! MetricDescriptor(
            name: metric.name, help: metric.help, type: metric.type, labelNames: target == nil ? metric.labels : metric.labels + ["target"])
        descriptors[metric.name] = descriptor
        return descriptor
    }

    public mutating func declare(_ metric: PostgresMetric) {
        builder.declare(descriptor(metric))
    }

    public mutating func add(_ metric: PostgresMetric, _ value: Double, _ labels: [String] = []) {
        guard !value.isNaN else { return }
        let descriptor = descriptor(metric)
        builder.add(descriptor, value: value, labels: target.map { labels + [$0] } ?? labels)
    }

    /// Adds a column's value when the row has it; absent columns (older servers) add nothing.
    public mutating func add(_ metric: PostgresMetric, _ value: Double?, _ labels: [String] = []) {
        if let value { add(metric, value, labels) }
    }

    /// Copies families already built (e.g. the slow collectors' last results) into this pass.
    public mutating func absorb(_ families: [FamilySnapshot]) {
        for family in families { builder.absorb(family) }
    }

    public func build() -> [FamilySnapshot] { builder.build() }
}
