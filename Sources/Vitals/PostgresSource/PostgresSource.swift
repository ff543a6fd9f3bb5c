import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Watches one Postgres server (one DSN): collects on an interval, decoupled from scrapes, and
/// publishes one whole snapshot per pass, so a scrape never waits on Postgres.
///
/// How it runs is the runtime's (``CollectionRunner``): passes on a worker thread of the
/// target's own, a deadline, backoff, health and logs. This type supplies the pass
/// (``PostgresPasses``) and its down snapshot.
public final class PostgresSource: VitalsSource {
    public let name = "postgres"
    public let status: SourceStatus
    private let info: PostgresConnectionInfo
    private let interval: Duration
    private let logger: Logger
    private let runner: CollectionRunner
    private let passes: PostgresPasses

    /// Every server-wide collector, in the order they run (the statements query, the costliest,
    /// last among the fast ones). Each says its cadence and its metrics. Locks come first: a pass's
    /// statements share one transaction (one pipeline, ``PostgresReplay``), whose statements keep
    /// their AccessShareLocks to its end, so only first does pg_locks see what it sees alone.
    static let collectors: [any PostgresCollector] = [
        LocksCollector(), PostmasterCollector(), StatDatabaseCollector(), StatActivityCollector(), LongRunningTransactionsCollector(),
        StatBgwriterCollector(), StatIOCollector(), ReplicationCollector(), StatReplicationCollector(), ReplicationSlotsCollector(),
        WALCollector(), StatArchiverCollector(), StatProgressVacuumCollector(), StatStatementsCollector(), SettingsCollector(), DatabaseCollector(),
        DatabaseWraparoundCollector(),
    ]

    /// The collectors of one cadence that are switched on.
    static func collectors(_ cadence: PostgresCadence, disabled: Set<PostgresCollectorName>) -> [any PostgresCollector] {
        collectors.filter { $0.cadence == cadence && !disabled.contains($0.name) }
    }

    /// - Parameter hypopgMetrics: given when `--findings.hypopg` is on.
    init(
        configuration: PostgresConfiguration, info: PostgresConnectionInfo, statements: PostgresStatementsBoard, context: SourceContext,
        hypopgMetrics: HypopgMetrics? = nil
    ) {
        self.info = info
        self.interval = configuration.interval
        self.logger = context.logger
        let status = context.health.makeStatus(source: "postgres", instance: info.targetLabel)
        self.status = status
        let hypopg = hypopgMetrics.map { HypopgEstimates(evidence: context.evidence, metrics: $0, instance: info.targetLabel) }
        let passes = PostgresPasses(configuration: configuration, info: info, statements: statements, hypopg: hypopg)
        self.passes = passes
        self.runner = CollectionRunner(
            source: passes,
            settings: .init(interval: configuration.interval, timeout: configuration.timeout),
            status: status,
            publisher: context.registry.makePublisher(),
            downFamilies: passes.downFamilies,
            logger: context.logger,
            words: .init(down: "postgres down", up: "postgres up", partFailed: "postgres collector failed", partKey: "collector"),
            metadata: ["target": "\(info.targetLabel)"])
    }

    /// Takes the connection string re-read on SIGHUP; the next pass reconnects with it.
    func reload(_ info: PostgresConnectionInfo) {
        passes.reload(info)
    }

    public func run() async throws {
        logger.info("postgres source started", metadata: ["target": "\(info.targetLabel)", "interval": "\(DurationParser.format(interval))"])
        // Nothing is published before the first pass: pg_up 0 would claim a failure not yet seen.
        await cancelWhenGracefulShutdown {
            await self.runner.run()
        }
        logger.info("postgres source stopped", metadata: ["target": "\(info.targetLabel)"])
    }
}

