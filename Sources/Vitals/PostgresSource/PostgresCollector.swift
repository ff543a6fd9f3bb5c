/// The collectors, named as postgres_exporter names them (`pg_scrape_collector_success{collector}`).
public enum PostgresCollectorName: String, Sendable, CaseIterable, Comparable {
    case database
    case databaseWraparound = "database_wraparound"
    case locks
    case longRunningTransactions = "long_running_transactions"
    case postmaster
    case replication
    case replicationSlots = "replication_slots"
    case settings
    case statArchiver = "stat_archiver"
    case statActivity = "stat_activity"
    case statBgwriter = "stat_bgwriter"
    case statDatabase = "stat_database"
    case statIO = "stat_io"
    case statProgressVacuum = "stat_progress_vacuum"
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
    /// The statements collector's texts from the pass before (the worker carries them on).
    public var statementTexts = PostgresStatementTexts()
    /// What each collector mapped in its last pass that worked (the worker carries them on).
    public var mappedRows: [PostgresCollectorName: PostgresMappedRows] = [:]

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
    func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError)
}

/// One metric family of the Postgres source, before the optional `target` label is appended.
public struct PostgresMetric: Sendable, Hashable {
    public let name: String
    public let help: String
    public let type: MetricType
    public let labels: [String]
    /// The family's descriptor for a single target (no `target` label). Built here, once per metric:
    /// almost every metric is a static constant, and a pass then builds no descriptor.
    let descriptor: MetricDescriptor

    public init(_ name: String, _ type: MetricType, _ help: String, labels: [String] = []) {
        self.name = name
        self.help = help
        self.type = type
        self.labels = labels
        // Fixed names and labels, checked by the unit tests, or a setting's name made valid by
        // MetricName.sanitize after a fixed prefix: this cannot fail.
        self.descriptor = try! MetricDescriptor(name: name, help: help, type: type, labelNames: labels)
    }

    public static func gauge(_ name: String, _ help: String, labels: [String] = []) -> PostgresMetric { .init(name, .gauge, help, labels: labels) }
    public static func counter(_ name: String, _ help: String, labels: [String] = []) -> PostgresMetric { .init(name, .counter, help, labels: labels) }
}

/// What one collector's run produced: its samples and, for the statements collector, the texts
/// `/statements` serves. The texts are not metrics, so they do not travel in the sink.
public struct PostgresCollectorOutput: Sendable {
    public var metrics = PostgresMetricSink()
    /// Set by the statements collector only.
    public var statements: [PostgresStatementEntry]?
    /// Set by the statements collector only: the texts the next pass starts from.
    public var statementTexts: PostgresStatementTexts?
    /// Set by ``map(_:of:context:_:)``: what the next pass compares its rows with.
    public var mappedRows: PostgresMappedRows?

    public init() {}

    /// Maps `rows` into ``metrics`` with `body`, unless they are the rows `collector` mapped in
    /// its last pass (``PostgresCollectionContext/mappedRows``): then those samples are taken as
    /// they are, the same storage, which the publication finds unchanged at once.
    ///
    /// For a collector whose samples are a function of its rows alone (and of the server's
    /// version): at rest most statistics do not change between passes, and the settings were 262
    /// families built anew every slow pass (BENCHMARKS.md, "Unchanged rows, mapped once").
    public mutating func map(
        _ rows: [PostgresRows], of collector: PostgresCollectorName, context: PostgresCollectionContext,
        _ body: ([PostgresRows], inout PostgresMetricSink) -> Void
    ) {
        if let previous = context.mappedRows[collector], previous.serverVersion == context.serverVersion, previous.rows == rows {
            metrics = previous.metrics
        } else {
            body(rows, &metrics)
        }
        mappedRows = PostgresMappedRows(rows: rows, serverVersion: context.serverVersion, metrics: metrics)
    }
}

/// The rows a collector read in a pass and the samples it made of them, kept by the target's
/// worker for the next pass (``PostgresCollectorOutput/map(_:of:context:_:)``).
///
/// Bounded by what the collector reads: its statements' rows, which their own limits bound (the
/// settings, about 260 rows, are the most), and the samples, which the publication holds anyway.
public struct PostgresMappedRows: Sendable {
    let rows: [PostgresRows]
    let serverVersion: Int
    let metrics: PostgresMetricSink
}

/// The samples of one collector run, or of a whole publication. It records; it builds families
/// once, when the publication is assembled (``build()``), so a pass's values go one way: rows, to
/// samples, to the families a scrape sees.
///
/// With several targets every series gets a `target` label (host:port/dbname), last, so targets
/// never collide; with one target there is none, as in postgres_exporter. Built on
/// ``SnapshotBuilder``, so a duplicate series cannot be produced.
public struct PostgresMetricSink: Sendable, Equatable {
    /// The metric's descriptor, not the metric: one reference to retain each time a pass's samples
    /// are copied (into its outcome, then into the publication), where the metric's fields are four.
    struct Sample: Sendable, Equatable {
        let descriptor: MetricDescriptor
        let value: Double
        let labels: [String]
    }

    /// Appended to every series at ``build()``; nil for a single target.
    public let target: String?
    private var declared: [MetricDescriptor] = []
    private var samples: [Sample] = []

    public init(target: String? = nil) {
        self.target = target
    }

    /// Exposes the family (with HELP and TYPE) even when it gets no sample.
    public mutating func declare(_ metric: PostgresMetric) {
        declared.append(metric.descriptor)
    }

    public mutating func add(_ metric: PostgresMetric, _ value: Double, _ labels: [String] = []) {
        guard !value.isNaN else { return }
        samples.append(Sample(descriptor: metric.descriptor, value: value, labels: labels))
    }

    /// Adds a column's value when the row has it; absent columns (older servers) add nothing.
    public mutating func add(_ metric: PostgresMetric, _ value: Double?, _ labels: [String] = []) {
        if let value { add(metric, value, labels) }
    }

    /// Whether the two hold the very same samples, not equal ones made apart: what a collector
    /// whose rows did not change hands back (``PostgresCollectorOutput/map(_:of:context:_:)``).
    func sharesSamples(with other: PostgresMetricSink) -> Bool {
        samples.withUnsafeBufferPointer { own in other.samples.withUnsafeBufferPointer { own.baseAddress == $0.baseAddress } }
    }

    /// Takes another run's samples (a collector's, into the publication).
    public mutating func append(_ other: PostgresMetricSink) {
        declared += other.declared
        samples += other.samples
    }

    public func build() -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        var withTarget: [String: MetricDescriptor] = [:]
        func descriptor(_ own: MetricDescriptor) -> MetricDescriptor {
            guard target != nil else { return own }
            if let known = withTarget[own.name] { return known }
            // The metric's own descriptor is valid, and `target` is a valid label it never has.
            let made = try! MetricDescriptor(name: own.name, help: own.help, type: own.type, labelNames: own.labelNames + ["target"])
            withTarget[own.name] = made
            return made
        }
        for declaration in declared { builder.declare(descriptor(declaration)) }
        for sample in samples {
            builder.add(descriptor(sample.descriptor), value: sample.value, labels: target.map { sample.labels + [$0] } ?? sample.labels)
        }
        return builder.build()
    }
}
