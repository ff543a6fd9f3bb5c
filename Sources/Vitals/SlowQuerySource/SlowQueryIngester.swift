/// The families the slow-query source feeds.
public struct SlowQueryMetrics: Sendable {
    /// `vitals_log_*` series carry this as their `source` label.
    public static let sourceLabel = "slow_query"
    /// 1 ms to 60 s: Postgres reports statements from `log_min_duration_statement` up.
    public static let buckets: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    public let duration: HistogramFamily
    public let phases: HistogramFamily
    public let queries: CounterFamily
    public let sequentialScans: CounterFamily
    public let fingerprints: GaugeFamily
    public let evictions: CounterFamily
    public let labelOverflow: CounterFamily
    public let logFailures: CounterFamily
    public let nPlusOneBursts: CounterFamily
    public let routeStatements: CounterFamily
    public let routeSeconds: CounterFamily
    public let log: LogReadingMetrics

    public init(registry: MetricRegistry) throws(RegistryError) {
        duration = try registry.histogram(
            "pg_slow_query_duration_seconds",
            help: "Duration of statements in the Postgres slow-query log, by normalised statement id (top K by total time; the rest under \"__other__\").",
            labels: ["fingerprint"], buckets: Self.buckets)
        phases = try registry.histogram(
            "pg_slow_query_phase_duration_seconds", help: "Duration of slow extended-protocol parse and bind messages in the Postgres log.",
            labels: ["phase"], buckets: Self.buckets)
        queries = try registry.counter(
            "pg_slow_queries_total", help: "Slow statements in the Postgres log, by database and user (bounded; overflow under \"__other__\").",
            labels: ["datname", "user"])
        sequentialScans = try registry.counter(
            "pg_slow_query_seq_scans_total", help: "Sequential scans in auto_explain plans of slow statements, by relation (bounded).",
            labels: ["relation"])
        fingerprints = try registry.gauge(
            "vitals_slow_query_fingerprints", help: "Distinct normalised statements tracked, bounded by --slow-query.max-fingerprints.")
        evictions = try registry.counter(
            "vitals_slow_query_fingerprint_evictions_total", help: "Tracked statements dropped because the fingerprint table was full.")
        labelOverflow = try registry.counter(
            "vitals_slow_query_label_overflow_total", help: "Observations counted under \"__other__\" because a label's value cap was reached.",
            labels: ["label"])
        logFailures = try registry.counter(
            "vitals_slow_query_log_write_failures_total", help: "Slow-query log lines that could not be written to --slow-query.output.")
        nPlusOneBursts = try registry.counter(
            "pg_n_plus_one_bursts_total",
            help: "Bursts (requests) in the Postgres log that ran one statement shape at least --findings.n-plus-one.min-repeats times, by normalised statement id (bounded).",
            labels: ["fingerprint"])
        routeStatements = try registry.counter(
            "pg_route_statements_total",
            help: "Statements in the Postgres log tagged with a route by sqlcommenter, by route (bounded by --timing-log.max-routes). "
                + "Divided by http_requests_total: statements per request.",
            labels: ["route"])
        routeSeconds = try registry.counter(
            "pg_route_statement_seconds_total",
            help: "Total duration of the statements in the Postgres log tagged with a route by sqlcommenter, by route (bounded by --timing-log.max-routes).",
            labels: ["route"])
        log = try LogReadingMetrics(registry: registry, source: Self.sourceLabel)
        evictions.initialize([])
        logFailures.initialize([])
        for label in ["datname_user", "relation", "route"] { labelOverflow.initialize([label]) }
    }
}

/// Turns Postgres log lines into slow-query metrics, statistics and log lines: parse, pair
/// plans with statements, fingerprint, aggregate, cap label values.
///
/// Observations accumulate locally and reach the registry once per poll in ``endOfPoll``, so
/// the hot path takes no lock per line. One ingester belongs to one thread.
public struct SlowQueryIngester {
    public struct Settings: Sendable {
        public var format: PostgresLogFormat
        public var prefix: LogLinePrefix
        public var thresholdSeconds: Double
        public var maxRecordLength: Int
        public var maxStatementLength: Int
        public var aggregator: SlowQueryAggregator.Configuration
        /// Distinct values kept for `datname`×`user` pairs and for `relation`.
        public var maxLabelValues: Int
        /// N+1 detection and the per-route statement totals, over every statement the log has
        /// (before the threshold); nil: off.
        public var nPlusOne: NPlusOneDetector.Settings?
        /// Distinct sqlcommenter routes kept for the per-route totals: the timing log's route cap.
        public var maxRoutes: Int
        /// Keep one statement per index candidate in memory, for `--findings.hypopg`.
        public var keepStatementSamples = false