/// One target's passes: the fast collectors every pass, the slow ones (settings, sizes, per-table
/// statistics) when their interval has passed, merged into one publication.
///
/// Everything here runs on the target's worker thread, one pass at a time, so the mutable state
/// needs no lock; only ``abort()`` comes from elsewhere, through the atomic cancellation flag.
final class PostgresPasses: CollectingSource, @unchecked Sendable {
    private let worker: PostgresTargetWorker
    private let cancellation = PostgresCancellation()
    private var info: PostgresConnectionInfo
    /// Set from the SIGHUP handler's thread, taken by the next pass on the worker thread.
    private let reloaded = NIOLockedValueBox<PostgresConnectionInfo?>(nil)
    private let statements: PostgresStatementsBoard
    private let slowInterval: Duration
    private var publication: PostgresPublication
    private var nextSlow = ContinuousClock.now
    private var statementsSchedule: StatementsReadSchedule
    private var redacted = RedactedTexts()
    /// `--findings.hypopg`; nil when off.
    private let hypopg: HypopgEstimates?
    /// `pg_up 0` and every collector failed: what a scrape sees while a pass overruns its deadline.
    let downFamilies: [FamilySnapshot]

    init(configuration: PostgresConfiguration, info: PostgresConnectionInfo, statements: PostgresStatementsBoard, hypopg: HypopgEstimates? = nil) {
        self.hypopg = hypopg
        let target = configuration.targets.count > 1 ? info.targetLabel : nil
        let disabled = configuration.disabledCollectors
        let enabled = PostgresCollectorName.allCases.filter { !disabled.contains($0) }
        self.info = info
        self.statements = statements
        self.slowInterval = configuration.slowInterval
        self.statementsSchedule = StatementsReadSchedule(every: configuration.statementsEveryPasses)
        self.publication = PostgresPublication(target: target, enabled: enabled)
        var down = PostgresPublication(target: target, enabled: enabled)
        down.markDown()
        self.downFamilies = down.snapshot()
        self.worker = PostgresTargetWorker(
            settings: .init(
                info: info, timeout: configuration.timeout, statementTimeout: configuration.statementTimeout,
                lockTimeout: configuration.lockTimeout,
                context: PostgresCollectionContext(
                    serverVersion: 0, databases: configuration.databases, statementsLimit: configuration.statementsLimit,
                    queryLength: configuration.queryLength, tablesLimit: configuration.tablesLimit),
                fastCollectors: PostgresSource.collectors(.fast, disabled: disabled),
                slowCollectors: PostgresSource.collectors(.slow, disabled: disabled),
                tablesEnabled: !disabled.contains(.statUserTables), pipeline: configuration.pipeline),
            cancellation: cancellation)
    }

    func reload(_ info: PostgresConnectionInfo) {
        reloaded.withLockedValue { $0 = info }
    }

    func collect(_ pass: CollectionPass) -> CollectedPass {
        cancellation.reset()
        if let new = reloaded.withLockedValue({ value in defer { value = nil }; return value }), new.dsn != info.dsn {
            info = new
            worker.replace(new)
            statementsSchedule.readOnNextPass()
            hypopg?.forgetExtension()
        }
        let passStart = ContinuousClock.now
        let fast = worker.fastPass(pass, readingStatements: statementsSchedule.isDue())
        publication.apply(fast, isFast: true)
        if publication.isUp, ContinuousClock.now >= nextSlow, !cancellation.isCancelled {
            // Right after the fast pass, so the slow collectors see the same connection state.
            publication.apply(worker.slowPass(pass), isFast: false)
            nextSlow = passStart + slowInterval
        }
        if !publication.isUp {
            // Down: the slow collectors and the statements run again as soon as the server is back.
            nextSlow = ContinuousClock.now
            statementsSchedule.readOnNextPass()
        }
        // Last, so an estimate never delays the metrics of the pass.
        let hypopgFailure = publication.isUp && !cancellation.isCancelled ? hypopg?.run(on: worker, pass: pass) : nil
        // Utility statements are not normalised by pg_stat_statements: `ALTER ROLE … PASSWORD '…'`
        // keeps its literal. Texts are scrubbed here, the one place they leave the source.
        let statementsSetup = publication.failures().first { $0.0 == .statStatements && $0.1.isMissingSetup }?.1
        statements.update(
            target: info.targetLabel, entries: redacted.redact(publication.statements, with: info.redactor),
            unavailable: statementsSetup?.description)
        var passOutcome = outcome(of: fast)
        if let hypopgFailure, passOutcome.failure == nil {
            passOutcome.partFailures["hypopg"] = SourceFailure(hypopgFailure.sourceReason, message: hypopgFailure.description)
        }
        return CollectedPass(families: publication.snapshot(), outcome: passOutcome)
    }

