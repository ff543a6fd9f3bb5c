import Logging
import NIOPosix
import ServiceLifecycle

/// Tails the application's timing logs and feeds request latency histograms.
///
/// Reading and parsing are blocking file work, so polls run on a thread of the source's own, never
/// on an event loop; polls never overlap because that thread waits the interval after each one.
public final class TimingLogSource: VitalsSource {
    public let name = "timing_log"
    public let status: SourceStatus
    private let configuration: TimingLogConfiguration
    private let pipeline: Pipeline
    private let logger: Logger

    public init(configuration: TimingLogConfiguration, context: SourceContext) throws {
        self.configuration = configuration
        self.status = context.health.makeStatus(source: "timing_log", instance: configuration.inputName)
        var logger = context.logger
        if let input = configuration.inputName { logger[metadataKey: "input"] = "\(input)" }
        self.logger = logger
        let metrics = try TimingLogMetrics(
            registry: context.registry, buckets: configuration.buckets, native: configuration.nativeHistogram, withStatus: configuration.statusLabel,
            withInput: configuration.inputName != nil)
        self.pipeline = Self.makePipeline(configuration: configuration, metrics: metrics)
    }

    public func run() async throws {
        logger.info("timing-log source started", metadata: ["paths": "\(configuration.paths.joined(separator: ","))", "format": "\(configuration.format.rawValue)"])
        await cancelWhenGracefulShutdown {
            // Standard input has no inotify event: a pipe is polled on the interval, which costs
            // one non-blocking read(2) per poll.
            let readsStandardInput = self.configuration.paths.contains(LogTailer.standardInputPattern)
            let watch = readsStandardInput ? nil : LogChangeWatch(patterns: self.configuration.paths)
            let ended = OnceFlag()
            await WorkerThread.repeatEvery(self.configuration.pollInterval, watch: watch) { kind in
                let health = self.pollOnce(kind)
                watch?.follow(self.pipeline.followedFiles, hasRotatedFiles: self.pipeline.hasRotatedFiles)
                if readsStandardInput, self.pipeline.standardInputEnded, ended.setOnce() {
                    self.logger.info("standard input ended; its series keep their values until vitals stops")
                }
                return health.bytesRead > 0
            }
        }
        pipeline.close()
    }

    @discardableResult
    func pollOnce(_ kind: LogTailer.PollKind = .scheduled) -> LogTailHealth {
        let start = ContinuousClock.now
        let outcome = pipeline.poll(kind)
        status.record(outcome, duration: (ContinuousClock.now - start).seconds, subject: "timing log", logger: logger)
        return outcome
    }

    /// The tail pass of this source: the shared tailer with the timing-log ingester.
    typealias Pipeline = LogTail<TimingLogIngester>

    static func makePipeline(configuration: TimingLogConfiguration, metrics: TimingLogMetrics, readChunkSize: Int? = nil) -> Pipeline {
        var tailer = LogTailer.Configuration(
            patterns: configuration.paths, fromBeginning: configuration.fromBeginning, maxLineLength: configuration.maxLineLength)
        if let readChunkSize { tailer.readChunkSize = readChunkSize }
        let ingester = TimingLogIngester(
            parser: configuration.parser, routes: configuration.routes, declared: configuration.declaredRoutes, maxRoutes: configuration.maxRoutes,
            slowThreshold: configuration.slowThreshold, metrics: metrics, input: configuration.inputName, statusLabel: configuration.statusLabel)
        return Pipeline(tailer: LogTailer(configuration: tailer), consumer: ingester, reading: metrics.log)
    }
}

public enum TimingLogSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { TimingLogConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try TimingLogConfiguration.inputs(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        try TimingLogConfiguration.inputs(values: configuration).map { try TimingLogSource(configuration: $0, context: context) }
    }
}

/// Set once from the polling thread; says whether this call was the one that set it.
private final class OnceFlag: @unchecked Sendable {  // touched only by the one polling thread
    private var isSet = false

    func setOnce() -> Bool {
        guard !isSet else { return false }
        isSet = true
        return true
    }
}
