/// The last hour of the busiest routes, for the page's charts: a ring of points at the collection
/// resolution, in a memory budget fixed when it is made, whatever the number of routes.
///
/// Each point keeps at most ``maxRoutes`` routes (the busiest of that interval) as small
/// fixed-size samples; route names are interned once, and the name table is compacted when it
/// outgrows what the ring can still refer to. The budget is therefore
/// `capacity × maxRoutes` samples plus as many names of at most ``maxNameLength`` bytes
/// (``budgetBytes``); with steady routes the name table stays at a handful.
public struct PageHistory: Sendable {
    /// One route in one interval. `Float` is plenty for milliseconds and rates on a chart.
    public struct Sample: Sendable, Equatable {
        public var route: UInt16
        public var p50: Float
        public var p95: Float
        public var p99: Float
        /// Requests per second.
        public var rate: Float
    }

    public struct Point: Sendable {
        public var time: Double
        public var samples: [Sample]
    }

    /// What one route looked like in one interval, as the service measured it.
    public struct Observation: Sendable, Equatable {
        public var route: String
        public var p50: Double?
        public var p95: Double?
        public var p99: Double?
        public var rate: Double

        public init(route: String, p50: Double?, p95: Double?, p99: Double?, rate: Double) {
            self.route = route
            self.p50 = p50
            self.p95 = p95
            self.p99 = p99
            self.rate = rate
        }
    }

    /// One route's line across the ring; nil where the route was not among the busiest.
    public struct Series: Sendable, Equatable {
        public var route: String
        public var p50: [Double?]
        public var p95: [Double?]
        public var p99: [Double?]
        public var rate: [Double?]
    }

    public static let maxNameLength = 160

    public let capacity: Int
    public let maxRoutes: Int
    private var points: [Point] = []
    /// Index of the oldest point once the ring is full.
    private var head = 0
    private var names: [String] = []
    private var ids: [String: UInt16] = [:]

    public init(capacity: Int, maxRoutes: Int) {
        self.capacity = max(2, capacity)
        // Route ids are 16 bits: every sample of a full ring may name a different route.
        self.maxRoutes = max(1, min(maxRoutes, Int(UInt16.max) / self.capacity))
        points.reserveCapacity(self.capacity)
    }

    /// The bytes the ring can ever hold: samples, point headers and the name table.
    public var budgetBytes: Int {
        capacity * (MemoryLayout<Point>.stride + maxRoutes * MemoryLayout<Sample>.stride)
            + nameLimit * (Self.maxNameLength + 2 * MemoryLayout<String>.stride + MemoryLayout<UInt16>.stride)
    }

    /// Names the table may hold: after a compaction the ring refers to at most
    /// `(capacity − 1) × maxRoutes`, and one append adds at most `maxRoutes`.
    private var nameLimit: Int { capacity * maxRoutes }

    public var count: Int { points.count }
    /// Route names held now (at most `capacity × maxRoutes`).
    var namesHeld: Int { names.count }

    public mutating func append(time: Double, _ observations: [Observation]) {
        let busiest = observations.filter { $0.rate > 0 }.sorted { ($0.rate, $1.route) > ($1.rate, $0.route) }.prefix(maxRoutes)
        if names.count + busiest.count > nameLimit { compactNames() }
        var samples: [Sample] = []
        samples.reserveCapacity(busiest.count)
        for observation in busiest {
            samples.append(
                Sample(
                    route: intern(Self.displayName(observation.route)), p50: Float(observation.p50 ?? .nan), p95: Float(observation.p95 ?? .nan),
                    p99: Float(observation.p99 ?? .nan), rate: Float(observation.rate)))
        }
        let point = Point(time: time, samples: samples)
        if points.count < capacity {
            points.append(point)
        } else {
            points[head] = point
            head = (head + 1) % capacity
        }
    }

    /// Oldest first.
    public var times: [Double] { ordered.map(\.time) }

    /// Every route still in the ring, busiest (by summed rate) first, at most `limit`.
    public func series(limit: Int) -> [Series] {
        let ordered = self.ordered
        var traffic: [UInt16: Double] = [:]
        for point in ordered { for sample in point.samples { traffic[sample.route, default: 0] += Double(sample.rate) } }
        let chosen = traffic.sorted { ($0.value, names[Int($1.key)]) > ($1.value, names[Int($0.key)]) }.prefix(max(0, limit)).map(\.key)
        return chosen.map { id in
            var series = Series(route: names[Int(id)], p50: [], p95: [], p99: [], rate: [])
            for point in ordered {
                let sample = point.samples.first { $0.route == id }
                series.p50.append(sample.flatMap { Self.value($0.p50) })
                series.p95.append(sample.flatMap { Self.value($0.p95) })
                series.p99.append(sample.flatMap { Self.value($0.p99) })
                series.rate.append(sample.map { Double($0.rate) })
            }
            return series
        }
    }

    private var ordered: [Point] { Array(points[head...] + points[..<head]) }

    private static func value(_ float: Float) -> Double? { float.isNaN ? nil : Double(float) }

    private static func displayName(_ route: String) -> String {
        route.utf8.count <= maxNameLength ? route : String(decoding: route.utf8.prefix(maxNameLength - 3), as: UTF8.self) + "…"
    }

    private mutating func intern(_ name: String) -> UInt16 {
        if let id = ids[name] { return id }
        let id = UInt16(names.count)
        names.append(name)
        ids[name] = id
        return id
    }

    /// Drops the names that no point kept after this append refers to, and renumbers the rest.
    private mutating func compactNames() {
        let overwritten = points.count == capacity ? head : nil
        var used = Set<UInt16>()
        for index in points.indices where index != overwritten { for sample in points[index].samples { used.insert(sample.route) } }
        var renumbered: [UInt16: UInt16] = [:]
        var keptNames: [String] = []
        for id in used.sorted() {
            renumbered[id] = UInt16(keptNames.count)
            keptNames.append(names[Int(id)])
        }
        for index in points.indices {
            points[index].samples = points[index].samples.compactMap { sample in
                guard let id = renumbered[sample.route] else { return nil }
                var sample = sample
                sample.route = id
                return sample
            }
        }
        names = keptNames
        ids = Dictionary(uniqueKeysWithValues: keptNames.enumerated().map { ($1, UInt16($0)) })
    }
}
