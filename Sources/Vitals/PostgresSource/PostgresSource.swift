import Foundation
import Logging
import NIOPosix
import ServiceLifecycle

/// Watches one Postgres server (one DSN): collects on an interval, decoupled from scrapes, and
/// publishes one whole snapshot per pass, so a scrape never waits on Postgres.
///
/// Blocking libpq work runs on the target's own single-thread pool, started in ``run()`` and shut
/// down when it returns: a hung server can never starve the event loops or the shared pool. The
/// worker bounds every step with a deadline; a watchdog here is the backstop — if a pass is not
/// back within the deadline (plus a small grace), `pg_up 0` is published with reason `timeout`
/// while the pass is still unwinding.
public final class PostgresSource: VitalsSource {
    public let name = "postgres"
    public let status: SourceStatus
    private let configuration: PostgresConfiguration
    private let info: PostgresConnectionInfo
    private let publisher: SnapshotPublisher
    private let statements: PostgresStatementsBoard
    private let logger: Logger
    private let target: String?
    private let enabled: [PostgresCollectorName]

    /// The fast collectors, in the order they run (the statements query, the costliest, last).
    static func fastCollectors(disabled: Set<PostgresCollectorName>) -> [any PostgresCollector] {
        let all: [any PostgresCollector] = [
            PostmasterCollector(), StatDatabaseCollector(), StatActivityCollector(), LongRunningTransactionsCollector(), LocksCollector(),
            StatBgwriterCollector(), ReplicationCollector(), StatReplicationCollector(), ReplicationSlotsCollector(), WALCollector(),
            StatStatementsCollector(),
        ]
        return all.filter { !disabled.contains($0.name) }
    }

    static func slowCollectors(disabled: Set<PostgresCollectorName>) -> [any PostgresCollector] {
        let all: [any PostgresCollector] = [SettingsCollector(), DatabaseCollector()]
        return all.filter { !disabled.contains($0.name) }
    }

    init(configuration: PostgresConfiguration, info: PostgresConnectionInfo, statements: PostgresStatementsBoard, context: SourceContext) {
        self.configuration = configuration
        self.info = info
        self.target = configuration.targets.count > 1 ? info.targetLabel : nil
        self.status = context.health.makeStatus(source: "postgres", instance: info.targetLabel)
        self.publisher = context.registry.makePublisher()
        self.statements = statements
        self.logger = context.logger
        self.enabled = PostgresCollectorName.allCases.filter { !configuration.disabledCollectors.contains($0) }
    }

    public func run() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let cancellation = PostgresCancellation()
        let disabled = configuration.disabledCollectors
        let worker = PostgresTargetWorker(
            settings: .init(
                info: info, target: target, timeout: configuration.timeout, statementTimeout: configuration.statementTimeout,
                lockTimeout: configuration.lockTimeout,
                context: PostgresCollectionContext(
                    serverVersion: 0, databases: configuration.databases, statementsLimit: configuration.statementsLimit,
                    queryLength: configuration.queryLength, tablesLimit: configuration.tablesLimit),
                fastCollectors: Self.fastCollectors(disabled: disabled), slowCollectors: Self.slowCollectors(disabled: disabled),
                tablesEnabled: !disabled.contains(.statUserTables)),
            cancellation: cancellation)
        logger.info("postgres source started", metadata: ["target": "\(info.targetLabel)", "interval": "\(DurationParser.format(configuration.interval))"])
        // Nothing is published before the first pass: pg_up 0 would claim a failure not yet seen.

