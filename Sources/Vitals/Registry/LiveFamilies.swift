import NIOConcurrencyHelpers

/// A family whose series are kept up to date in place, by the code that observes events.
protocol LiveFamily: Sendable {
    var descriptor: MetricDescriptor { get }
    /// The series sorted by label values (they are unique: one per label combination).
    func snapshot() -> FamilySnapshot
}

/// A live family's series by label values, and the sorted series last taken from them, kept until
/// one changes. At rest nothing changes: a gather then neither rebuilds nor sorts the family, and
/// a scrape finds it unchanged by one identity check (the same storage as the series it wrote).
struct LiveSeries<Value: Sendable>: Sendable {
    private(set) var values: [[String]: Value] = [:]
    private var taken: [SeriesSnapshot]?

    subscript(labelValues: [String]) -> Value? { values[labelValues] }

    mutating func set(_ labelValues: [String], _ value: Value) {
        values[labelValues] = value
        taken = nil
    }

    /// Sets a new series to `value`, or combines `value` into the one there.
    mutating func merge(_ labelValues: [String], _ value: Value, _ combine: (inout Value, Value) -> Void) {
        if let index = values.index(forKey: labelValues) {
            combine(&values.values[index], value)
        } else {
            values[labelValues] = value
        }
        taken = nil
    }

    mutating func remove(_ labelValues: [String]) {
        if values.removeValue(forKey: labelValues) != nil { taken = nil }
    }

    mutating func series(_ value: (Value) -> SeriesSnapshot.Value) -> [SeriesSnapshot] {
        if let taken { return taken }
        let series = values.map { SeriesSnapshot(labelValues: $0.key, value: value($0.value)) }
            .sorted { $0.labelValues.lexicographicallyPrecedes($1.labelValues) }
        taken = series
        return series
    }
}

/// A counter family: monotonically increasing values, one per label combination.
public final class CounterFamily: LiveFamily {
    public let descriptor: MetricDescriptor
    private let values = NIOLockedValueBox(LiveSeries<Double>())

    init(_ descriptor: MetricDescriptor) {
        self.descriptor = descriptor
    }

    public func increment(_ labelValues: [String] = [], by amount: Double = 1) {
        guard amount >= 0, labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0.merge(labelValues, amount, +=) }
    }

    /// Makes a series visible at zero, so `rate()` sees its first increase.
    public func initialize(_ labelValues: [String]) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { if $0[labelValues] == nil { $0.set(labelValues, 0) } }
    }

    public func value(_ labelValues: [String] = []) -> Double {
        values.withLockedValue { $0[labelValues] ?? 0 }
    }

    public func remove(_ labelValues: [String]) {
        values.withLockedValue { $0.remove(labelValues) }
    }

    func snapshot() -> FamilySnapshot {
        FamilySnapshot(descriptor, series: values.withLockedValue { $0.series { .scalar($0) } })
    }
}

/// A gauge family: values that go up and down.
public final class GaugeFamily: LiveFamily {
    public let descriptor: MetricDescriptor
    private let values = NIOLockedValueBox(LiveSeries<Double>())

    init(_ descriptor: MetricDescriptor) {
        self.descriptor = descriptor
    }

    public func set(_ labelValues: [String] = [], to value: Double) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0.set(labelValues, value) }
    }

    public func add(_ labelValues: [String] = [], _ delta: Double) {
        guard labelValues.count == descriptor.labelNames.count else { return }
        values.withLockedValue { $0.merge(labelValues, delta, +=) }
    }

    public func value(_ labelValues: [String] = []) -> Double? {
        values.withLockedValue { $0[labelValues] }
    }

    public func remove(_ labelValues: [String]) {
        values.withLockedValue { $0.remove(labelValues) }
    }

    func snapshot() -> FamilySnapshot {
        FamilySnapshot(descriptor, series: values.withLockedValue { $0.series { .scalar($0) } })
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
    private let histograms = NIOLockedValueBox(LiveSeries<HistogramAccumulator>())

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
        histograms.withLockedValue { $0.merge(labelValues, accumulator) { $0.merge($1) } }
    }

    /// Merges many series in one lock acquisition.
    public func merge(_ batch: some Sequence<([String], HistogramAccumulator)>) {
        histograms.withLockedValue { all in
            for (labelValues, accumulator) in batch
            where labelValues.count == descriptor.labelNames.count && accumulator.buckets == descriptor.buckets {
                all.merge(labelValues, accumulator) { $0.merge($1) }
            }
        }
    }

    public func remove(_ labelValues: [String]) {
        histograms.withLockedValue { $0.remove(labelValues) }
    }

    public func accumulator(_ labelValues: [String] = []) -> HistogramAccumulator? {
        histograms.withLockedValue { $0[labelValues] }
    }

    func snapshot() -> FamilySnapshot {
        FamilySnapshot(descriptor, series: histograms.withLockedValue { $0.series(\.snapshotValue) })
    }
}
