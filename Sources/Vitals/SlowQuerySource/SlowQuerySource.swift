#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOPosix
import ServiceLifecycle

/// The slow-query source's settings, validated.
public struct SlowQueryConfiguration: Sendable {
    public enum Output: Sendable, Equatable {
        /// vitals' own logger (its format is `--log.format`).
        case log
        case file(String)
    }

    /// What this log feeds is read every 15 s: Prometheus's usual scrape interval, and the findings
    /// and the page's frames. Reading it more often only wakes the thread more: a slow statement
    /// every few seconds cost two wake-ups each at 1 s (BENCHMARKS.md, "Cost to run").
    public static let defaultPollInterval: Duration = .seconds(15)

    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "slow-query.log-path", .strings,
            help: "Postgres server log to tail (log_min_duration_statement, auto_explain); repeatable; globs allowed. The source is off without it."),
        ConfigurationKey("slow-query.log-format", .string, default: .string("stderr"), help: "The log's format (log_destination): stderr, csvlog or jsonlog."),
        ConfigurationKey(
            "slow-query.log-line-prefix", .string, default: .string(LogLinePrefix.defaultPrefix),
            help: "stderr format: the server's log_line_prefix, e.g. '%m [%p] %q%u@%d '."),
        ConfigurationKey(
            "slow-query.threshold", .duration, help: "Ignore statements faster than this (default: every statement the log reports)."),
        ConfigurationKey(
            "slow-query.top-k", .int, default: .int(50),
            help: "Fingerprints with their own pg_slow_query_duration_seconds series (most total time); the rest share fingerprint=\"__other__\"."),
        ConfigurationKey("slow-query.max-fingerprints", .int, default: .int(5000), help: "Distinct normalised statements tracked for /slow-queries."),
        ConfigurationKey(
            "slow-query.rerank-interval", .duration, default: .duration(.seconds(60)), help: "How often the top-K fingerprints are re-ranked."),
        ConfigurationKey(
            "slow-query.output", .string, default: .string("none"),
            help: "Where each slow query's structured line goes: 'none', a file path, or 'log' (vitals' own log, which they can drown)."),
        ConfigurationKey("slow-query.output-format", .string, default: .string("json"), help: "Format of --slow-query.output lines in a file: json or logfmt."),
        ConfigurationKey(
            "slow-query.max-statement-length", .int, default: .int(StatementNormalizer.defaultMaxLength),
            help: "Bytes of normalised statement kept and shown; the fingerprint covers the whole statement."),
        ConfigurationKey(
            "slow-query.max-record-length", .int, default: .int(1 << 20), help: "Longest log record (statement plus plan) read, in bytes; longer ones are cut."),
        ConfigurationKey(
            "slow-query.max-label-values", .int, default: .int(100),
            help: "Distinct datname×user pairs and relations kept as label values; more count under \"__other__\"."),
        ConfigurationKey(
            "slow-query.from-beginning", .bool, default: .bool(false), help: "Read log files present at start from their beginning instead of their end."),
        ConfigurationKey(
            "slow-query.poll-interval", .duration, default: .duration(defaultPollInterval),
            help: "How often a log that is being written is read, and how long after a lone write it is read (1s for a near-live --slow-query.output); an idle one is read when inotify reports a change, or after 5s, growing to 1m while it stays quiet."),
    ]

    public var paths: [String]
    public var format: PostgresLogFormat
    public var prefix: LogLinePrefix
    public var thresholdSeconds: Double
    public var topK: Int
    public var maxFingerprints: Int
    public var rerankInterval: Duration
    public var output: Output?
    public var outputFormat: SlowQueryLogLine.Format
    public var maxStatementLength: Int
    public var maxRecordLength: Int
    public var maxLabelValues: Int
    public var fromBeginning: Bool
    public var pollInterval: Duration
    /// N+1 detection (the findings' settings); nil when findings are off.
    public var nPlusOne: NPlusOneDetector.Settings?
    /// The timing log's route cap, which also bounds the sqlcommenter routes.
    public var maxRoutes: Int
    /// `--findings.hypopg`: keep one statement per index candidate, in memory only.
    public var keepStatementSamples = false

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        paths = values.strings("slow-query.log-path")
        let formatName = values.string("slow-query.log-format") ?? "stderr"
        guard let format = PostgresLogFormat(rawValue: formatName) else {
            throw ConfigurationError(
                .invalidValue, key: "slow-query.log-format",
                "'\(formatName)' is not one of \(PostgresLogFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.format = format
        let prefix = values.string("slow-query.log-line-prefix") ?? LogLinePrefix.defaultPrefix
        self.prefix = LogLinePrefix(prefix)
        thresholdSeconds = values.duration("slow-query.threshold")?.seconds ?? 0
        topK = values.int("slow-query.top-k") ?? 50
        guard (1...1000).contains(topK) else { throw ConfigurationError(.invalidValue, key: "slow-query.top-k", "must be between 1 and 1000") }
        maxFingerprints = values.int("slow-query.max-fingerprints") ?? 5000
        guard (2 * topK...1_000_000).contains(maxFingerprints) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.max-fingerprints", "must be between twice --slow-query.top-k and 1000000")
        }
        rerankInterval = values.duration("slow-query.rerank-interval") ?? .seconds(60)
        guard rerankInterval >= .seconds(1) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.rerank-interval", "must be at least 1s")
        }
        // Off by default: on a busy server a line per statement (hundreds a minute) buried vitals'
        // own messages in journalctl; the metrics and /slow-queries carry the same facts.
        switch values.string("slow-query.output") ?? "none" {
        case "log": output = .log
        case "none", "": output = nil
        case let path: output = .file(path)
        }
        let outputFormatName = values.string("slow-query.output-format") ?? "json"
        guard let outputFormat = SlowQueryLogLine.Format(rawValue: outputFormatName) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.output-format", "'\(outputFormatName)' is not one of json, logfmt")
        }
        self.outputFormat = outputFormat
        maxStatementLength = values.int("slow-query.max-statement-length") ?? StatementNormalizer.defaultMaxLength
        guard (64...1_048_576).contains(maxStatementLength) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.max-statement-length", "must be between 64 and 1048576")
        }
        maxRecordLength = values.int("slow-query.max-record-length") ?? 1 << 20
        guard (1024...67_108_864).contains(maxRecordLength) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.max-record-length", "must be between 1024 and 67108864")
        }
        maxLabelValues = values.int("slow-query.max-label-values") ?? 100
        guard (1...10_000).contains(maxLabelValues) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.max-label-values", "must be between 1 and 10000")
        }
        fromBeginning = values.bool("slow-query.from-beginning")
        // The findings' N+1 detection reads this log; its settings are the findings' keys.
        let findings = try FindingsConfiguration(values: values)
        nPlusOne = findings.enabled ? findings.nPlusOne : nil
        keepStatementSamples = findings.enabled && findings.hypopg
        maxRoutes = try TimingLogConfiguration(values: values).maxRoutes
        pollInterval = values.duration("slow-query.poll-interval") ?? Self.defaultPollInterval
        guard pollInterval >= .milliseconds(10) else {
            throw ConfigurationError(.invalidValue, key: "slow-query.poll-interval", "must be at least 10ms")
        }
    }

    var ingesterSettings: SlowQueryIngester.Settings {
        SlowQueryIngester.Settings(
            format: format, prefix: prefix, thresholdSeconds: thresholdSeconds, maxRecordLength: maxRecordLength,
            maxStatementLength: maxStatementLength,
            aggregator: .init(topK: topK, maxFingerprints: maxFingerprints, rerankInterval: rerankInterval.seconds), maxLabelValues: maxLabelValues,
            nPlusOne: nPlusOne, maxRoutes: maxRoutes, keepStatementSamples: keepStatementSamples)
    }
}

