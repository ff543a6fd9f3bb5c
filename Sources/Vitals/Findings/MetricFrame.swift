/// Request-duration histogram counts: non-cumulative per bucket, as the registry keeps them.
public struct HistogramCounts: Sendable, Equatable {
    /// Upper bounds of the finite buckets; observations above the last are in `count` only.
    public var bounds: [Double]
    public var counts: [UInt64]
    public var sum: Double
    public var count: UInt64

    public init(bounds: [Double], counts: [UInt64], sum: Double, count: UInt64) {
        self.bounds = bounds
        self.counts = counts
        self.sum = sum
        self.count = count
    }

    /// What happened between `earlier` and this: per-bucket differences. A counter reset (a
    /// restarted source, a route evicted and back) makes a difference negative; that bucket then
    /// counts what is there now, as Prometheus' `increase` does.
    public func since(_ earlier: HistogramCounts?) -> HistogramCounts {
        guard let earlier, earlier.bounds == bounds, earlier.count <= count else { return self }
        var difference = counts
        for index in difference.indices where index < earlier.counts.count {
            difference[index] = counts[index] >= earlier.counts[index] ? counts[index] - earlier.counts[index] : counts[index]
        }
        return HistogramCounts(bounds: bounds, counts: difference, sum: max(0, sum - earlier.sum), count: count - earlier.count)
    }

    /// Adds another series with the same bounds (the status classes of one route).
    mutating func add(_ other: HistogramCounts) {
        guard other.bounds == bounds else { return }
        for index in counts.indices where index < other.counts.count { counts[index] += other.counts[index] }
        sum += other.sum
        count += other.count
    }

    /// The `q` quantile as Prometheus' `histogram_quantile` estimates it: linear within the
    /// bucket that holds it; in the overflow bucket, the highest finite bound. Nil when empty.
    public func quantile(_ q: Double) -> Double? {
        guard count > 0, !bounds.isEmpty else { return nil }
        let rank = q * Double(count)
        var cumulative: UInt64 = 0
        for (index, bound) in bounds.enumerated() {
            let inBucket = index < counts.count ? counts[index] : 0
            if Double(cumulative + inBucket) >= rank, inBucket > 0 {
                let lower = index == 0 ? 0 : bounds[index - 1]
                return lower + (bound - lower) * (rank - Double(cumulative)) / Double(inBucket)
            }
            cumulative += inBucket
        }
        return bounds.last
    }

    public var mean: Double? { count > 0 ? sum / Double(count) : nil }
}

/// What the findings and the page read from one gather of the registry, compacted: only the families the
/// rules use, so a frame's size is bounded by the route cap and the targets, not by the scrape.
public struct MetricFrame: Sendable {
    public struct Scalar: Sendable, Equatable {
        public var labels: [String: String]
        public var value: Double
    }

    static let requestDuration = "http_request_duration_seconds"
    static let probeDuration = "app_probe_duration_seconds"
    static let blockedSeconds = "app_event_loop_blocked_seconds"
    static let ownLag = "vitals_event_loop_lag_seconds"
    /// The scalar families rules read.
    static let scalarNames: Set<String> = [
        "redis_keyspace_hits_total", "redis_keyspace_misses_total", "redis_evicted_keys_total", "redis_memory_max_bytes", "redis_up",
        "pg_connections_used", "pg_connections_max", "pg_connections_used_ratio", "pg_stat_activity_idle_in_transaction_max_seconds",
        "pg_stat_activity_lock_waiting_sessions", "app_event_loop_blocked_total", "pg_route_statements_total", "pg_route_statement_seconds_total",
        "pg_locks_waiting_relation", "pg_stat_activity_application_sessions",
        "pg_index_unused", "pg_stat_database_stats_reset", "pg_stat_statements_single_row_lookup",
        // For the page.
        "pg_stat_activity_count",
    ]

    /// Families kept only for the series another family flags (value > 0): the sizes of unused
    /// indexes, the calls and time of lookups. Only those are read, and every frame of the window
    /// holds them, so the frame does not carry the whole index and statement lists.
    static let flaggedNames: [String: String] = [
        "pg_stat_user_indexes_size_bytes": "pg_index_unused",
        "pg_stat_statements_calls_total": "pg_stat_statements_single_row_lookup",
        "pg_stat_statements_seconds_total": "pg_stat_statements_single_row_lookup",
    ]

