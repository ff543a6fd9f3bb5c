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
        self.status = context.health.makeStatus(source: "timing_log")
        self.logger = context.logger
        let metrics = try TimingLogMetrics(registry: context.registry, buckets: configuration.buckets, native: configuration.nativeHistogram, withStatus: configuration.parser.hasStatus)
        self.pipeline = Self.makePipeline(configuration: configuration, metrics: metrics)
    }

    public func run() async throws {
        logger.info("timing-log source started", metadata: ["paths": "\(configuration.paths.joined(separator: ","))", "format": "\(configuration.format.rawValue)"])
        await cancelWhenGracefulShutdown {
            let watch = LogChangeWatch(patterns: self.configuration.paths)
            await WorkerThread.repeatEvery(self.configuration.pollInterval, watch: watch) {
                self.pollOnce()
                watch?.follow(self.pipeline.followedFiles, hasRotatedFiles: self.pipeline.hasRotatedFiles)
            }
        }
        pipeline.close()
    }

    func pollOnce() {
        let start = ContinuousClock.now
        let outcome = pipeline.poll()
        status.record(outcome, duration: (ContinuousClock.now - start).seconds, subject: "timing log", logger: logger)
    }

    /// The tail pass of this source: the shared tailer with the timing-log ingester.
    typealias Pipeline = LogTail<TimingLogIngester>

    static func makePipeline(configuration: TimingLogConfiguration, metrics: TimingLogMetrics, readChunkSize: Int? = nil) -> Pipeline {
        var tailer = LogTailer.Configuration(
            patterns: configuration.paths, fromBeginning: configuration.fromBeginning, maxLineLength: configuration.maxLineLength)
        if let readChunkSize { tailer.readChunkSize = readChunkSize }
        let ingester = TimingLogIngester(
            parser: configuration.parser, routes: configuration.routes, declared: configuration.declaredRoutes, maxRoutes: configuration.maxRoutes,
            slowThreshold: configuration.slowThreshold, metrics: metrics)
        return Pipeline(tailer: LogTailer(configuration: tailer), consumer: ingester, reading: metrics.log)
    }
}

public enum TimingLogSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { TimingLogConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try TimingLogConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try TimingLogConfiguration(values: configuration)
        guard !settings.paths.isEmpty else { return [] }
        return [try TimingLogSource(configuration: settings, context: context)]
    }
}