    func abort() {
        cancellation.cancel()
    }

    /// Runs `body` on the session the passes use, when it is open: for tests that look at what a
    /// pass left behind in it.
    func withMainConnectionForTesting<Result>(_ body: (PostgresConnection) -> Result) -> Result? {
        worker.withMainConnection(pass: CollectionPass(deadline: .now + .seconds(5))) { connection, _ in (body(connection), true) }
    }

    func close() {
        worker.close()
        statements.update(target: info.targetLabel, entries: [], unavailable: nil)
    }

    private func outcome(of fast: PostgresPassResult) -> PassOutcome {
        let duration = Duration.seconds(fast.duration)
        guard publication.isUp else {
            let error = fast.connectionError ?? PostgresError(.timeout, detail: "collection pass overran its deadline")
            return PassOutcome(failure: SourceFailure(error.reason, message: error.description, detail: error.detail), duration: duration)
        }
        var parts: [String: SourceFailure] = [:]
        for (name, error) in publication.failures() {
            parts[name.rawValue] = SourceFailure(error.reason, message: "collector \(name.rawValue): \(error.description)", detail: error.detail)
        }
        return PassOutcome(
            partFailures: parts, upDetails: ["version": PostgresPublication.shortVersion(publication.serverVersion)], duration: duration)
    }

    /// The normalised statement texts of the last pass. Texts rarely change between passes, and
    /// normalising one lexes it, so each text is normalised once while it stays in the top list.
    ///
    /// Found by the statement's labels, not by its text: a text is up to `--postgres.query-length`
    /// characters, hashed twice per statement and pass. The text it was normalised from is kept
    /// and compared (the same storage from pass to pass, ``PostgresStatementTexts``, so one step),
    /// and a statement whose text changed is normalised again.
    struct RedactedTexts {
        struct Key: Hashable {
            let queryid: String
            let datname: String
            let user: String
        }

        private var previous: [Key: (source: String, redacted: String)] = [:]

        mutating func redact(_ entries: [PostgresStatementEntry], with redactor: PostgresRedactor) -> [PostgresStatementEntry] {
            var current: [Key: (source: String, redacted: String)] = [:]
            current.reserveCapacity(entries.count)
            let result = entries.map { entry in
                var entry = entry
                let key = Key(queryid: entry.queryid, datname: entry.datname, user: entry.user)
                let known = previous[key].flatMap { $0.source == entry.query ? $0.redacted : nil }
                let text = known ?? redactor.redactStatement(entry.query)
                current[key] = (entry.query, text)
                entry.query = text
                return entry
            }
            previous = current
            return result
        }
    }
}

/// The statements of every target, for `GET /statements`.
final class PostgresStatementsBoard: Sendable {
    private let entries = NIOLockedValueBox<[String: [PostgresStatementEntry]]>([:])
    /// Per target, why there are no statements (pg_stat_statements not set up), with the fix.
    private let unavailable = NIOLockedValueBox<[String: String]>([:])

    func update(target: String, entries new: [PostgresStatementEntry], unavailable reason: String? = nil) {
        entries.withLockedValue { $0[target] = new }
        unavailable.withLockedValue { $0[target] = reason }
    }

    var unavailableTargets: [(target: String, message: String)] {
        unavailable.withLockedValue { $0 }.map { ($0.key, $0.value) }.sorted { $0.target < $1.target }
    }

    var all: [PostgresStatementEntry] {
        entries.withLockedValue { $0.values.flatMap { $0 } }.sorted { $0.totalSeconds > $1.totalSeconds }
    }

