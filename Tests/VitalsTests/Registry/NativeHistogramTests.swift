import Glibc
import SwiftProtobuf
import Testing

@testable import Vitals

@Suite struct NativeHistogramTests {
    @Test(arguments: NativeHistogramOptions.schemaRange)
    func everyValueLandsInTheBucketWhoseBoundsEncloseIt(schema: Int) {
        var generator = SystemRandomNumberGenerator()
        var values: [Double] = [1, 2, 0.5, 4, 1024, 0x1p-20, 0.2, 0.001, 10, 1e-9, 1e9, .leastNormalMagnitude, 3.999]
        for _ in 0..<2_000 { values.append(exp2(Double.random(in: -40...40, using: &generator))) }
        for value in values {
            let index = NativeHistogramBuckets.index(of: value, schema: schema)
            let upper = NativeHistogramBuckets.upperBound(of: index, schema: schema)
            let lower = NativeHistogramBuckets.upperBound(of: index - 1, schema: schema)
            #expect(lower < value && value <= upper, "schema \(schema): \(value) put in bucket \(index) = (\(lower), \(upper)]")
        }
    }

    @Test func powersOfTwoCloseTheirBucket() {
        // Prometheus's convention: 1 is the upper bound of bucket 0 in every schema.
        for schema in NativeHistogramOptions.schemaRange {
            #expect(NativeHistogramBuckets.index(of: 1, schema: schema) == 0)
        }
        #expect(NativeHistogramBuckets.index(of: 2, schema: 0) == 1)
        #expect(NativeHistogramBuckets.index(of: 2, schema: 3) == 8)
        #expect(NativeHistogramBuckets.index(of: 2.0.nextUp, schema: 3) == 9)
        #expect(NativeHistogramBuckets.index(of: 4, schema: -1) == 1)  // (1, 4]
        #expect(NativeHistogramBuckets.index(of: 4.0.nextUp, schema: -1) == 2)
        #expect(NativeHistogramBuckets.index(of: 0.5, schema: 0) == -1)
    }

    @Test func spansSkipLongGapsAndKeepShortOnes() {
        var counts = ExponentialBucketCounts()
        counts.add(1, at: -3)
        counts.add(2, at: -2)
        counts.add(5, at: 0)  // one empty bucket (-1) stays inside the span
        counts.add(1, at: 5)  // four empty buckets start a new span
        let (spans, deltas) = counts.spansAndDeltas()
        #expect(spans.map(\.offset) == [-3, 4])
        #expect(spans.map(\.length) == [4, 1])
        #expect(deltas == [1, 1, -2, 5, -4])
        #expect(ExponentialBucketCounts().spansAndDeltas().spans.isEmpty)
    }

    @Test func loweringTheSchemaEqualsObservingAtTheLowerSchema() throws {
        var generator = SystemRandomNumberGenerator()
        let values = (0..<5_000).map { _ in exp2(Double.random(in: -12...4, using: &generator)) }
        var fine = NativeHistogramBuckets(try NativeHistogramOptions(schema: 5, maxBuckets: 10_000))
        var coarse = NativeHistogramBuckets(try NativeHistogramOptions(schema: 2, maxBuckets: 10_000))
        for value in values {
            fine.observe(value)
            coarse.observe(value)
        }
        for _ in 0..<3 { fine.reduceResolution() }
        #expect(fine.schema == 2)
        #expect(Self.populated(fine.positive) == Self.populated(coarse.positive))
    }

    @Test func mergingAcrossSchemasMatchesObservingEverythingTogether() throws {
        let options = try NativeHistogramOptions(schema: 4, maxBuckets: 10_000)
        var a = NativeHistogramBuckets(options)
        var b = NativeHistogramBuckets(options)
        var together = NativeHistogramBuckets(options)
        for value in [0.001, 0.002, 0.5, 0, -0.25, 3] {
            a.observe(value)
            together.observe(value)
        }
        for value in [0.0015, 7, 0.0001] {
            b.observe(value)
            together.observe(value)
        }
        b.reduceResolution()
        a.merge(b)
        together.reduceResolution()
        #expect(a.schema == 3)
        #expect(a == together)
        #expect(a.zeroCount == 1)
        #expect(Self.populated(a.negative).values.reduce(0, +) == 1)
    }

    @Test func aHostileSpreadOfValuesLowersTheResolutionInsteadOfGrowingMemory() throws {
        var buckets = NativeHistogramBuckets(try NativeHistogramOptions(schema: 8, maxBuckets: 64))
        for value in [1e-300, 1e300, 1, 1e-9, 1e9, .greatestFiniteMagnitude, .infinity, .nan] { buckets.observe(value) }
        #expect(buckets.positive.width + buckets.negative.width <= 64 || buckets.schema == -4)
        #expect(buckets.schema < 8)
        // 1e-300 is below the zero threshold; ±Inf and NaN only count in the histogram's count.
        #expect(buckets.zeroCount == 1)
        #expect(Self.populated(buckets.positive).values.reduce(0, +) == 5)
    }

