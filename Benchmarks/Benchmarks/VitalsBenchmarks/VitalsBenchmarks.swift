import Benchmark
import FoundationEssentials
import Glibc
import Vitals

/// 100,000 series as a busy vitals would hold them: 1,000 histogram series (53 classic bounds,
/// native buckets on) and counters/gauges for the rest, with realistic label values.
func makeRegistry(series: Int, native: Bool) throws -> MetricRegistry {
    let registry = MetricRegistry()
    let histogram = try registry.histogram(
        "http_request_duration_seconds", help: "Duration of HTTP requests.", labels: ["method", "route", "status_class"],
        buckets: TimingLogConfiguration.defaultBuckets, native: native ? try NativeHistogramOptions() : nil)
    let counter = try registry.counter("pg_stat_user_tables_seq_scan", help: "Sequential scans.", labels: ["datname", "schemaname", "relname"])
    let gauge = try registry.gauge("pg_stat_user_tables_n_live_tup", help: "Live rows.", labels: ["datname", "schemaname", "relname"])
    var generator = SplitMix(seed: 42)
    for i in 0..<1_000 {
        var accumulator = histogram.makeAccumulator()
        for _ in 0..<200 { accumulator.observe(generator.latency()) }
        histogram.merge(["GET", "/api/v1/resource\(i)/{id}", "2xx"], accumulator)
    }
    // Each histogram series is 56 samples in the text formats (53 buckets, +Inf, sum, count).
    let scalarSeries = max(0, series - 56_000)
    for i in 0..<scalarSeries / 2 {
        counter.increment(["app", "public", "table_\(i)"], by: Double(i))
        gauge.set(["app", "public", "table_\(i)"], to: Double(i * 3))
    }
    return registry
}

/// A deterministic generator, so every run exposes the same bytes.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Roughly lognormal latencies around 20 ms.
    mutating func latency() -> Double {
        let u = Double(next() >> 11) / Double(1 << 53)
        let v = Double(next() >> 11) / Double(1 << 53)
        return 0.02 * exp2(2.5 * (u + v - 1))
    }
}

let benchmarks: @Sendable () -> Void = {
    let metrics: [BenchmarkMetric] = [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident, .throughput]
    Benchmark.defaultConfiguration = .init(metrics: metrics, warmupIterations: 2, scalingFactor: .one, maxDuration: .seconds(10), maxIterations: 50)

    let registry = try! makeRegistry(series: 100_000, native: true)
    let gathered = registry.gather()

    Benchmark("Gather 100k series") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(registry.gather()) }
    }
    Benchmark("Write 100k series, text 0.0.4") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ExpositionWriter(format: .prometheusText).write(gathered)) }
    }
    Benchmark("Write 100k series, OpenMetrics") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ExpositionWriter(format: .openMetrics).write(gathered)) }
    }
    Benchmark("Write 100k series, protobuf with native buckets") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(ProtobufExpositionWriter().write(gathered)) }
    }

    // What a Redis pass parses: a Redis 7.0 `INFO all` reply (6.6 KB, 227 lines, captured from the
    // test suite's server).
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Fixtures/redis-7.0-info-all.txt")
    let info = String(decoding: (try? Data(contentsOf: fixture)) ?? Data(), as: UTF8.self)
    Benchmark("Parse a Redis 7.0 INFO all reply") { benchmark in
        precondition(RedisInfo(parsing: info).fields.count > 100, "fixture \(fixture.path) missing")
        for _ in benchmark.scaledIterations { blackHole(RedisInfo(parsing: info)) }
    }

    let bounds = TimingLogConfiguration.defaultBuckets
    var generator = SplitMix(seed: 7)
    let values = (0..<1_000).map { _ in generator.latency() }
    Benchmark("Observe 1,000 latencies, classic buckets") { benchmark in
        for _ in benchmark.scaledIterations {
            var accumulator = HistogramAccumulator(buckets: bounds)
            for value in values { accumulator.observe(value) }
            blackHole(accumulator)
        }
    }
    Benchmark("Observe 1,000 latencies, classic and native buckets") { benchmark in
        let options = try NativeHistogramOptions()
        for _ in benchmark.scaledIterations {
            var accumulator = HistogramAccumulator(buckets: bounds, native: options)
            for value in values { accumulator.observe(value) }
            blackHole(accumulator)
        }
    }
}
