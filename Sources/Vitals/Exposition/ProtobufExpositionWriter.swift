import SwiftProtobuf

/// Writes gathered families as Prometheus's delimited protobuf stream: each `MetricFamily`
/// message preceded by its length as a varint.
///
/// Histograms carry their classic buckets and, when the family keeps them, their native buckets
/// in the same message; a scraper that ingests native histograms reads the latter.
public struct ProtobufExpositionWriter: Sendable {
    public init() {}

    public func write(_ families: [FamilySnapshot]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(4096) { $0 + 64 + $1.series.count * 64 })
        for family in families where !family.series.isEmpty {
            // A family without samples says nothing a scraper stores; Prometheus skips it anyway.
            let message = Self.message(for: family)
            guard let bytes: [UInt8] = try? message.serializedBytes() else { continue }
            Self.appendVarint(UInt64(bytes.count), to: &out)
            out.append(contentsOf: bytes)
        }
        return out
    }

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

    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }
}
