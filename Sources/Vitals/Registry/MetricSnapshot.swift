/// The state of one series at the moment of a scrape.
public struct SeriesSnapshot: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case scalar(Double)
        /// `bucketCounts[i]` counts observations `<= buckets[i]`, non-cumulative; the `+Inf` bucket is `count`.
        /// `native` carries the exponential buckets when the family keeps them; only the protobuf
        /// format can express them, the text formats write the classic buckets.
        case histogram(bucketCounts: [UInt64], sum: Double, count: UInt64, native: NativeHistogramBuckets? = nil)
        /// `quantiles` pairs each quantile (0…1) with its value, ascending by quantile.
        case summary(quantiles: [SummaryQuantile], sum: Double, count: UInt64)

        /// Case by case, the payloads compared where they are, without the tuple of both values
        /// the synthesized `==` matches on: a scrape compares a value for every series it compares.
        public static func == (lhs: Value, rhs: Value) -> Bool {
            switch lhs {
            case .scalar(let value):
                guard case .scalar(let other) = rhs else { return false }
                return value == other
            case .histogram(let bucketCounts, let sum, let count, let native):
                guard case .histogram(let otherCounts, let otherSum, let otherCount, let otherNative) = rhs else { return false }
                return sum == otherSum && count == otherCount && bucketCounts == otherCounts && native == otherNative
            case .summary(let quantiles, let sum, let count):
                guard case .summary(let otherQuantiles, let otherSum, let otherCount) = rhs else { return false }
                return sum == otherSum && count == otherCount && quantiles == otherQuantiles
            }
        }
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

    /// The value first: a scrape compares each family with the one it wrote before, and a series
    /// that changed is told apart by one number instead of its label values' bytes.
    public static func == (lhs: SeriesSnapshot, rhs: SeriesSnapshot) -> Bool {
        lhs.value == rhs.value && lhs.labelValues == rhs.labelValues
    }
}

/// One quantile of a summary: `value` is the `quantile`-th percentile of what was observed.
public struct SummaryQuantile: Sendable, Hashable {
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

    /// Series by series where they lie, field by field as ``SeriesSnapshot``'s `==` (the value
    /// first): a scrape compares every family with the one it wrote before
    /// (``CompressedExpositionCache``), and `Array`'s `==`, or that `==` called on the buffer's
    /// elements, copied each series it compared (BENCHMARKS.md, "Unchanged series copied, measured
    /// and dropped; families compared in place"). The same storage is equal at once.
    public static func == (lhs: FamilySnapshot, rhs: FamilySnapshot) -> Bool {
        guard lhs.descriptor == rhs.descriptor, lhs.series.count == rhs.series.count else { return false }
        return lhs.series.withUnsafeBufferPointer { left in
            rhs.series.withUnsafeBufferPointer { right in
                guard left.baseAddress != right.baseAddress else { return true }
                for index in left.indices where left[index].value != right[index].value || left[index].labelValues != right[index].labelValues {
                    return false
                }
                return true
            }
        }
    }
}

/// Builds the families of one collection pass, for sources that publish absolute values
/// (a server's cumulative counters, current gauges) rather than incrementing live metrics.
///
/// Samples with the same name and labels are merged (the last wins), so a source can never
/// produce a duplicate series even if its input holds one. Families come out in declaration
/// order, each family's series sorted by label values, as a publisher keeps them.
public struct SnapshotBuilder: Sendable {
    private struct Family: Sendable {
        var descriptor: MetricDescriptor
        var series: [SeriesSnapshot]
    }

    /// In declaration order; `positions` finds a family by name.
    private var families: [Family] = []
    private var positions: [String: Int] = [:]
    /// The families of the last samples, latest first. Samples come family by family, or a row at
    /// a time through a few families in turn (a statement's calls, time, rows…): these are
    /// checked before the name is hashed, by descriptor identity (a metric's constant is one
    /// descriptor, copied), a pointer each where comparing names compared the bytes of every name
    /// that differed. A descriptor made apart is found by its name.
    private var recent: [Int] = []
    private static let recentCount = 8
    public private(set) var errors: [RegistryError] = []

    public init() {}

    /// Declares a family so it is exposed (with HELP and TYPE) even before it has samples.
    public mutating func declare(_ descriptor: MetricDescriptor) {
        _ = position(of: descriptor)
    }

    /// The family's position, declaring it if it is new; nil when the name is taken by a different descriptor.
    private mutating func position(of descriptor: MetricDescriptor) -> Int? {
        let found: Int
        if let slot = recent.firstIndex(where: { families[$0].descriptor.isCopy(of: descriptor) }) {
            found = recent[slot]
            if slot > 0 { remember(found, replacing: slot) }
        } else if let known = positions[descriptor.name] {
            found = known
            // It may be among the recent ones under another copy of its descriptor (one made apart,
            // or a conflicting one): moved to the front, not listed twice.
            remember(found, replacing: recent.firstIndex(of: found))
        } else {
            positions[descriptor.name] = families.count
            families.append(Family(descriptor: descriptor, series: []))
            remember(families.count - 1, replacing: nil)
            return families.count - 1
        }
        guard families[found].descriptor == descriptor else {
            errors.append(RegistryError(code: .conflictingDescriptor, metric: descriptor.name, detail: "declared twice with different help, type or labels"))
            return nil
        }
        return found
    }

    /// Moves `position` to the front of ``recent``, from `slot` when it is there already.
    private mutating func remember(_ position: Int, replacing slot: Int?) {
        if let slot {
            recent.remove(at: slot)
        } else if recent.count == Self.recentCount {
            recent.removeLast()
        }
        recent.insert(position, at: 0)
    }

    public mutating func add(_ descriptor: MetricDescriptor, _ series: SeriesSnapshot) {
        guard let position = position(of: descriptor) else { return }
        guard series.labelValues.count == descriptor.labelNames.count else {
            errors.append(RegistryError(code: .labelCountMismatch, metric: descriptor.name, detail: "wrong number of label values"))
            return
        }
        families[position].series.append(series)
    }

    public mutating func add(_ descriptor: MetricDescriptor, value: Double, labels: [String] = []) {
        add(descriptor, .scalar(value, labels))
    }

    /// Adds a family built by another builder. A family new to this builder is taken as it is;
    /// otherwise its series join the family's, and later ones win as with ``add(_:_:)``.
    public mutating func absorb(_ family: FamilySnapshot) {
        guard family.series.allSatisfy({ $0.labelValues.count == family.descriptor.labelNames.count }) else {
            for series in family.series { add(family.descriptor, series) }
            return
        }
        guard let position = position(of: family.descriptor) else { return }
        if families[position].series.isEmpty {
            families[position].series = family.series
        } else {
            families[position].series.append(contentsOf: family.series)
        }
    }

    /// Merging by sorting, not by hashing each sample's labels as it comes: a publisher keeps its
    /// series sorted anyway, and series built in order are only compared, once each.
    public func build() -> [FamilySnapshot] {
        families.map { FamilySnapshot($0.descriptor, series: MetricRegistry.sortedUnique($0.series, keeping: .last)) }
    }
}
