/// The state of one series at the moment of a scrape.
public struct SeriesSnapshot: Sendable, Equatable {
    public enum Value: Sendable, Equatable {
        case scalar(Double)
        /// `bucketCounts[i]` counts observations `<= buckets[i]`, non-cumulative; the `+Inf` bucket is `count`.
        /// `native` carries the exponential buckets when the family keeps them; only the protobuf
        /// format can express them, the text formats write the classic buckets.
        case histogram(bucketCounts: [UInt64], sum: Double, count: UInt64, native: NativeHistogramBuckets? = nil)
        /// `quantiles` pairs each quantile (0…1) with its value, ascending by quantile.
        case summary(quantiles: [SummaryQuantile], sum: Double, count: UInt64)
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

/// One quantile of a summary: `value` is the `quantile`-th percentile of what was observed.
public struct SummaryQuantile: Sendable, Equatable {
    public var quantile: Double
    public var value: Double

    public init(_ quantile: Double, _ value: Double) {
        self.quantile = quantile
        self.value = value
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
    private struct Family: Sendable {
        var descriptor: MetricDescriptor
        var series: [SeriesSnapshot]
        /// Position of each label combination in `series`; built on the first `add`, so a family
        /// absorbed whole and never added to is never hashed.
        var index: [[String]: Int]?

        mutating func insert(_ new: SeriesSnapshot) {
            if index == nil {
                var built: [[String]: Int] = [:]
                built.reserveCapacity(series.count + 1)
                for (position, existing) in series.enumerated() { built[existing.labelValues] = position }
                index = built
            }
            if let position = index![new.labelValues] {
                series[position] = new
            } else {
                index![new.labelValues] = series.count
                series.append(new)
            }
        }
    }

    /// In declaration order; `positions` finds a family by name.
    private var families: [Family] = []
    private var positions: [String: Int] = [:]
    public private(set) var errors: [RegistryError] = []

    public init() {}

    /// Declares a family so it is exposed (with HELP and TYPE) even before it has samples.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        _ = position(of: descriptor)
    }

    /// The family's position, declaring it if it is new; nil when the name is taken by a different descriptor.
    private mutating func position(of descriptor: MetricDescriptor) -> Int? {
        if let position = positions[descriptor.name] {
            guard families[position].descriptor == descriptor else {
                errors.append(RegistryError(code: .conflictingDescriptor, metric: descriptor.name, detail: "declared twice with different help, type or labels"))
                return nil
            }
            return position
        }
        positions[descriptor.name] = families.count
        families.append(Family(descriptor: descriptor, series: [], index: [:]))
        return families.count - 1
    }

    public mutating func add(_ descriptor: MetricDescriptor, _ series: SeriesSnapshot) {
        guard let position = position(of: descriptor) else { return }
        guard series.labelValues.count == descriptor.labelNames.count else {
            errors.append(RegistryError(code: .labelCountMismatch, metric: descriptor.name, detail: "wrong number of label values"))
            return
        }
        families[position].insert(series)
    }

    public mutating func add(_ descriptor: MetricDescriptor, value: Double, labels: [String] = []) {
        add(descriptor, .scalar(value, labels))
    }

    /// Adds a family built by another builder (so its series are already unique). A family new to
    /// this builder is taken as it is, without hashing a label; otherwise its series are added one by one.
    public mutating func absorb(_ family: FamilySnapshot) {
        if positions[family.descriptor.name] == nil,
            family.series.allSatisfy({ $0.labelValues.count == family.descriptor.labelNames.count })
        {
            positions[family.descriptor.name] = families.count
            families.append(Family(descriptor: family.descriptor, series: family.series, index: nil))
            return
        }
        guard position(of: family.descriptor) != nil else { return }
        for series in family.series { add(family.descriptor, series) }
    }

    public func build() -> [FamilySnapshot] {
        families.map { FamilySnapshot($0.descriptor, series: $0.series) }
    }
}
