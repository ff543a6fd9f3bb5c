import Synchronization
import NIOConcurrencyHelpers

/// Produces families at scrape time (client_golang's Collector): process metrics, source health.
public protocol MetricCollector: Sendable {
    func collect() -> [FamilySnapshot]
    /// True when every family `collect()` returns has its series sorted by label values and
    /// unique already, so a gather that has the family from this collector alone need not sort it.
    var collectsSeriesInOrder: Bool { get }
    /// The name of every family `collect()` can return, when they are fixed (client_golang's
    /// Describe): a gather that wants some families only (a findings frame) does not ask a
    /// collector that has none of them. nil when not known: the collector is always asked.
    var familyNames: Set<String>? { get }
}

extension MetricCollector {
    public var collectsSeriesInOrder: Bool { false }
    public var familyNames: Set<String>? { nil }
}

/// The one registry every source feeds, and the only thing exposition reads.
///
/// It holds three kinds of families:
/// - live families (``CounterFamily``, ``GaugeFamily``, ``HistogramFamily``) that code updates in place;
/// - published snapshots (``SnapshotPublisher``), for sources that mirror a server's state on an
///   interval: each publication replaces the previous one whole, so series that disappear are dropped
///   and server-side cumulative counters are exposed at their absolute value;
/// - collectors, asked at scrape time.
///
/// ``gather()`` merges them into a consistent, duplicate-free list sorted by name. A family whose
/// descriptor conflicts with an earlier one of the same name is left out (and counted), rather
/// than failing the whole scrape as the reference exporters do with HTTP 500.
public final class MetricRegistry: Sendable {
    private struct State {
        var live: [String: any LiveFamily] = [:]
        var collectors: [any MetricCollector] = []
    }

    private let state = NIOLockedValueBox(State())
    private let conflicts = Atomic<Int>(0)
    /// The names of the last gather's families as gathered and their order by name: one for the
    /// scrape's whole gather, one for a gather of some names (the findings' frame). From one
    /// gather to the next the same families come in the same order, and comparing their names
    /// (each the same storage as before, so one step each) costs less than sorting them.
    private let lastOrder = NIOLockedValueBox<[Bool: (names: [String], order: [Int])]>([:])

    public init() {}

    public func counter(_ name: String, help: String, labels: [String] = []) throws(RegistryError) -> CounterFamily {
        let descriptor = try MetricDescriptor(name: name, help: help, type: .counter, labelNames: labels)
        return try register(descriptor) { CounterFamily(descriptor) }
    }

    public func gauge(_ name: String, help: String, labels: [String] = []) throws(RegistryError) -> GaugeFamily {
        let descriptor = try MetricDescriptor(name: name, help: help, type: .gauge, labelNames: labels)
        return try register(descriptor) { GaugeFamily(descriptor) }
    }

    public func histogram(
        _ name: String, help: String, labels: [String] = [], buckets: [Double], native: NativeHistogramOptions? = nil
    ) throws(RegistryError) -> HistogramFamily {
        let descriptor = try MetricDescriptor(name: name, help: help, type: .histogram, labelNames: labels, buckets: buckets, nativeHistogram: native)
        return try register(descriptor) { HistogramFamily(descriptor) }
    }

    /// Registering the same descriptor twice returns the existing family, so two instances of a
    /// source (two log globs, two targets) share one family.
    private func register<Family: LiveFamily>(_ descriptor: MetricDescriptor, make: () -> Family) throws(RegistryError) -> Family {
        let result: Result<Family, RegistryError> = state.withLockedValue { state in
            if let existing = state.live[descriptor.name] {
                guard existing.descriptor == descriptor, let family = existing as? Family else {
                    return .failure(RegistryError(code: .conflictingDescriptor, metric: descriptor.name, detail: "registered twice with different help, type, labels or buckets"))
                }
                return .success(family)
            }
            let family = make()
            state.live[descriptor.name] = family
            return .success(family)
        }
        return try result.get()
    }

    public func register(collector: any MetricCollector) {
        state.withLockedValue { $0.collectors.append(collector) }
    }

    /// A publisher owned by one source instance; see ``SnapshotPublisher``.
    public func makePublisher() -> SnapshotPublisher {
        let publisher = SnapshotPublisher()
        register(collector: publisher)
        return publisher
    }

    /// How many families were left out of expositions because they conflicted with another of the same name.
    public var conflictCount: Int { conflicts.load(ordering: .relaxed) }

