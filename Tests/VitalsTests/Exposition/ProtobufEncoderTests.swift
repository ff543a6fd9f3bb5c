import SwiftProtobuf
import Testing

@testable import Vitals

/// The daemon's hand-written protobuf encoder against swift-protobuf's, built from the same
/// generated model Prometheus's client_model defines: the bytes must be the same, message for
/// message, whatever the families hold.
@Suite struct ProtobufEncoderTests {
    /// The messages a generated encoder writes for one family (what the daemon used before it
    /// encoded by hand).
    enum Reference {
        static func message(for family: FamilySnapshot) -> Io_Prometheus_Client_MetricFamily {
            let descriptor = family.descriptor
            var message = Io_Prometheus_Client_MetricFamily()
            message.name = descriptor.name
            message.help = descriptor.help
            message.type =
                switch descriptor.type {
                case .counter: .counter
                case .gauge: .gauge
                case .histogram: .histogram
                case .summary: .summary
                }
            message.metric = family.series.map { series in
                var metric = Io_Prometheus_Client_Metric()
                metric.label = zip(descriptor.labelNames, series.labelValues).map { name, value in
                    var pair = Io_Prometheus_Client_LabelPair()
                    pair.name = name
                    pair.value = value
                    return pair
                }
                switch series.value {
                case .scalar(let value):
                    switch descriptor.type {
                    case .counter: metric.counter.value = value
                    case .gauge: metric.gauge.value = value
                    case .histogram, .summary: metric.untyped.value = value  // unreachable through the registry
                    }
                case .histogram(let bucketCounts, let sum, let count, let native):
                    metric.histogram = histogram(bounds: descriptor.buckets, bucketCounts: bucketCounts, sum: sum, count: count, native: native)
                case .summary(let quantiles, let sum, let count):
                    metric.summary.sampleCount = count
                    metric.summary.sampleSum = sum
                    metric.summary.quantile = quantiles.map { quantile in
                        var message = Io_Prometheus_Client_Quantile()
                        message.quantile = quantile.quantile
                        message.value = quantile.value
                        return message
                    }
                }
                return metric
            }
            return message
        }

        static func histogram(bounds: [Double], bucketCounts: [UInt64], sum: Double, count: UInt64, native: NativeHistogramBuckets?)
            -> Io_Prometheus_Client_Histogram
        {
            var histogram = Io_Prometheus_Client_Histogram()
            histogram.sampleCount = count
            histogram.sampleSum = sum
            var cumulative: UInt64 = 0
            histogram.bucket = zip(bounds, bucketCounts).map { bound, bucketCount in
                cumulative &+= bucketCount
                var bucket = Io_Prometheus_Client_Bucket()
                bucket.upperBound = bound
                bucket.cumulativeCount = cumulative
                return bucket
            }
            guard let native else { return histogram }
            histogram.schema = Int32(native.schema)
            histogram.zeroThreshold = native.zeroThreshold
            histogram.zeroCount = native.zeroCount
            let positive = native.positive.spansAndDeltas()
            let negative = native.negative.spansAndDeltas()
            histogram.positiveSpan = positive.spans.map(span)
            histogram.positiveDelta = positive.deltas
            histogram.negativeSpan = negative.spans.map(span)
            histogram.negativeDelta = negative.deltas
            if histogram.positiveSpan.isEmpty && histogram.negativeSpan.isEmpty {
                // Without a span an empty native histogram reads as a classic one; a no-op span marks it.
                histogram.positiveSpan = [span((offset: 0, length: 0))]
            }
            return histogram
        }

        private static func span(_ span: (offset: Int32, length: UInt32)) -> Io_Prometheus_Client_BucketSpan {
            var message = Io_Prometheus_Client_BucketSpan()
            message.offset = span.offset
            message.length = span.length
            return message
        }

        static func delimited(_ families: [FamilySnapshot]) throws -> [UInt8] {
            var out: [UInt8] = []
            for family in families where !family.series.isEmpty {
                let bytes: [UInt8] = try message(for: family).serializedBytes()
                var encoder = ProtobufEncoder(capacity: 10)
                encoder.varint(UInt64(bytes.count))
                out += encoder.bytes + bytes
            }
            return out
        }
    }

    static func registryWithEveryShape() throws -> MetricRegistry {
        let registry = MetricRegistry()
        let requests = try registry.counter("http_requests_total", help: "Requests.", labels: ["method", "route"])
        requests.increment(["GET", "/a"], by: 3)
        requests.increment(["POST", "/b \"quoted\" ünïcode ✓"], by: 0)
        // Many series: the family's length needs a three-byte varint.
        for index in 0..<2_000 { requests.increment(["GET", "/items/\(index)"], by: Double(index)) }
        let gauge = try registry.gauge("room_temperature_celsius", help: "")
        gauge.set(to: -21.5)
        let zero = try registry.gauge("zero_gauge", help: "Zero is a value too.")
        zero.set(to: 0)
        _ = try registry.gauge("empty_gauge", help: "Declared, never set.")
        let classic = try registry.histogram("d_seconds", help: "Duration.", labels: ["route"], buckets: [0.1, 1, 10])
        for value in [0.05, 0.5, 5, 50] { classic.observe(["/a"], value) }
        let native = try registry.histogram(
            "http_request_duration_seconds", help: "Latency.", labels: ["route"], buckets: [0.1, 1], native: try NativeHistogramOptions(schema: 3))
        for value in [0.000_01, 0.05, 0.05, 0.3, 2, 2_000, -1, -0.002, 0] { native.observe(["/a"], value) }
        native.merge(["/empty"], native.makeAccumulator())
        let wide = try registry.histogram("wide_seconds", help: "Spans far apart.", buckets: [1], native: try NativeHistogramOptions(schema: -4))
        for value in [1e-9, 1e-3, 1, 1e3, 1e9] { wide.observe([], value) }
        return registry
    }

    @Test func bytesMatchSwiftProtobufForEveryShape() throws {
        let families = try Self.registryWithEveryShape().gather()
        let ours = ProtobufExpositionWriter().write(families)
        let reference = try Reference.delimited(families)
        #expect(ours.count == reference.count)
        #expect(ours == reference)
        #expect(try NativeHistogramTests.decodeDelimited(ours).map(\.name) == families.filter { !$0.series.isEmpty }.map(\.descriptor.name))
    }

    @Test func aSummaryMatchesToo() throws {
        let families = [SummaryExpositionTests.family]
        #expect(ProtobufExpositionWriter().write(families) == (try Reference.delimited(families)))
    }

    @Test func varintsAndZigzagAreTheWireFormats() {
        var encoder = ProtobufEncoder(capacity: 32)
        for value: UInt64 in [0, 1, 127, 128, 300, 16_383, 16_384, .max] { encoder.varint(value) }
        #expect(encoder.bytes == [0, 1, 0x7F, 0x80, 0x01, 0xAC, 0x02, 0xFF, 0x7F, 0x80, 0x80, 0x01] + Array(repeating: 0xFF, count: 9) + [0x01])
        var signed = ProtobufEncoder(capacity: 16)
        for value: Int64 in [0, -1, 1, -2, Int64(Int32.max), Int64(Int32.min)] { signed.signed(1, value) }
        // Tag 0x08, then zigzag: 0, 1, 2, 3, 4294967294, 4294967295.
        #expect(signed.bytes == [0x08, 0, 0x08, 1, 0x08, 2, 0x08, 3, 0x08, 0xFE, 0xFF, 0xFF, 0xFF, 0x0F, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    }
}
