/// The state of one series at the moment of a scrape.
public struct SeriesSnapshot: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case scalar(Double)
        /// `bucketCounts[i]` counts observations `<= buckets[i]`, non-cumulative; the `+Inf` bucket is `count`.
        /// `native` carries the exponential buckets when the family keeps them; only the protobuf
        /// format can express them, the text formats write the classic buckets.
        case histogram(bucketCounts: [UInt64], sum: Double, count: UInt64, native: NativeHistogramBuckets? = nil)
    }

    /// Values aligned with the family's `labelNames`.
    public var labelValues: [String]
    public var value: Value

    public init(labelValues: [String], value: Value) {
        self.labelValues = labelValues
        self.value = value
    }

    public static func scalar(_ value: Double, _ labelValues: [String] = []) -> SeriesSnapshot {
        SeriesSnapshot(labelValues: labelValues, value: .scalar(value))
    }
}

/// A whole family at the moment of a scrape: what collectors return and what exposition writes.
public struct FamilySnapshot: Sendable, Equatable {
    public var descriptor: MetricDescriptor
    public var series: [SeriesSnapshot]

    public init(_ descriptor: MetricDescriptor, series: [SeriesSnapshot] = []) {
        self.descriptor = descriptor
        self.series = series
    }
}

/// Builds the families of one collection pass, for sources that publish absolute values
/// (a server's cumulative counters, current gauges) rather than incrementing live metrics.
///
/// Samples with the same name and labels are merged (the last wins), so a source can never
/// produce a duplicate series even if its input holds one.
public struct SnapshotBuilder: Sendable {
    private var order: [String] = []
    private var families: [String: (descriptor: MetricDescriptor, index: [[String]: Int], series: [SeriesSnapshot])] = [:]
    public private(set) var errors: [RegistryError] = []

    public init() {}

    /// Declares a family so it is exposed (with HELP and TYPE) even before it has samples.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        if let existing = families[descriptor.name] {
            if existing.descriptor != descriptor {
                errors.append(RegistryError(code: .conflictingDescriptor, metric: descriptor.name, detail: "declared twice with different help, type or labels"))
            }
            return
        }
        order.append(descriptor.name)
        families[descriptor.name] = (descriptor, [:], [])
    }

    public mutating func add(_ descriptor: MetricDescriptor, _ series: SeriesSnapshot) {
        declare(descriptor)
        guard var family = families[descriptor.name], family.descriptor == descriptor else { return }
        guard series.labelValues.count == descriptor.labelNames.count else {
            errors.append(RegistryError(code: .labelCountMismatch, metric: descriptor.name, detail: "wrong number of label values"))
            return
        }
        families[descriptor.name] = nil  // keep the storage uniquely referenced while mutating
        if let i = family.index[series.labelValues] {
            family.series[i] = series
        } else {
            family.index[series.labelValues] = family.series.count
            family.series.append(series)
        }
        families[descriptor.name] = family
    }

    public mutating func add(_ descriptor: MetricDescriptor, value: Double, labels: [String] = []) {
        add(descriptor, .scalar(value, labels))
    }

    public func build() -> [FamilySnapshot] {
        order.compactMap { name in families[name].map { FamilySnapshot($0.descriptor, series: $0.series) } }
    }
}