        public init(
            format: PostgresLogFormat = .stderr, prefix: LogLinePrefix = LogLinePrefix(LogLinePrefix.defaultPrefix), thresholdSeconds: Double = 0,
            maxRecordLength: Int = 1 << 20, maxStatementLength: Int = StatementNormalizer.defaultMaxLength,
            aggregator: SlowQueryAggregator.Configuration = .init(), maxLabelValues: Int = 100, nPlusOne: NPlusOneDetector.Settings? = nil,
            maxRoutes: Int = 200, keepStatementSamples: Bool = false
        ) {
            self.keepStatementSamples = keepStatementSamples
            self.nPlusOne = nPlusOne
            self.maxRoutes = maxRoutes
            self.format = format
            self.prefix = prefix
            self.thresholdSeconds = thresholdSeconds
            self.maxRecordLength = maxRecordLength
            self.maxStatementLength = maxStatementLength
            self.aggregator = aggregator
            self.maxLabelValues = maxLabelValues
        }
    }

    public static let otherLabel = SlowQueryAggregator.otherLabel

    private let settings: Settings
    private let metrics: SlowQueryMetrics
    private let logSink: (SlowQueryLogLine) -> Void
    private var parser: PostgresLogParser
    private var correlator: SlowQueryCorrelator
    public private(set) var aggregator: SlowQueryAggregator

    private var pairs: LabelLimiter<[String]>
    private var relations: LabelLimiter<String>
    private var routeLabels: LabelLimiter<String>
    /// Per sqlcommenter route since the last flush: statements and their seconds.
    private var routeTotals: [String: (statements: Int, seconds: Double)] = [:]
    private var durations: [String: HistogramAccumulator] = [:]
    private var phases: [String: HistogramAccumulator] = [:]
    private var queries: [[String]: Int] = [:]
    private var scans: [String: Int] = [:]
    private var reportedCounts = PostgresLogLineCounts()
    private var reportedEvictions = 0
    private var changed = false
    private var now: Double = 0
    public private(set) var nPlusOne: NPlusOneDetector?
    /// Scans an index would serve, from analysed plans; kept when N+1 detection is (the findings are on).
    public private(set) var indexCandidates = IndexCandidates()
    private var indexCandidatesChanged = false
    private var reportedBursts: [String: Int] = [:]
    /// Set when an N+1 was completed since ``takeNPlusOneChange()`` last ran.
    private var nPlusOneChanged = false
    /// The first and last statement times the log gave, when N+1 detection reads every statement:
    /// how long a replayed log covers.
    public private(set) var span: (first: Double, last: Double)?

    /// - Parameter logSink: receives each slow query's structured line as it is recognised.
    public init(settings: Settings, metrics: SlowQueryMetrics, logSink: @escaping (SlowQueryLogLine) -> Void) {
        self.settings = settings
        self.metrics = metrics
        self.logSink = logSink
        self.parser = PostgresLogParser(format: settings.format, prefix: settings.prefix, maxRecordLength: settings.maxRecordLength)
        self.correlator = SlowQueryCorrelator(normalizer: StatementNormalizer(maxLength: settings.maxStatementLength))
        self.aggregator = SlowQueryAggregator(configuration: settings.aggregator)
        self.pairs = LabelLimiter(capacity: settings.maxLabelValues)
        self.relations = LabelLimiter(capacity: settings.maxLabelValues)
        self.routeLabels = LabelLimiter(capacity: settings.maxRoutes)
        self.nPlusOne = settings.nPlusOne.map { NPlusOneDetector(settings: $0) }
        self.indexCandidates = IndexCandidates(keepsSamples: settings.keepStatementSamples)
    }

    /// - Parameter now: wall-clock seconds since the epoch, for entries whose timestamp has no usable zone.
    public mutating func ingest(_ line: UnsafeRawBufferPointer, now: Double) {
        self.now = now
        var records: [PostgresLogRecord] = []  // no allocation unless a record completes
        parser.feed(line) { records.append($0) }
        for record in records { handle(record) }
    }