    func renderJSON() -> [UInt8] {
        var out = "{\"statements\":["
        for (index, entry) in all.enumerated() {
            if index > 0 { out += "," }
            out += "{\"calls\":\(JSONText.number(entry.calls))"
            out += ",\"datname\":\(JSONText.quote(entry.datname))"
            out += ",\"mean_seconds\":\(JSONText.number(entry.meanSeconds))"
            out += ",\"query\":\(JSONText.quote(entry.query))"
            out += ",\"queryid\":\(JSONText.quote(entry.queryid))"
            out += ",\"rows\":\(JSONText.number(entry.rows))"
            if let target = entry.target { out += ",\"target\":\(JSONText.quote(target))" }
            out += ",\"total_seconds\":\(JSONText.number(entry.totalSeconds))"
            out += ",\"user\":\(JSONText.quote(entry.user))}"
        }
        out += "]"
        // Only when a target lacks the extension, so an empty list is never mistaken for a quiet server.
        let missing = unavailableTargets
        if !missing.isEmpty {
            out += ",\"unavailable\":["
            out += missing.map { "{\"message\":\(JSONText.quote($0.message)),\"target\":\(JSONText.quote($0.target))}" }.joined(separator: ",")
            out += "]"
        }
        return Array((out + "}\n").utf8)
    }
}

public enum PostgresSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { PostgresConfiguration.keys + ProbeConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try PostgresConfiguration(values: values)
        _ = try ProbeConfiguration(values: values)
        if let path = values.string(ProbeAuthModule.fileKey), !path.isEmpty { _ = try ProbeAuthModule.load(path: path) }
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try PostgresConfiguration(values: configuration)
        let probeService = try makeProbe(configuration: configuration, settings: settings, context: context)
        guard !settings.targets.isEmpty else { return probeService.map { [$0] } ?? [] }
        let board = PostgresStatementsBoard()
        if !settings.disabledCollectors.contains(.statStatements) {
            context.endpoints.register(path: "/statements", summary: "pg_stat_statements top statements with their normalised text") { _ in
                SourceEndpoints.Response(body: String(decoding: board.renderJSON(), as: UTF8.self))
            }
        }
        let hypopg = settings.hypopgEnabled ? try HypopgMetrics(registry: context.registry) : nil
        let sources = settings.targets.map {
            PostgresSource(configuration: settings, info: $0, statements: board, context: context, hypopgMetrics: hypopg)
        }
        // A file that cannot be read throws: the old credentials stay, and the reload gauge says so.
        context.reloads.onReload("postgres.dsn-file") { try reloadCredentials(configuration: configuration, sources: sources) }
        return sources + (probeService.map { [$0] } ?? [])
    }

    /// `GET /probe` (on unless `--probe.enabled=false`), with or without configured targets.
    static func makeProbe(configuration: ConfigurationValues, settings: PostgresConfiguration, context: SourceContext) throws -> ProbeReaperService<PostgresProbe>? {
        let probeSettings = try ProbeConfiguration(values: configuration)
        guard probeSettings.enabled else { return nil }
        let path = configuration.string(ProbeAuthModule.fileKey).flatMap { $0.isEmpty ? nil : $0 }
        let modules = try path.map { path throws(ConfigurationError) in try ProbeAuthModule.load(path: path) } ?? [:]
        let probe = PostgresProbe(
            configuration: settings, probe: probeSettings, modules: modules, logger: context.logger,
            metrics: try ProbeMetrics(registry: context.registry, endpoint: "/probe"))
        return probe.serve(
            at: "/probe", summary: "one Postgres target's metrics: /probe?target=host:port/db&auth_module=NAME (postgres_exporter's multi-target endpoint)",
            serviceName: "postgres_probe", modulesFile: path.map { (ProbeAuthModule.fileKey, $0) }, load: { path throws(ConfigurationError) in try ProbeAuthModule.load(path: path) },
            context: context)
    }

    /// Re-reads `DATA_SOURCE_NAME_FILE` (or `--postgres.dsn-file`) and hands each running target its
    /// new connection string. Targets are matched by `host:port/db`: adding or removing one needs a restart.
    static func reloadCredentials(configuration: ConfigurationValues, sources: [PostgresSource]) throws {
        let fresh = try PostgresConfiguration(values: configuration)
        for source in sources {
            if let info = fresh.targets.first(where: { $0.targetLabel == source.status.instance }) { source.reload(info) }
        }
    }
}