    /// Epoch seconds.
    public var time: Double
    /// Per route as `METHOD route`, summed over status classes.
    public var routes: [String: HistogramCounts] = [:]
    public var probe: HistogramCounts?
    public var blocked: HistogramCounts?
    /// vitals' own event loops, summed.
    public var ownLag: HistogramCounts?
    public var scalars: [String: [Scalar]] = [:]
    /// From the statement log, not a metric family (see ``FindingEvidence``).
    public var nPlusOne: [NPlusOneKey: NPlusOneTotals] = [:]
    public var indexCandidates: [IndexCandidateKey: IndexCandidateTotals] = [:]
    /// hypopg's estimates for some candidates (`--findings.hypopg`).
    public var indexEstimates: [IndexCandidateKey: IndexCostEstimate] = [:]

    public init(time: Double) {
        self.time = time
    }

    /// Every family a frame reads; the others would be gathered only to be skipped.
    static let familyNames: Set<String> = Set([requestDuration, probeDuration, blockedSeconds, ownLag])
        .union(scalarNames).union(flaggedNames.keys)

    /// The registry's current state as a frame.
    public static func gathered(from registry: MetricRegistry, time: Double) -> MetricFrame {
        MetricFrame(families: registry.gather(only: familyNames), time: time)
    }

    public init(families: [FamilySnapshot], time: Double) {
        self.time = time
        // Read after the others, when their flags are known: most of their series are skipped.
        var flaggedFamilies: [FamilySnapshot] = []
        var flagFamilies: [String: FamilySnapshot] = [:]
        for family in families {
            let name = family.descriptor.name
            if name == Self.requestDuration {
                let method = family.descriptor.labelNames.firstIndex(of: "method")
                let route = family.descriptor.labelNames.firstIndex(of: "route")
                for series in family.series {
                    guard let method, let route, case .histogram(let buckets, let sum, let count, _) = series.value else { continue }
                    let key = series.labelValues[method] + " " + series.labelValues[route]
                    let counts = HistogramCounts(bounds: family.descriptor.buckets, counts: buckets, sum: sum, count: count)
                    if routes[key] == nil { routes[key] = counts } else { routes[key]?.add(counts) }
                }
            } else if name == Self.ownLag {
                for series in family.series {
                    guard case .histogram(let buckets, let sum, let count, _) = series.value else { continue }
                    let counts = HistogramCounts(bounds: family.descriptor.buckets, counts: buckets, sum: sum, count: count)
                    if ownLag == nil { ownLag = counts } else { ownLag?.add(counts) }
                }
            } else if name == Self.probeDuration || name == Self.blockedSeconds {
                guard let series = family.series.first, case .histogram(let buckets, let sum, let count, _) = series.value else { continue }
                let counts = HistogramCounts(bounds: family.descriptor.buckets, counts: buckets, sum: sum, count: count)
                if name == Self.probeDuration { probe = counts } else { blocked = counts }
            } else if Self.flaggedNames[name] != nil {
                flaggedFamilies.append(family)
            } else if Self.scalarNames.contains(name) {
                scalars[name] = Self.scalars(of: family.series, family)
                if Self.flagNames.contains(name) { flagFamilies[name] = family }
            }
        }
        for family in flaggedFamilies {
            guard let flagName = Self.flaggedNames[family.descriptor.name] else { continue }
            // A flag and its family have the same labels in the same order (a test holds them to
            // it), so label values are compared as they are: no dictionary is built for a series
            // that is not flagged (most statements, most indexes).
            let flagged = Set(
                (flagFamilies[flagName]?.series ?? []).filter { if case .scalar(let value) = $0.value { value > 0 } else { false } }.map(\.labelValues))
            scalars[family.descriptor.name] = Self.scalars(of: family.series.filter { flagged.contains($0.labelValues) }, family)
        }
    }

    /// The families that flag series of another.
    private static let flagNames = Set(flaggedNames.values)

    private static func scalars(of series: [SeriesSnapshot], _ family: FamilySnapshot) -> [Scalar] {
        series.compactMap { series in
            guard case .scalar(let value) = series.value else { return nil }
            return Scalar(labels: Dictionary(zip(family.descriptor.labelNames, series.labelValues), uniquingKeysWith: { a, _ in a }), value: value)
        }
    }

    public func scalars(_ name: String) -> [Scalar] { scalars[name] ?? [] }

    /// The value of `name` whose labels match `labels` exactly.
    public func value(_ name: String, labels: [String: String] = [:]) -> Double? {
        scalars(name).first { $0.labels == labels }?.value
    }
}

/// The frames of the last window: a ring, so memory is fixed by the window and the interval.
public struct FrameWindow: Sendable {
    public let capacity: Int
    public private(set) var frames: [MetricFrame] = []

    public init(capacity: Int) {
        self.capacity = max(2, capacity)
    }

    public mutating func append(_ frame: MetricFrame) {
        frames.append(frame)
        if frames.count > capacity { frames.removeFirst(frames.count - capacity) }
    }

    public var earliest: MetricFrame? { frames.first }
    public var latest: MetricFrame? { frames.last }
}