    @Test func invalidSchemaIsRefused() {
        #expect(throws: RegistryError.self) { try NativeHistogramOptions(schema: 9) }
        #expect(throws: RegistryError.self) { try NativeHistogramOptions(schema: -5) }
    }

    @Test func protobufCarriesClassicAndNativeBucketsThatDecodeBack() throws {
        let registry = MetricRegistry()
        let family = try registry.histogram(
            "http_request_duration_seconds", help: "Latency.", labels: ["route"], buckets: [0.1, 1], native: try NativeHistogramOptions(schema: 3))
        let requests = try registry.counter("http_requests_total", help: "Requests.", labels: ["route"])
        for value in [0.05, 0.05, 0.3, 2] { family.observe(["/a"], value) }
        requests.increment(["/a"], by: 4)
        _ = try registry.gauge("empty_gauge", help: "Declared, never set.")

        let bytes = ProtobufExpositionWriter().write(registry.gather())
        let messages = try Self.decodeDelimited(bytes)
        #expect(messages.map(\.name).sorted() == ["http_request_duration_seconds", "http_requests_total"])  // the empty family is left out

        let counter = try #require(messages.first { $0.name == "http_requests_total" })
        #expect(counter.type == .counter)
        #expect(counter.metric.first?.counter.value == 4)
        #expect(counter.metric.first?.label.map { "\($0.name)=\($0.value)" } == ["route=/a"])

        let histogram = try #require(messages.first { $0.name == "http_request_duration_seconds" }?.metric.first?.histogram)
        #expect(histogram.sampleCount == 4)
        #expect(abs(histogram.sampleSum - 2.4) < 1e-9)
        #expect(histogram.bucket.map(\.upperBound) == [0.1, 1])
        #expect(histogram.bucket.map(\.cumulativeCount) == [2, 3])
        #expect(histogram.schema == 3)
        #expect(histogram.zeroThreshold > 0)
        // Rebuild the absolute counts from spans and deltas and check each value's bucket.
        var absolute: [Int32: Int64] = [:]
        var index: Int32 = 0
        var running: Int64 = 0
        var deltas = histogram.positiveDelta.makeIterator()
        for (n, span) in histogram.positiveSpan.enumerated() {
            index = n == 0 ? span.offset : index + span.offset
            for _ in 0..<span.length {
                running += deltas.next()!
                if running != 0 { absolute[index] = running }
                index += 1
            }
        }
        #expect(
            absolute == [
                NativeHistogramBuckets.index(of: 0.05, schema: 3): 2, NativeHistogramBuckets.index(of: 0.3, schema: 3): 1,
                NativeHistogramBuckets.index(of: 2, schema: 3): 1,
            ])
    }

    @Test func anEmptyNativeHistogramStillReadsAsNative() throws {
        let registry = MetricRegistry()
        let family = try registry.histogram("h_seconds", help: "H.", labels: ["x"], buckets: [1], native: try NativeHistogramOptions())
        family.merge(["a"], family.makeAccumulator())
        let histogram = try #require(try Self.decodeDelimited(ProtobufExpositionWriter().write(registry.gather())).first?.metric.first?.histogram)
        #expect(histogram.positiveSpan.count == 1)
        #expect(histogram.positiveSpan.first?.length == 0)
    }

    @Test func textFormatsStayClassic() throws {
        let registry = MetricRegistry()
        let family = try registry.histogram("h_seconds", help: "H.", buckets: [1], native: try NativeHistogramOptions())
        family.observe([], 0.5)
        let text = String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self)
        #expect(text == "# HELP h_seconds H.\n# TYPE h_seconds histogram\nh_seconds_bucket{le=\"1\"} 1\nh_seconds_bucket{le=\"+Inf\"} 1\nh_seconds_sum 0.5\nh_seconds_count 1\n")
    }

    static func populated(_ counts: ExponentialBucketCounts) -> [Int32: UInt64] {
        var result: [Int32: UInt64] = [:]
        for (offset, count) in counts.counts.enumerated() where count != 0 { result[counts.firstIndex + Int32(offset)] = count }
        return result
    }

    static func decodeDelimited(_ bytes: [UInt8]) throws -> [Io_Prometheus_Client_MetricFamily] {
        var messages: [Io_Prometheus_Client_MetricFamily] = []
        var position = 0
        while position < bytes.count {
            var length = 0
            var shift = 0
            while true {
                let byte = bytes[position]
                position += 1
                length |= Int(byte & 0x7f) << shift
                shift += 7
                if byte < 0x80 { break }
            }
            messages.append(try Io_Prometheus_Client_MetricFamily(serializedBytes: Array(bytes[position..<position + length])))
            position += length
        }
        return messages
    }
}
