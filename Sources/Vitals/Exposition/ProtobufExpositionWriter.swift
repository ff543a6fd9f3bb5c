/// Writes gathered families as Prometheus's delimited protobuf stream: each `MetricFamily`
/// message preceded by its length as a varint.
///
/// Encoded by hand into one output buffer: the messages (proto/io/prometheus/client/metrics.proto,
/// proto2) are few and fixed, and a generated model would bring swift-protobuf and Foundation into
/// the daemon and several allocations per series. The fields are the ones a generated encoder
/// writes for the same values, in field-number order; a test compares the bytes with swift-protobuf's
/// and a real Prometheus reads them.
///
/// Histograms carry their classic buckets and, when the family keeps them, their native buckets
/// in the same message; a scraper that ingests native histograms reads the latter.
public struct ProtobufExpositionWriter: Sendable {
    public init() {}

    public func write(_ families: [FamilySnapshot]) -> [UInt8] {
        var encoder = ProtobufEncoder(capacity: families.reduce(4096) { $0 + 64 + $1.series.count * 64 })
        for family in families { Self.append(family, to: &encoder) }
        return encoder.bytes
    }

    /// One family's delimited message, in a buffer of its own: ``CompressedExpositionCache`` writes
    /// the families one at a time, to compress an unchanged one as a piece of its own.
    static func message(_ family: FamilySnapshot) -> [UInt8] {
        var encoder = ProtobufEncoder(capacity: 64 + family.series.count * 64)
        append(family, to: &encoder)
        return encoder.bytes
    }

    private static func append(_ family: FamilySnapshot, to encoder: inout ProtobufEncoder) {
        // A family without samples says nothing a scraper stores; Prometheus skips it anyway.
        guard !family.series.isEmpty else { return }
        encoder.delimited { encode(family, into: &$0) }
    }

    /// MetricFamily: name 1, help 2, type 3, metric 4.
    private static func encode(_ family: FamilySnapshot, into encoder: inout ProtobufEncoder) {
        let descriptor = family.descriptor
        encoder.string(1, descriptor.name)
        encoder.string(2, descriptor.help)
        encoder.unsigned(3, Self.typeNumber(descriptor.type))
        for series in family.series {
            // Metric: label 1, gauge 2, counter 3, summary 4, untyped 5, histogram 7.
            encoder.message(4) { metric in
                for (name, value) in zip(descriptor.labelNames, series.labelValues) {
                    metric.message(1) { pair in
                        pair.string(1, name)
                        pair.string(2, value)
                    }
                }
                switch series.value {
                case .scalar(let value):
                    let field =
                        switch descriptor.type {
                        case .gauge: 2
                        case .counter: 3
                        case .histogram, .summary: 5  // untyped; unreachable through the registry
                        }
                    metric.message(field) { $0.double(1, value) }
                case .histogram(let bucketCounts, let sum, let count, let native):
                    metric.message(7) { histogram in
                        encodeHistogram(bounds: descriptor.buckets, bucketCounts: bucketCounts, sum: sum, count: count, native: native, into: &histogram)
                    }
                case .summary(let quantiles, let sum, let count):
                    // Summary: sample_count 1, sample_sum 2, quantile 3 (quantile 1, value 2).
                    metric.message(4) { summary in
                        summary.unsigned(1, count)
                        summary.double(2, sum)
                        for quantile in quantiles {
                            summary.message(3) { message in
                                message.double(1, quantile.quantile)
                                message.double(2, quantile.value)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Histogram: sample_count 1, sample_sum 2, bucket 3 (cumulative_count 1, upper_bound 2), schema 5,
    /// zero_threshold 6, zero_count 7, negative_span 9, negative_delta 10, positive_span 12,
    /// positive_delta 13. Deltas are proto2 repeated fields: one tag each, not packed.
    private static func encodeHistogram(
        bounds: [Double], bucketCounts: [UInt64], sum: Double, count: UInt64, native: NativeHistogramBuckets?, into encoder: inout ProtobufEncoder
    ) {
        encoder.unsigned(1, count)
        encoder.double(2, sum)
        var cumulative: UInt64 = 0
        for (bound, bucketCount) in zip(bounds, bucketCounts) {
            cumulative &+= bucketCount
            encoder.message(3) { bucket in
                bucket.unsigned(1, cumulative)
                bucket.double(2, bound)
            }
        }
        guard let native else { return }
        encoder.signed(5, Int64(native.schema))
        encoder.double(6, native.zeroThreshold)
        encoder.unsigned(7, native.zeroCount)
        let positive = native.positive.spansAndDeltas()
        let negative = native.negative.spansAndDeltas()
        for span in negative.spans { encoder.span(9, span) }
        for delta in negative.deltas { encoder.signed(10, delta) }
        if positive.spans.isEmpty && negative.spans.isEmpty {
            // Without a span an empty native histogram reads as a classic one; a no-op span marks it.
            encoder.span(12, (offset: 0, length: 0))
        }
        for span in positive.spans { encoder.span(12, span) }
        for delta in positive.deltas { encoder.signed(13, delta) }
    }

    /// MetricType: COUNTER 0, GAUGE 1, SUMMARY 2, UNTYPED 3, HISTOGRAM 4.
    private static func typeNumber(_ type: MetricType) -> UInt64 {
        switch type {
        case .counter: 0
        case .gauge: 1
        case .summary: 2
        case .histogram: 4
        }
    }
}

/// Protocol-buffers wire format into one growing buffer. A nested message is written in place and
/// its length inserted in front of it afterwards, so no message is built twice.
struct ProtobufEncoder {
    private(set) var bytes: [UInt8]

    init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private mutating func tag(_ field: Int, wireType: UInt8) {
        varint(UInt64(field) << 3 | UInt64(wireType))
    }

    /// uint32, uint64 and enum fields.
    mutating func unsigned(_ field: Int, _ value: UInt64) {
        tag(field, wireType: 0)
        varint(value)
    }

    /// sint32 and sint64 fields (zigzag); the same bytes for both in the 32-bit range.
    mutating func signed(_ field: Int, _ value: Int64) {
        tag(field, wireType: 0)
        varint(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    mutating func double(_ field: Int, _ value: Double) {
        tag(field, wireType: 1)
        withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func string(_ field: Int, _ value: String) {
        tag(field, wireType: 2)
        var value = value
        value.withUTF8 { utf8 in
            varint(UInt64(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    /// BucketSpan: offset 1 (sint32), length 2 (uint32).
    mutating func span(_ field: Int, _ span: (offset: Int32, length: UInt32)) {
        message(field) { message in
            message.signed(1, Int64(span.offset))
            message.unsigned(2, UInt64(span.length))
        }
    }

    mutating func message(_ field: Int, _ body: (inout ProtobufEncoder) -> Void) {
        tag(field, wireType: 2)
        delimited(body)
    }

    /// The body preceded by its length as a varint: a nested message's payload, or one message of
    /// a delimited stream.
    mutating func delimited(_ body: (inout ProtobufEncoder) -> Void) {
        let start = bytes.count
        body(&self)
        let length = bytes.count - start
        if length < 0x80 {
            bytes.insert(UInt8(length), at: start)
        } else {
            var prefix = ProtobufEncoder(capacity: 10)
            prefix.varint(UInt64(length))
            bytes.insert(contentsOf: prefix.bytes, at: start)
        }
    }
}