    /// Everything to expose, merged: sorted by family name, series sorted by label values, no duplicates.
    /// With `names`, only those families: a reader that needs a few of them (the findings' frame)
    /// snapshots, merges and sorts none of the others.
    public func gather(only names: Set<String>? = nil) -> [FamilySnapshot] {
        let (live, collectors) = state.withLockedValue { state in
            (names.map { names in names.compactMap { state.live[$0] } } ?? Array(state.live.values), state.collectors)
        }
        // A live family, or one from a collector that keeps its series in order (a
        // ``SnapshotPublisher``), is taken as it is; anything merged, or from another collector,
        // is sorted here. Two arrays, not one of pairs: each family is copied once into `all` and
        // once into the result.
        let asked = collectors.filter { collector in
            guard let names, let known = collector.familyNames else { return true }
            return !known.isDisjoint(with: names)
        }
        let collected = asked.map { collector in (inOrder: collector.collectsSeriesInOrder, families: collector.collect()) }
        var all: [FamilySnapshot] = []
        var allInOrder: [Bool] = []
        let capacity = live.count + collected.reduce(0) { $0 + $1.families.count }
        all.reserveCapacity(capacity)
        allInOrder.reserveCapacity(capacity)
        for family in live {
            all.append(family.snapshot())
            allInOrder.append(true)
        }
        for (inOrder, families) in collected {
            for index in families.indices where names?.contains(families[index].descriptor.name) ?? true {
                all.append(families[index])
                allInOrder.append(inOrder)
            }
        }
        // Sorted by name, families of one name in the order gathered: the first decides the
        // descriptor and wins a duplicate series. Sorting once replaced a dictionary by name, whose
        // hashing of every name on every scrape cost more than the sort.
        let gatheredNames = all.map(\.descriptor.name)
        let isWhole = names == nil
        let order: [Int]
        if let known = lastOrder.withLockedValue({ $0[isWhole].flatMap { $0.names == gatheredNames ? $0.order : nil } }) {
            order = known
        } else {
            order = all.indices.sorted { a, b in
                gatheredNames[a] < gatheredNames[b] || (gatheredNames[a] == gatheredNames[b] && a < b)
            }
            lastOrder.withLockedValue { $0[isWhole] = (gatheredNames, order) }
        }
        var merged: [FamilySnapshot] = []
        var toSort: [Bool] = []
        merged.reserveCapacity(all.count)
        toSort.reserveCapacity(all.count)
        var lastIndex: Int?
        var conflicting = 0
        for index in order {
            guard let last = lastIndex, gatheredNames[last] == gatheredNames[index] else {
                merged.append(all[index])
                toSort.append(!allInOrder[index])
                lastIndex = index
                continue
            }
            guard merged[merged.count - 1].descriptor == all[index].descriptor else {
                conflicting += 1
                continue
            }
            merged[merged.count - 1].series.append(contentsOf: all[index].series)
            toSort[merged.count - 1] = true
        }
        if conflicting > 0 { conflicts.add(conflicting, ordering: .relaxed) }
        for position in merged.indices where toSort[position] {
            merged[position].series = Self.sortedUnique(merged[position].series)
        }
        return merged
    }

    /// Which of several series with the same labels stays.
    enum Duplicate {
        /// The first: a gather's merge, where the earlier source wins.
        case first
        /// The last: a pass's samples, where a later one corrects an earlier one.
        case last
    }

    /// Sorts by label values and keeps one of any duplicates, so the output is stable and valid.
    static func sortedUnique(_ series: [SeriesSnapshot], keeping duplicate: Duplicate = .first) -> [SeriesSnapshot] {
        guard series.count > 1 else { return series }
        // Most families arrive in order already (one series, or a source's rows sorted by key):
        // one comparison per series instead of a sort and a copy.
        if series.indices.dropFirst().allSatisfy({ series[$0 - 1].labelValues.lexicographicallyPrecedes(series[$0].labelValues) }) {
            return series
        }
        let sorted = series.enumerated().sorted { a, b in
            a.element.labelValues.lexicographicallyPrecedes(b.element.labelValues) || (a.element.labelValues == b.element.labelValues && a.offset < b.offset)
        }
        var result: [SeriesSnapshot] = []
        result.reserveCapacity(sorted.count)
        for (_, element) in sorted {
            if let last = result.last, last.labelValues == element.labelValues {
                if duplicate == .last { result[result.count - 1] = element }
            } else {
                result.append(element)
            }
        }
        return result
    }
}

/// Holds the latest complete collection of one source instance.
///
/// A source builds a whole pass with ``SnapshotBuilder`` and publishes it at once: scrapes see
/// either the previous pass or the new one, never half of each.
public final class SnapshotPublisher: MetricCollector {
    /// Each family's series sorted by label values and unique, as a gather exposes them: put in
    /// order once per publication, on the source's thread, not in every gather (each scrape and
    /// findings frame) on the event loop.
    private let current = NIOLockedValueBox<[FamilySnapshot]>([])

    public func publish(_ families: [FamilySnapshot]) {
        let inOrder = families.map { family in
            var family = family
            family.series = MetricRegistry.sortedUnique(family.series)
            return family
        }
        current.withLockedValue { $0 = inOrder }
    }

    public func clear() {
        current.withLockedValue { $0 = [] }
    }

    public func collect() -> [FamilySnapshot] {
        current.withLockedValue { $0 }
    }

    public var collectsSeriesInOrder: Bool { true }
}