/// Tails the Postgres server log and turns slow statements into per-fingerprint metrics,
/// `/slow-queries` and structured log lines.
///
/// Reading and parsing are blocking file work, so polls run on a thread of the source's own, never
/// on an event loop; polls never overlap because that thread waits the interval after each one.
public final class SlowQuerySource: VitalsSource {
    public let name = "slow_query"
    public let status: SourceStatus
    private let configuration: SlowQueryConfiguration
    private let pipeline: Pipeline
    private let board = SlowQueryBoard()
    static let statementsForThePage = 10
    private let logger: Logger
    private let evidence: FindingEvidence

    public init(configuration: SlowQueryConfiguration, context: SourceContext) throws {
        self.configuration = configuration
        self.status = context.health.makeStatus(source: "slow_query")
        self.logger = context.logger
        self.evidence = context.evidence
        let metrics = try SlowQueryMetrics(registry: context.registry)
        self.pipeline = Pipeline(configuration: configuration, metrics: metrics, logger: context.logger)
        let board = self.board
        context.endpoints.register(
            path: "/slow-queries",
            summary: "Slowest statements from the Postgres log, by total time (?order=count for most frequent, ?limit=N)"
        ) { query in
            let (status, body) = board.current.response(query: query)
            return SourceEndpoints.Response(status: status, body: body)
        }
    }

