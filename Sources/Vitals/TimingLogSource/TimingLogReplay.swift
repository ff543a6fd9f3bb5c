/// `vitals replay`: reads whole files through the same tail pass and ingesters as the live
/// sources and returns the exposition, for backfills, tests and benchmarks. Every file-based
/// source it is given is read: the timing-log files named as arguments, and the Postgres server
/// logs of `--slow-query.log-path`.
public enum TimingLogReplay {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    public static func run(files paths: [String], values: ConfigurationValues, format: ExpositionFormat = .prometheusText) throws -> [UInt8] {
        let registry = MetricRegistry()
        _ = try read(files: paths, values: values, into: registry)
        return ExpositionWriter(format: format).write(registry.gather())
    }

    /// Reads the timing-log files and the Postgres logs of `--slow-query.log-path` into `registry`;
    /// returns what the Postgres logs gave besides metrics, or nil when none was named.
    static func read(files paths: [String], values: ConfigurationValues, into registry: MetricRegistry) throws -> SlowQuerySource.ReplayedLog? {
        let slowQuery = try SlowQueryConfiguration(values: values)
        guard !paths.isEmpty || !slowQuery.paths.isEmpty else {
            throw ConfigurationError(.missingValue, key: "slow-query.log-path", "no files given: name timing-log files, or Postgres logs with --slow-query.log-path")
        }
        if !paths.isEmpty {
            let configuration = try TimingLogConfiguration(values: values)
            let metrics = try TimingLogMetrics(
                registry: registry, buckets: configuration.buckets, native: configuration.nativeHistogram, withStatus: configuration.parser.hasStatus)
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
        }
        guard !slowQuery.paths.isEmpty else { return nil }
        var files = slowQuery
        files.fromBeginning = true
        // The exposition or the report is what replay prints; a log line per statement would bury it.
        if case .log? = files.output { files.output = nil }
        return try SlowQuerySource.readToEnd(configuration: files, registry: registry)
    }
}