    public mutating func ingest(_ line: String, now: Double) {
        var copy = line
        copy.withUTF8 { ingest(UnsafeRawBufferPointer($0), now: now) }
    }

    /// Ends a poll: when it read nothing, completes what was waiting for more lines; then moves
    /// everything accumulated into the registry. Returns a fresh report when anything changed.
    public mutating func endOfPoll(linesRead: Int, oversizedLines: Int = 0, now: Double) -> SlowQueryReport? {
        self.now = now
        if linesRead == 0 {
            var records: [PostgresLogRecord] = []
            parser.flush { records.append($0) }
            for record in records { handle(record) }
            var held: [(SlowQueryEntry, StatementFingerprint)] = []
            correlator.flush { held.append(($0, $1)) }
            for (entry, fingerprint) in held { observe(entry, fingerprint) }
        }
        closeBursts(idle: linesRead == 0)
        flushMetrics(oversizedLines: oversizedLines)
        for dropped in aggregator.rerankIfDue(now: now) {
            metrics.duration.remove([dropped])
            changed = true
        }
        guard changed else { return nil }
        changed = false
        metrics.fingerprints.set(to: Double(aggregator.table.count))
        return SlowQueryReport(aggregator: aggregator)
    }

    private mutating func handle(_ record: PostgresLogRecord) {
        guard let entry = SlowQueryEntry(record: record) else { return }
        var fingerprint: StatementFingerprint?
        // Every execution counts for N+1, fast ones above all; plans are the same statements again.
        if nPlusOne != nil, entry.kind == .statement || entry.kind == .execute, let pid = entry.pid {
            let time = entry.timestamp.flatMap(SlowQueryTime.parsePostgres)
            if let time { span = span.map { (min($0.first, time), max($0.last, time)) } ?? (time, time) }
            let shaped = correlator.normalizer.fingerprint(entry.statement)
            fingerprint = shaped
            let tags = entry.statement.withUnsafeBytes { SQLCommenterTags.parse($0) }.map(Self.templated)
            if let route = tags?.route {
                let label = routeLabels.limit(route)
                routeTotals[label, default: (0, 0)].statements += 1
                routeTotals[label, default: (0, 0)].seconds += entry.durationSeconds
            }
            nPlusOne?.observe(
                NPlusOneDetector.Statement(
                    pid: pid, transaction: entry.transaction, time: time ?? now,
                    fingerprint: shaped.id, shape: shaped.text, tags: tags, seconds: entry.durationSeconds))
        }
        guard entry.durationSeconds >= settings.thresholdSeconds else { return }
        var ready: [(SlowQueryEntry, StatementFingerprint)] = []
        correlator.accept(entry, fingerprint: fingerprint) { ready.append(($0, $1)) }
        for (entry, fingerprint) in ready { observe(entry, fingerprint) }
    }

    private mutating func observe(_ entry: SlowQueryEntry, _ fingerprint: StatementFingerprint) {
        let seconds = entry.durationSeconds
        let time = entry.timestamp.flatMap(SlowQueryTime.parsePostgres) ?? now
        let scanned = entry.plan?.sequentialScans ?? []
        if nPlusOne != nil, let plan = entry.plan, !scanned.isEmpty,
            indexCandidates.observe(
                plan, seconds: seconds, sample: { StatementSample(statement: entry.statement, fingerprint: fingerprint, database: entry.database) })
        {
            indexCandidatesChanged = true
        }
        logSink(
            SlowQueryLogLine(
                time: SlowQueryTime.iso8601(time), fingerprint: fingerprint.id, durationSeconds: seconds, phase: entry.phase,
                database: entry.database, user: entry.user, application: entry.application, statement: fingerprint.text,
                plan: entry.plan?.line, sequentialScans: scanned))
        switch entry.kind {
        case .parse, .bind:
            phases[entry.phase, default: metrics.phases.makeAccumulator()].observe(seconds)
            return
        case .statement, .execute, .plan:
            break
        }
        changed = true
        let label = aggregator.record(
            fingerprint, seconds: seconds, at: time, database: entry.database, user: entry.user, sequentialScans: scanned)
        durations[label, default: metrics.duration.makeAccumulator()].observe(seconds)
        let pair = pairs.admit([entry.database ?? "", entry.user ?? ""]) ?? [Self.otherLabel, Self.otherLabel]
        queries[pair, default: 0] += 1
        for relation in scanned { scans[relations.limit(relation), default: 0] += 1 }
    }