    public func run() async throws {
        logger.info(
            "slow-query source started",
            metadata: ["paths": "\(configuration.paths.joined(separator: ","))", "format": "\(configuration.format.rawValue)"])
        await cancelWhenGracefulShutdown {
            let watch = LogChangeWatch(patterns: self.configuration.paths)
            await WorkerThread.repeatEvery(self.configuration.pollInterval, watch: watch) { kind in
                let health = self.pollOnce(kind)
                watch?.follow(self.pipeline.followedFiles, hasRotatedFiles: self.pipeline.hasRotatedFiles)
                return health.bytesRead > 0
            }
        }
        pipeline.close()
    }

    /// Reads whole logs into `registry`, as `vitals replay` does; the last bursts complete at the end.
    /// What a replayed log gave besides its metrics: the findings' evidence and the time it covers.
    struct ReplayedLog {
        var nPlusOne: [NPlusOneKey: NPlusOneTotals]
        var indexCandidates: [IndexCandidateKey: IndexCandidateTotals]
        var span: (first: Double, last: Double)?
    }

    static func readToEnd(configuration: SlowQueryConfiguration, registry: MetricRegistry) throws -> ReplayedLog {
        let pipeline = Pipeline(configuration: configuration, metrics: try SlowQueryMetrics(registry: registry), logger: Logger(label: "vitals.replay"))
        defer { pipeline.close() }
        do {
            try pipeline.readToEnd()
        } catch {
            throw TimingLogReplay.Failure(description: error.description)
        }
        return pipeline.finish()
    }

    @discardableResult
    func pollOnce(_ kind: LogTailer.PollKind = .scheduled) -> LogTailHealth {
        let start = ContinuousClock.now
        let outcome = pipeline.poll(kind)
        if let report = outcome.report {
            board.publish(report)
            evidence.publish(slowestStatements: Array(report.byTotal.prefix(Self.statementsForThePage)), from: configuration.paths.joined(separator: ","))
        }
        if let totals = outcome.nPlusOne { evidence.publish(nPlusOne: totals, from: configuration.paths.joined(separator: ",")) }
        if let candidates = outcome.indexCandidates {
            evidence.publish(indexCandidates: candidates, samples: outcome.statementSamples, from: configuration.paths.joined(separator: ","))
        }
        status.record(outcome.tail, duration: (ContinuousClock.now - start).seconds, subject: "Postgres server log", logger: logger)
        return outcome.tail
    }

    /// What the shared tail pass feeds: the ingester, at the wall-clock time of the poll (for
    /// entries whose timestamp has no usable zone), and the report a poll produced.
    struct SlowQueryLines: LogLineConsumer {
        var ingester: SlowQueryIngester
        var now: Double = 0
        var report: SlowQueryReport?
        var nPlusOne: [NPlusOneKey: NPlusOneTotals]?
        var indexCandidates: [IndexCandidateKey: IndexCandidateTotals]?

        mutating func startPoll() {
            now = Date().timeIntervalSince1970
            report = nil
            nPlusOne = nil
            indexCandidates = nil
        }

        mutating func ingest(_ line: UnsafeRawBufferPointer) {
            ingester.ingest(line, now: now)
        }

        mutating func endPoll(_ result: LogTailer.PollResult) {
            report = ingester.endOfPoll(linesRead: result.lines, oversizedLines: result.oversizedLines, now: now)
            nPlusOne = ingester.takeNPlusOneChange()
            indexCandidates = ingester.takeIndexCandidatesChange()
        }

        var statementSamples: [IndexCandidateKey: StatementSample] { ingester.statementSamples }
    }

