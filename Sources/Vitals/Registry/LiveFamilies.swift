import NIOConcurrencyHelpers

/// A family whose series are kept up to date in place, by the code that observes events.
protocol LiveFamily: Sendable {
    var descriptor: MetricDescriptor { get }
    func snapshot() -> FamilySnapshot
}

/// A counter family: monotonically increasing values, one per label combination.
public final class CounterFamily: LiveFamily {
    public let descriptor: MetricDescriptor
    private let values = NIOLockedValueBox<[[String]: Double]>([:])

    init(_ descriptor: MetricDescriptor) {
        self.descriptor = descriptor
    }

    public func increment(_ labelValues: [String] = [], by amount: Double = 1) {
        guard amount >= 0, labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0[labelValues, default: 0] += amount }
    }

    /// Makes a series visible at zero, so `rate()` sees its first increase.
    public func initialize(_ labelValues: [String]) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { if $0[labelValues] == nil { $0[labelValues] = 0 } }
    }

    public func value(_ labelValues: [String] = []) -> Double {
        values.withLockedValue { $0[labelValues] ?? 0 }
    }

    public func remove(_ labelValues: [String]) {
        _ = values.withLockedValue { $0.removeValue(forKey: labelValues) }
    }

    func snapshot() -> FamilySnapshot {
        let current = values.withLockedValue { $0 }
        return FamilySnapshot(descriptor, series: current.map { .scalar($0.value, $0.key) })
    }
}

/// A gauge family: values that go up and down.
public final class GaugeFamily: LiveFamily {
    public let descriptor: MetricDescriptor
    private let values = NIOLockedValueBox<[[String]: Double]>([:])

    init(_ descriptor: MetricDescriptor) {
        self.descriptor = descriptor
    }

    public func set(_ labelValues: [String] = [], to value: Double) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0[labelValues] = value }
    }

    public func add(_ labelValues: [String] = [], _ delta: Double) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0[labelValues, default: 0] += delta }
    }

    public func value(_ labelValues: [String] = []) -> Double? {
        values.withLockedValue { $0[labelValues] }
    }

    public func remove(_ labelValues: [String]) {
        _ = values.withLockedValue { $0.removeValue(forKey: labelValues) }
    }

    func snapshot() -> FamilySnapshot {
        let current = values.withLockedValue { $0 }
        return FamilySnapshot(descriptor, series: current.map { .scalar($0.value, $0.key) })
    }
}

/// Observations accumulated outside any lock, merged into a ``HistogramFamily`` in one step.
///
/// Hot paths (a batch of log lines) observe into this value and merge once per batch, so the
/// family's lock is taken once per batch rather than once per sample.
public struct HistogramAccumulator: Sendable {
    public let buckets: [Double]
    public private(set) var bucketCounts: [UInt64]
    public private(set) var sum: Double = 0
    public private(set) var count: UInt64 = 0
    /// Kept when the family has native-histogram options; classic buckets are always kept too.
    public private(set) var native: NativeHistogramBuckets?

    public init(buckets: [Double], native: NativeHistogramOptions? = nil) {
        self.buckets = buckets
        self.bucketCounts = Array(repeating: 0, count: buckets.count)
        self.native = native.map(NativeHistogramBuckets.init)
    }

    public mutating func observe(_ value: Double) {
        // Binary search for the first bound >= value; values above the last bound only count in +Inf.
        var low = 0
        var high = buckets.count
        while low < high {
            let mid = (low + high) >> 1
            if buckets[mid] < value { low = mid + 1 } else { high = mid }
        }
        if low < bucketCounts.count { bucketCounts[low] &+= 1 }
        if !value.isNaN { sum += value }
        count &+= 1
        native?.observe(value)
    }

    mutating func merge(_ other: HistogramAccumulator) {
        for i in bucketCounts.indices { bucketCounts[i] &+= other.bucketCounts[i] }
        sum += other.sum
        count &+= other.count
        if let otherNative = other.native { native?.merge(otherNative) }
    }

    var isEmpty: Bool { count == 0 }

    var snapshotValue: SeriesSnapshot.Value {
        .histogram(bucketCounts: bucketCounts, sum: sum, count: count, native: native)
    }
}

/// A histogram family with fixed bucket bounds, one histogram per label combination.
public final class HistogramFamily: LiveFamily {
    public let descriptor: MetricDescriptor
    private let histograms = NIOLockedValueBox<[[String]: HistogramAccumulator]>([:])

    init(_ descriptor: MetricDescriptor) {
        self.descriptor = descriptor
    }

    public var buckets: [Double] { descriptor.buckets }

    public func makeAccumulator() -> HistogramAccumulator {
        HistogramAccumulator(buckets: descriptor.buckets, native: descriptor.nativeHistogram)
    }

    public func observe(_ labelValues: [String] = [], _ value: Double) {
        var one = makeAccumulator()
        one.observe(value)
        merge(labelValues, one)
    }

    public func merge(_ labelValues: [String], _ accumulator: HistogramAccumulator) {
        guard labelValues.count == descriptor.labelNames.count, accumulator.buckets == descriptor.buckets else { return }
        histograms.withLockedValue { all in
            if all[labelValues] == nil {
                all[labelValues] = accumulator
            } else {
                all[labelValues]!.merge(accumulator)
            }
        }
    }

    /// Merges many series in one lock acquisition.
    public func merge(_ batch: some Sequence<([String], HistogramAccumulator)>) {
        histograms.withLockedValue { all in
            for (labelValues, accumulator) in batch
            where labelValues.count == descriptor.labelNames.count && accumulator.buckets == descriptor.buckets {
                if all[labelValues] == nil {
                    all[labelValues] = accumulator
                } else {
                    all[labelValues]!.merge(accumulator)
                }
            }
        }
    }

    public func remove(_ labelValues: [String]) {
        _ = histograms.withLockedValue { $0.removeValue(forKey: labelValues) }
    }

    public func accumulator(_ labelValues: [String] = []) -> HistogramAccumulator? {
        histograms.withLockedValue { $0[labelValues] }
    }

    func snapshot() -> FamilySnapshot {
        let current = histograms.withLockedValue { $0 }
        return FamilySnapshot(
            descriptor,
            series: current.map {
                SeriesSnapshot(labelValues: $0.key, value: $0.value.snapshotValue)
            }
        )
    }
}