    /// A route tag as the timing log's routes are: ids become `{id}`, so the same route from both
    /// sides matches, and a raw path per request cannot grow the N+1 table.
    private static let routes = RouteTemplater()
    static func templated(_ tags: SQLCommenterTags) -> SQLCommenterTags {
        guard let route = tags["route"] else { return tags }
        var copy = tags
        copy.values["route"] = routes.route(for: route)
        return copy
    }

    /// The end of a replayed log: completes the record and the statement waiting for more lines,
    /// and every open burst, as if the log had gone quiet for good.
    public mutating func finish() {
        _ = endOfPoll(linesRead: 0, now: now)
        nPlusOne?.closeAll()
        closeBursts(idle: false)
        flushMetrics(oversizedLines: 0)
    }

    /// Completes the bursts whose backend has been quiet for the gap and counts their N+1s.
    private mutating func closeBursts(idle: Bool) {
        guard nPlusOne != nil else { return }
        // In place: a copy of the detector would copy its tables on every poll.
        nPlusOne?.closeIdle(now: idle ? now : nil)
        var byFingerprint: [String: Int] = [:]
        for (key, totals) in nPlusOne?.totals ?? [:] { byFingerprint[key.fingerprint, default: 0] += totals.bursts }
        for (fingerprint, bursts) in byFingerprint where bursts > reportedBursts[fingerprint, default: 0] {
            metrics.nPlusOneBursts.increment([fingerprint], by: Double(bursts - reportedBursts[fingerprint, default: 0]))
            reportedBursts[fingerprint] = bursts
            nPlusOneChanged = true
        }
    }

    /// The index candidates when they changed since the last call, for the findings.
    public mutating func takeIndexCandidatesChange() -> [IndexCandidateKey: IndexCandidateTotals]? {
        guard indexCandidatesChanged else { return nil }
        indexCandidatesChanged = false
        return indexCandidates.totals
    }

    /// One statement per index candidate (empty unless ``Settings/keepStatementSamples``).
    public var statementSamples: [IndexCandidateKey: StatementSample] { indexCandidates.samples }

    /// The N+1 totals when they changed since the last call, for the findings.
    public mutating func takeNPlusOneChange() -> [NPlusOneKey: NPlusOneTotals]? {
        guard nPlusOneChanged, let detector = nPlusOne else { return nil }
        nPlusOneChanged = false
        return detector.totals
    }

    private mutating func flushMetrics(oversizedLines: Int) {
        if !durations.isEmpty {
            metrics.duration.merge(durations.map { ([$0.key], $0.value) })
            durations.removeAll(keepingCapacity: true)
        }
        if !phases.isEmpty {
            metrics.phases.merge(phases.map { ([$0.key], $0.value) })
            phases.removeAll(keepingCapacity: true)
        }
        for (pair, count) in queries { metrics.queries.increment(pair, by: Double(count)) }
        queries.removeAll(keepingCapacity: true)
        for (relation, count) in scans { metrics.sequentialScans.increment([relation], by: Double(count)) }
        scans.removeAll(keepingCapacity: true)
        for (route, totals) in routeTotals {
            metrics.routeStatements.increment([route], by: Double(totals.statements))
            metrics.routeSeconds.increment([route], by: totals.seconds)
        }
        routeTotals.removeAll(keepingCapacity: true)
        let routeOverflow = routeLabels.takeOverflowCount()
        if routeOverflow > 0 { metrics.labelOverflow.increment(["route"], by: Double(routeOverflow)) }
        let pairOverflow = pairs.takeOverflowCount()
        let relationOverflow = relations.takeOverflowCount()
        if pairOverflow > 0 { metrics.labelOverflow.increment(["datname_user"], by: Double(pairOverflow)) }
        if relationOverflow > 0 { metrics.labelOverflow.increment(["relation"], by: Double(relationOverflow)) }
        let counts = parser.counts
        metrics.log.countLines(
            parsed: counts.parsed - reportedCounts.parsed, unparsed: counts.unparsed - reportedCounts.unparsed, oversized: oversizedLines)
        reportedCounts = counts
        if aggregator.evictions > reportedEvictions {
            metrics.evictions.increment(by: Double(aggregator.evictions - reportedEvictions))
            reportedEvictions = aggregator.evictions
        }
    }
}