    /// The tail pass and the output file: mutable state touched by one poll at a time.
    final class Pipeline: @unchecked Sendable {
        struct Outcome {
            var tail: LogTailHealth
            var report: SlowQueryReport?
            var nPlusOne: [NPlusOneKey: NPlusOneTotals]?
            var indexCandidates: [IndexCandidateKey: IndexCandidateTotals]?
            var statementSamples: [IndexCandidateKey: StatementSample] = [:]
        }

        /// Lines recognised during a poll, written to the output file after it.
        final class PendingLines {
            var lines: [String] = []
        }

        private let tail: LogTail<SlowQueryLines>
        private let metrics: SlowQueryMetrics
        private let writer: SlowQueryFileWriter?
        private let pending: PendingLines
        private var reportedWriteFailures = 0

        init(configuration: SlowQueryConfiguration, metrics: SlowQueryMetrics, logger: Logger) {
            self.metrics = metrics
            let pending = PendingLines()
            self.pending = pending
            let sink: (SlowQueryLogLine) -> Void
            switch configuration.output {
            case .log?:
                writer = nil
                sink = { line in
                    // vitals' logger stamps its own ts; the time Postgres logged the statement is kept apart.
                    var metadata: Logger.Metadata = ["logged_at": "\(line.time)"]
                    for (key, value) in line.fields where key != "msg" && key != "ts" { metadata[key] = "\(value)" }
                    logger.info("slow query", metadata: metadata)
                }
            case .file(let path)?:
                writer = SlowQueryFileWriter(path: path)
                let format = configuration.outputFormat
                sink = { line in pending.lines.append(line.formatted(format)) }
            case nil:
                writer = nil
                sink = { _ in }
            }
            let tailer = LogTailer(
                configuration: .init(
                    patterns: configuration.paths, fromBeginning: configuration.fromBeginning, maxLineLength: configuration.maxRecordLength))
            self.tail = LogTail(
                tailer: tailer, consumer: SlowQueryLines(ingester: SlowQueryIngester(settings: configuration.ingesterSettings, metrics: metrics, logSink: sink)),
                reading: metrics.log, describe: Self.message(for:))
        }

        func poll(_ kind: LogTailer.PollKind = .scheduled) -> Outcome {
            let health = tail.poll(kind)
            writePendingLines()
            let candidates = tail.consumer.indexCandidates
            return Outcome(
                tail: health, report: tail.consumer.report, nPlusOne: tail.consumer.nPlusOne, indexCandidates: candidates,
                statementSamples: candidates == nil ? [:] : tail.consumer.statementSamples)
        }

        private func writePendingLines() {
            guard let writer, !pending.lines.isEmpty else { return }
            writer.write(pending.lines)
            pending.lines.removeAll(keepingCapacity: true)
            if writer.failures > reportedWriteFailures {
                metrics.logFailures.increment(by: Double(writer.failures - reportedWriteFailures))
                reportedWriteFailures = writer.failures
            }
        }

        func close() { tail.close() }

        func readToEnd() throws(TailError) {
            try tail.readToEnd()
        }

        func finish() -> ReplayedLog {
            var replayed = ReplayedLog(nPlusOne: [:], indexCandidates: [:], span: nil)
            tail.updateConsumer { lines in
                lines.ingester.finish()
                replayed = ReplayedLog(
                    nPlusOne: lines.ingester.nPlusOne?.totals ?? [:], indexCandidates: lines.ingester.indexCandidates.totals, span: lines.ingester.span)
            }
            writePendingLines()
            return replayed
        }

        var followedFiles: [String] { tail.followedFiles }
        var hasRotatedFiles: Bool { tail.hasRotatedFiles }

        /// What `/ready` says: the path, the cause, and what to use instead on managed Postgres.
        @Sendable static func message(for error: TailError) -> String {
            switch error.code {
            case .notFound, .permissionDenied:
                "cannot read the Postgres server log at \(error.path) (\(error.code): \(error.detail)); on managed Postgres use the "
                    + "pg_stat_statements metrics (pg_stat_statements_seconds_total) that the postgres source publishes, and /statements"
            default:
                error.description
            }
        }
    }
}

public enum SlowQuerySourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { SlowQueryConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try SlowQueryConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try SlowQueryConfiguration(values: configuration)
        guard !settings.paths.isEmpty else { return [] }
        return [try SlowQuerySource(configuration: settings, context: context)]
    }
}
