/// One named bottleneck: what it is, what it is about, the numbers that show it, what to do, and
/// what it costs. Findings are recomputed on an interval, so a fixed problem disappears.
///
/// Text here is built from templated routes, fingerprints, relation, column and server names
/// only: never a statement's literal, never a secret.
public struct Finding: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable, Comparable {
        /// The headline: a route whose latency quantile is over the target.
        case routeOverTarget = "route_over_target"
        case nPlusOne = "n_plus_one"
        case missingIndex = "missing_index"
        case cacheIneffective = "cache_ineffective"
        case cacheEvictions = "cache_evictions"
        case connectionsNearLimit = "connections_near_limit"
        case idleInTransaction = "idle_in_transaction"
        case lockWaits = "lock_waits"
        case eventLoopBlocked = "event_loop_blocked"
        /// An index never scanned that enforces nothing: a drop candidate.
        case unusedIndex = "unused_index"
        /// A lookup by key run many times per request (pg_stat_statements): the N+1 without the log.
        case callsPerRequest = "calls_per_request"
        /// One application's sessions flat at a fixed count while latency rises: a full client pool.
        case poolSaturated = "pool_saturated"

        public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    }

    /// A number with its unit and the window it was measured over.
    public struct Evidence: Sendable, Equatable {
        public var name: String
        public var value: Double
        /// `seconds`, `ratio`, `per_minute`, `count`, `rows`.
        public var unit: String
        /// Seconds the value was measured over; 0 for a current value (a gauge).
        public var windowSeconds: Double

        public init(_ name: String, _ value: Double, unit: String, window: Double) {
            self.name = name
            self.value = value
            self.unit = unit
            self.windowSeconds = window
        }
    }

    public var kind: Kind
    /// What it is about: a route (`GET /markets/{id}`), a fingerprint, a relation, a server.
    public var subject: String
    /// The route it attaches to, when known (from sqlcommenter tags or the subject itself).
    public var route: String?
    public var evidence: [Evidence]
    public var action: String
    /// Estimated seconds of request (or database) time per minute it costs; nil when vitals cannot
    /// estimate it honestly. Ranks findings.
    public var impactSecondsPerMinute: Double?
    /// Orders findings of one kind that have no impact estimate: how big the subject is in the
    /// kind's own unit (an unused index's bytes), so the board keeps the largest, not the first
    /// by name.
    public var rank: Double?
    /// Epoch seconds: when this kind and subject was first and last found active.
    public var firstSeen: Double
    public var lastSeen: Double

    public init(
        kind: Kind, subject: String, route: String? = nil, evidence: [Evidence], action: String, impactSecondsPerMinute: Double?,
        rank: Double? = nil, firstSeen: Double = 0, lastSeen: Double = 0
    ) {
        self.rank = rank
        self.kind = kind
        self.subject = subject
        self.route = route
        self.evidence = evidence
        self.action = action
        self.impactSecondsPerMinute = impactSecondsPerMinute
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
    }

    struct Key: Hashable {
        let kind: Kind
        let subject: String
    }

    var key: Key { Key(kind: kind, subject: subject) }

    /// Orders by impact (unestimated last), then route-over-target first, then kind, rank and
    /// subject, so the list is stable between evaluations.
    static func byImpact(_ a: Finding, _ b: Finding) -> Bool {
        let left = a.impactSecondsPerMinute ?? -1
        let right = b.impactSecondsPerMinute ?? -1
        if left != right { return left > right }
        if (a.kind == .routeOverTarget) != (b.kind == .routeOverTarget) { return a.kind == .routeOverTarget }
        if a.kind != b.kind { return a.kind < b.kind }
        if (a.rank ?? 0) != (b.rank ?? 0) { return (a.rank ?? 0) > (b.rank ?? 0) }
        return a.subject < b.subject
    }
}

/// The findings of the latest evaluation, with what earlier ones remember: when each was first
/// seen. A pure value; ``FindingsService`` owns one.
///
/// Bounded: at most ``maxPerKind`` findings of each kind (the top by impact), so at most
/// `Kind.allCases.count × maxPerKind` in all, whatever the input.
public struct FindingsBoard: Sendable {
    public let maxPerKind: Int
    public private(set) var current: [Finding] = []

    public init(maxPerKind: Int) {
        self.maxPerKind = max(1, maxPerKind)
    }

    /// Replaces the findings with this evaluation's candidates. A candidate seen before keeps its
    /// first-seen time; one not among the candidates is gone.
    public mutating func update(with candidates: [Finding], now: Double) {
        let previous = Dictionary(current.map { ($0.key, $0.firstSeen) }, uniquingKeysWith: { first, _ in first })
        var byKind: [Finding.Kind: [Finding]] = [:]
        var seen = Set<Finding.Key>()
        for var candidate in candidates where seen.insert(candidate.key).inserted {
            candidate.firstSeen = previous[candidate.key] ?? now
            candidate.lastSeen = now
            byKind[candidate.kind, default: []].append(candidate)
        }
        current = byKind.values.flatMap { $0.sorted(by: Finding.byImpact).prefix(maxPerKind) }.sorted(by: Finding.byImpact)
    }
}
