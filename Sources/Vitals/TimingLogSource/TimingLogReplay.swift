/// `vitals replay`: reads whole files through the same tailer and ingester as the live source and
/// returns the exposition, for backfills, tests and benchmarks.
public enum TimingLogReplay {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(files: [String], values: ConfigurationValues, format: ExpositionFormat = .prometheusText) throws -> [UInt8] {
        let configuration = try TimingLogConfiguration(values: values)
        let registry = MetricRegistry()
        let metrics = try TimingLogMetrics(registry: registry, buckets: configuration.buckets, native: configuration.nativeHistogram, withStatus: configuration.parser.hasStatus)
        var ingester = TimingLogIngester(
            parser: configuration.parser, routes: configuration.routes, maxRoutes: configuration.maxRoutes,
            slowThreshold: configuration.slowThreshold, metrics: metrics)
        let tailer = LogTailer(configuration: .init(patterns: files, fromBeginning: true, maxLineLength: configuration.maxLineLength, readChunkSize: 1 << 20))
        defer { tailer.close() }
        var bytes = 0
        while true {
            let result = tailer.poll { line in ingester.ingest(line) }
            ingester.flush(oversizedLines: result.oversizedLines)
            if let error = result.errors.first { throw Failure(description: error.description) }
            if result.bytesRead == 0 { break }
            bytes += result.bytesRead
        }
        // A replay reads to the end: a last line without a newline is complete.
        let last = tailer.flushUnfinishedLines { line in ingester.ingest(line) }
        ingester.flush(oversizedLines: last.oversizedLines)
        metrics.log.bytesRead.increment([TimingLogMetrics.sourceLabel], by: Double(bytes))
        return ExpositionWriter(format: format).write(registry.gather())
    }
}
