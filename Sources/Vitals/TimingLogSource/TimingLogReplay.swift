/// `vitals replay`: reads whole files through the same tailer and ingester as the live source and
/// returns the exposition, for backfills, tests and benchmarks.
public enum TimingLogReplay {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(files paths: [String], values: ConfigurationValues, format: ExpositionFormat = .prometheusText) throws -> [UInt8] {
        let configuration = try TimingLogConfiguration(values: values)
        let registry = MetricRegistry()
        let metrics = try TimingLogMetrics(registry: registry, buckets: configuration.buckets, native: configuration.nativeHistogram, withStatus: configuration.parser.hasStatus)
        var files = configuration
        files.paths = paths
        files.fromBeginning = true
        // Whole files at once: larger reads than a live tail's.
        let pipeline = TimingLogSource.makePipeline(configuration: files, metrics: metrics, readChunkSize: 1 << 20)
        defer { pipeline.close() }
        do {
            try pipeline.readToEnd()
        } catch {
            throw Failure(description: error.description)
        }
        return ExpositionWriter(format: format).write(registry.gather())
    }
}