        await withTaskCancellationHandler {
            await cancelWhenGracefulShutdown {
                await self.loop(worker: worker, pool: pool, cancellation: cancellation)
            }
        } onCancel: {
            cancellation.cancel()
        }
        cancellation.cancel()
        _ = try? await pool.runIfActive { worker.close() }
        try? await pool.shutdownGracefully()
        publisher.clear()
        statements.update(target: info.targetLabel, entries: [])
        logger.info("postgres source stopped", metadata: ["target": "\(info.targetLabel)"])
    }

    private func loop(worker: PostgresTargetWorker, pool: NIOThreadPool, cancellation: PostgresCancellation) async {
        var publication = PostgresPublication(target: target, enabled: enabled)
        var backoff = PostgresBackoff(interval: configuration.interval)
        var nextSlow = ContinuousClock.now
        var reported = ReportedState()
        var redacted = RedactedTexts()
        while !Task.isCancelled {
            let passStart = ContinuousClock.now
            let wasUp = publication.isUp
            guard let fast = await runWatched(pool: pool, cancellation: cancellation, job: { worker.fastPass() }, publication: &publication)
            else { break }
            publication.apply(fast, isFast: true)
            if publication.isUp, ContinuousClock.now >= nextSlow, !Task.isCancelled {
                // Right after the fast pass, so the slow collectors see the same connection state.
                if let slow = await runWatched(
                    pool: pool, cancellation: cancellation, job: { worker.slowPass() }, publication: &publication, slow: true)
                {
                    publication.apply(slow, isFast: false)
                }
                nextSlow = passStart + configuration.slowInterval
            }
            // Status first: a scrape that sees pg_up 0 also sees the error counted.
            report(publication, fast: fast, wasUp: wasUp, reported: &reported)
            publish(publication, redacted: &redacted)
            if !publication.isUp {
                // Down: the slow collectors run again as soon as the server is back.
                nextSlow = ContinuousClock.now
            }
            let delay = publication.isUp ? backoff.succeeded() : backoff.failed()
            try? await Task.sleep(until: passStart + delay, clock: .continuous)
        }
    }

    /// Awaits a pass on the worker thread; if it is not back by the deadline plus a grace period,
    /// publishes the target down (reason `timeout`) and keeps waiting for the pass to unwind —
    /// a second pass never starts while one is running, so connections cannot pile up.
    /// Returns nil when the pool is shutting down.
    private func runWatched(
        pool: NIOThreadPool, cancellation: PostgresCancellation, job: @escaping @Sendable () -> PostgresPassResult,
        publication: inout PostgresPublication, slow: Bool = false
    ) async -> PostgresPassResult? {
        enum Event: Sendable {
            case finished(PostgresPassResult?)
            case overrun
        }
        // The slow pass visits databases one by one, each with its own deadline; only the fast
        // pass decides pg_up, so only it has a watchdog tied to the deadline.
        let limit = slow ? nil : configuration.timeout + .milliseconds(500)
        return await withTaskGroup(of: Event.self) { group in
            group.addTask {
                // Shutdown interrupts the pass at once (the worker polls the flag) instead of
                // letting it run to its deadline.
                await withTaskCancellationHandler {
                    .finished(try? await pool.runIfActive(job))
                } onCancel: {
                    cancellation.cancel()
                }
            }
            if let limit {
                group.addTask {
                    try? await Task.sleep(for: limit)
                    return .overrun
                }
            }
            var result: PostgresPassResult?
            while let event = await group.next() {
                switch event {
                case .finished(let pass):
                    group.cancelAll()
                    result = pass
                    return result
                case .overrun:
                    guard !Task.isCancelled else { continue }
                    let error = PostgresError(.timeout, detail: "collection pass overran its deadline")
                    if publication.isUp || !publication.hasRun {
                        logger.warning("postgres pass overran its deadline", metadata: ["target": "\(info.targetLabel)"])
                    }
                    publication.markDown()
                    status.recordError(error.reason, message: error.description, down: true)
                    publish(publication)
                }
            }
            return result
        }
    }

    private func publish(_ publication: PostgresPublication) {
        var redacted = RedactedTexts()
        publish(publication, redacted: &redacted)
    }

    private func publish(_ publication: PostgresPublication, redacted: inout RedactedTexts) {
        publisher.publish(publication.snapshot())
        // Utility statements are not normalised by pg_stat_statements: `ALTER ROLE … PASSWORD '…'`
        // keeps its literal. Texts are scrubbed of that pattern and of this target's own password
        // here, the one place they leave the source.
        statements.update(target: info.targetLabel, entries: redacted.redact(publication.statements, with: info.redactor))
    }

    /// The redacted statement texts of the last pass. Texts rarely change between passes, and
    /// redacting one that mentions a password runs regexes, a visible share of a pass's CPU.
    struct RedactedTexts {
        private var previous: [String: String] = [:]

        mutating func redact(_ entries: [PostgresStatementEntry], with redactor: PostgresRedactor) -> [PostgresStatementEntry] {
            var current: [String: String] = [:]
            current.reserveCapacity(entries.count)
            let result = entries.map { entry in
                var entry = entry
                let text = current[entry.query] ?? previous[entry.query] ?? redactor.redactStatement(entry.query)
                current[entry.query] = text
                entry.query = text
                return entry
            }
            previous = current
            return result
        }
    }

    /// What has been logged already: logs say when something changes, so a down server or a
    /// collector failing every pass does not flood them.
    struct ReportedState {
        var downReason: SourceErrorReason?
        var collectorFailures: [PostgresCollectorName: SourceErrorReason] = [:]
    }

    private func report(_ publication: PostgresPublication, fast: PostgresPassResult, wasUp: Bool, reported: inout ReportedState) {
        if !publication.isUp {
            let error = fast.connectionError ?? PostgresError(.timeout, detail: "collection pass overran its deadline")
            status.recordError(error.reason, message: error.description, down: true, duration: fast.duration)
            if reported.downReason != error.reason {
                // `detail` is libpq's text with the password removed; labels and /ready never see it.
                logger.warning(
                    "postgres down", metadata: ["target": "\(info.targetLabel)", "reason": "\(error.reason.rawValue)", "error": "\(error.detail.isEmpty ? error.description : error.detail)"])
                reported.downReason = error.reason
            }
            reported.collectorFailures = [:]
            return
        }
        if reported.downReason != nil || !wasUp {
            logger.info("postgres up", metadata: ["target": "\(info.targetLabel)", "version": "\(PostgresPublication.shortVersion(publication.serverVersion))"])
            reported.downReason = nil
        }
        let failures = publication.failures()
        for (name, error) in failures where reported.collectorFailures[name] != error.reason {
            logger.warning(
                "postgres collector failed",
                metadata: ["target": "\(info.targetLabel)", "collector": "\(name.rawValue)", "reason": "\(error.reason.rawValue)", "error": "\(error.detail.isEmpty ? error.description : error.detail)"])
            reported.collectorFailures[name] = error.reason
        }
        reported.collectorFailures = reported.collectorFailures.filter { name, _ in failures.contains { $0.0 == name } }
        if let (name, error) = failures.first {
            status.recordError(error.reason, message: "collector \(name.rawValue): \(error.description)", down: false, duration: fast.duration)
            status.markUp()
        } else {
            status.recordSuccess(duration: fast.duration)
        }
    }
}

/// When to try again: every interval while up; after failures, sooner at first (1 s, 2 s, 4 s…)
/// and never later than one interval, so a restarted server is seen by the next interval and a
/// down one gets at most one connection attempt per interval once the backoff is spent.
struct PostgresBackoff: Sendable {
    let interval: Duration
    private(set) var failures = 0

    init(interval: Duration) { self.interval = interval }

    mutating func succeeded() -> Duration {
        failures = 0
        return interval
    }

    mutating func failed() -> Duration {
        failures += 1
        let exponential = Duration.seconds(1) * (1 << min(failures - 1, 16))
        return min(interval, exponential)
    }
}

/// The statements of every target, for `GET /statements`.
final class PostgresStatementsBoard: Sendable {
    private let entries = Locked<[String: [PostgresStatementEntry]]>([:])

    func update(target: String, entries new: [PostgresStatementEntry]) {
        entries.withLock { $0[target] = new }
    }

    var all: [PostgresStatementEntry] {
        entries.withLock { $0.values.flatMap { $0 } }.sorted { $0.totalSeconds > $1.totalSeconds }
    }

    func renderJSON() -> [UInt8] {
        struct Body: Encodable {
            var statements: [PostgresStatementEntry]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(Body(statements: all))) ?? Data("{\"statements\":[]}".utf8)) + [UInt8(ascii: "\n")]
    }
}

public enum PostgresSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { PostgresConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try PostgresConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try PostgresConfiguration(values: configuration)
        guard !settings.targets.isEmpty else { return [] }
        let board = PostgresStatementsBoard()
        if !settings.disabledCollectors.contains(.statStatements) {
            context.endpoints.register(path: "/statements", summary: "pg_stat_statements top statements with their normalised text") { _ in
                SourceEndpoints.Response(body: String(decoding: board.renderJSON(), as: UTF8.self))
            }
        }
        return settings.targets.map { PostgresSource(configuration: settings, info: $0, statements: board, context: context) }
    }
}
