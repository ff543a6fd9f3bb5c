/// A per-fingerprint latency histogram small enough to keep thousands of: 80 log-spaced buckets
/// (four per doubling, 1 ms to ~17 min), so a quantile read from it is within ~10 % of the truth.
public struct SlowQueryLatencySketch: Sendable, Equatable {
    static let bucketCount = 80
    static let bounds: [Double] = {
        var bounds: [Double] = []
        var bound = 0.001
        for _ in 0..<bucketCount {
            bounds.append(bound)
            bound *= 1.189_207_115_002_721  // 2^(1/4)
        }
        return bounds
    }()

    private var counts = [UInt32](repeating: 0, count: SlowQueryLatencySketch.bucketCount)
    public private(set) var count: UInt64 = 0

    public init() {}

    public mutating func observe(_ seconds: Double) {
        guard !seconds.isNaN else { return }
        var low = 0
        var high = Self.bucketCount - 1
        while low < high {
            let mid = (low + high) >> 1
            if Self.bounds[mid] < seconds { low = mid + 1 } else { high = mid }
        }
        counts[low] &+= 1
        count &+= 1
    }

    /// The q-quantile, interpolated within its bucket and capped at `maximum` (the exact max seen).
    public func quantile(_ q: Double, maximum: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = max(1, (q * Double(count)).rounded(.up))
        var cumulative = 0.0
        for (index, bucket) in counts.enumerated() where bucket > 0 {
            let next = cumulative + Double(bucket)
            if next >= rank {
                let lower = index == 0 ? 0 : Self.bounds[index - 1]
                let upper = Self.bounds[index]
                let estimate = lower + (upper - lower) * (rank - cumulative) / Double(bucket)
                return min(estimate, maximum)
            }
            cumulative = next
        }
        return maximum
    }
}

/// Everything vitals knows about one fingerprint: pgBadger's per-query numbers, live.
public struct SlowQueryStats: Sendable, Equatable {
    public var id: String
    /// The normalised statement (no literals).
    public var text: String
    public var count: Int = 0
    public var totalSeconds: Double = 0
    public var maxSeconds: Double = 0
    public var sketch = SlowQueryLatencySketch()
    /// Seconds since the Unix epoch of the latest occurrence.
    public var lastSeen: Double = 0
    public var database: String?
    public var user: String?
    /// Relations that plans of this statement read sequentially (bounded).
    public var sequentialScans: [String] = []

    public init(id: String, text: String) {
        self.id = id
        self.text = text
    }

    public var meanSeconds: Double { count > 0 ? totalSeconds / Double(count) : 0 }
    public var p99Seconds: Double { sketch.quantile(0.99, maximum: maxSeconds) }
}

/// Per-fingerprint statistics in a bounded table, and the top-K set that decides which
/// fingerprints get their own `pg_slow_query_duration_seconds` series.
///
/// ## Top-K policy
/// - While fewer than K fingerprints have a series, a new fingerprint gets one at first sight.
/// - Every ``Configuration/rerankInterval`` seconds the K fingerprints with the most total time
///   become the members. A member that drops out has its series **removed** (so the family
///   never exceeds K + 1 series); from then on it counts under `fingerprint="__other__"`.
///   A newcomer's series starts at its first observation after promotion — what it did before
///   stays in `__other__`. Re-ranking on an interval rather than per entry keeps series from
///   flapping in and out when totals are close.
/// - Fingerprints without a series observe into `__other__`, so the family's total count and
///   sum stay exact.
///
/// ## The table
/// At most ``Configuration/maxFingerprints`` entries. When full, the tenth with the least total
/// time (members excepted) is evicted in one go, which keeps insertion amortised O(log n) even
/// under a stream of distinct statements. `/slow-queries` reads from this table, so it can show
/// fingerprints that have no series of their own.
public struct SlowQueryAggregator: Sendable {
    public struct Configuration: Sendable {
        public var topK: Int
        public var maxFingerprints: Int
        public var rerankInterval: Double
        public var maxRelationsPerFingerprint: Int

        public init(topK: Int = 50, maxFingerprints: Int = 5000, rerankInterval: Double = 60, maxRelationsPerFingerprint: Int = 8) {
            self.topK = max(1, topK)
            self.maxFingerprints = max(self.topK + 1, maxFingerprints)
            self.rerankInterval = rerankInterval
            self.maxRelationsPerFingerprint = maxRelationsPerFingerprint
        }
    }

    public enum Order: String, Sendable {
        case total, count
    }

    public static let otherLabel = LabelLimiter<String>.overflowValue

    public let configuration: Configuration
    public private(set) var table: [String: SlowQueryStats] = [:]
    public private(set) var members: Set<String> = []
    public private(set) var evictions = 0
    private var lastRerank: Double?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Records one execution; returns the `fingerprint` label value to observe it under.
    public mutating func record(
        _ fingerprint: StatementFingerprint, seconds: Double, at time: Double, database: String? = nil, user: String? = nil,
        sequentialScans: [String] = []
    ) -> String {
        if table[fingerprint.id] == nil {
            if table.count >= configuration.maxFingerprints { evict() }
            table[fingerprint.id] = SlowQueryStats(id: fingerprint.id, text: fingerprint.text)
        }
        let seconds = seconds.isFinite ? max(0, seconds) : 0
        // Update in place: no copy of the stats' arrays.
        table[fingerprint.id]!.count += 1
        table[fingerprint.id]!.totalSeconds += seconds
        table[fingerprint.id]!.maxSeconds = max(table[fingerprint.id]!.maxSeconds, seconds)
        table[fingerprint.id]!.sketch.observe(seconds)
        table[fingerprint.id]!.lastSeen = max(table[fingerprint.id]!.lastSeen, time)
        if let database { table[fingerprint.id]!.database = database }
        if let user { table[fingerprint.id]!.user = user }
        for relation in sequentialScans
        where table[fingerprint.id]!.sequentialScans.count < configuration.maxRelationsPerFingerprint
            && !table[fingerprint.id]!.sequentialScans.contains(relation)
        {
            table[fingerprint.id]!.sequentialScans.append(relation)
        }
        if members.contains(fingerprint.id) { return fingerprint.id }
        if members.count < configuration.topK {
            members.insert(fingerprint.id)
            return fingerprint.id
        }
        return Self.otherLabel
    }

    /// Re-ranks the members when the interval has passed; returns the ids that lost their series.
    public mutating func rerankIfDue(now: Double) -> [String] {
        guard let last = lastRerank else {
            lastRerank = now
            return []
        }
        guard now - last >= configuration.rerankInterval || now < last else { return [] }
        lastRerank = now
        return rerank()
    }

    /// Makes the K fingerprints with the most total time the members; returns the ids dropped.
    public mutating func rerank() -> [String] {
        let ranked = top(order: .total, limit: configuration.topK).map(\.id)
        let next = Set(ranked)
        let dropped = members.subtracting(next).sorted()
        members = next
        return dropped
    }

    /// The top fingerprints by total time or by count, ties broken by id for a stable order.
    public func top(order: Order, limit: Int) -> [SlowQueryStats] {
        let limit = max(0, limit)
        let all = Array(table.values)
        let sorted: [SlowQueryStats]
        switch order {
        case .total:
            sorted = all.sorted { ($0.totalSeconds, $1.id) > ($1.totalSeconds, $0.id) }
        case .count:
            sorted = all.sorted { ($0.count, $0.totalSeconds, $1.id) > ($1.count, $1.totalSeconds, $0.id) }
        }
        return Array(sorted.prefix(limit))
    }

    private mutating func evict() {
        let candidates = table.values.filter { !members.contains($0.id) }.sorted { ($0.totalSeconds, $0.id) < ($1.totalSeconds, $1.id) }
        let quota = max(1, configuration.maxFingerprints / 10)
        for stats in candidates.prefix(quota) {
            table.removeValue(forKey: stats.id)
            evictions += 1
        }
    }
}

/// Pairs auto_explain's plan records with the duration records of the same execution.
///
/// With both auto_explain and `log_min_duration_statement` on, one slow execution logs two
/// records from the same backend, in an order that depends on the protocol:
/// - simple protocol: the plan (at executor end), then `statement: …`;
/// - extended protocol: `execute <name>: …` (and its DETAIL), then the plan (when the portal
///   is dropped at Sync).
///
/// So per pid one record is held: a plan waiting for its statement, or an `execute` waiting for
/// its plan. They pair when their fingerprints are equal, or — for `EXECUTE name(…)` over a
/// `PREPARE`, whose plan quotes the PREPARE — when the plan ran no longer than the statement
/// and was logged within the statement's remaining time (timestamps with milliseconds
/// needed). Whatever is not paired is an entry of its own, emitted when the next record of
/// that pid arrives or on ``flush(emit:)`` (the log went quiet). `statement`, `parse` and
/// `bind` records are never held.
public struct SlowQueryCorrelator: Sendable {
    static let maxHeld = 1024
    /// Slack for the timing rule: log timestamps have millisecond resolution.
    static let timingSlack = 0.005

    private struct Held: Sendable {
        var entry: SlowQueryEntry
        var fingerprint: StatementFingerprint
        var order: Int
    }

    public let normalizer: StatementNormalizer
    private var held: [Int: Held] = [:]
    private var sequence = 0

    public init(normalizer: StatementNormalizer) {
        self.normalizer = normalizer
    }

    public var heldRecords: Int { held.count }

    /// - Parameter fingerprint: the entry's fingerprint when the caller has it already.
    public mutating func accept(_ entry: SlowQueryEntry, fingerprint known: StatementFingerprint? = nil, emit: (SlowQueryEntry, StatementFingerprint) -> Void) {
        let fingerprint = known ?? normalizer.fingerprint(entry.statement)
        let pid = entry.pid ?? -1
        switch entry.kind {
        case .parse, .bind:
            emit(entry, fingerprint)
        case .statement, .execute:
            var entry = entry
            if let previous = held.removeValue(forKey: pid) {
                if previous.entry.kind == .plan && Self.pairs(plan: previous.entry, planFingerprint: previous.fingerprint, with: entry, fingerprint) {
                    entry.plan = previous.entry.plan
                    emit(entry, fingerprint)
                    return
                }
                emit(previous.entry, previous.fingerprint)
            }
            if entry.kind == .execute && entry.plan == nil {
                hold(pid, entry, fingerprint, emit: emit)
            } else {
                emit(entry, fingerprint)
            }
        case .plan:
            if let previous = held.removeValue(forKey: pid) {
                if previous.entry.kind == .execute && previous.fingerprint.id == fingerprint.id {
                    var paired = previous.entry
                    paired.plan = entry.plan
                    emit(paired, previous.fingerprint)
                    return
                }
                emit(previous.entry, previous.fingerprint)
            }
            hold(pid, entry, fingerprint, emit: emit)
        }
    }

    /// Emits everything held, oldest first.
    public mutating func flush(emit: (SlowQueryEntry, StatementFingerprint) -> Void) {
        let all = held.values.sorted { $0.order < $1.order }
        held.removeAll()
        for item in all { emit(item.entry, item.fingerprint) }
    }

    private mutating func hold(_ pid: Int, _ entry: SlowQueryEntry, _ fingerprint: StatementFingerprint, emit: (SlowQueryEntry, StatementFingerprint) -> Void) {
        if held.count >= Self.maxHeld, let oldest = held.min(by: { $0.value.order < $1.value.order }) {
            held.removeValue(forKey: oldest.key)
            emit(oldest.value.entry, oldest.value.fingerprint)
        }
        sequence += 1
        held[pid] = Held(entry: entry, fingerprint: fingerprint, order: sequence)
    }

    static func pairs(plan: SlowQueryEntry, planFingerprint: StatementFingerprint, with statement: SlowQueryEntry, _ fingerprint: StatementFingerprint) -> Bool {
        if planFingerprint.id == fingerprint.id { return true }
        guard plan.durationSeconds <= statement.durationSeconds + timingSlack,
            let planTime = plan.timestamp.flatMap(SlowQueryTime.parsePostgres),
            let statementTime = statement.timestamp.flatMap(SlowQueryTime.parsePostgres),
            plan.timestamp?.contains(".") == true
        else { return false }
        let gap = statementTime - planTime
        return gap >= -timingSlack && gap <= statement.durationSeconds - plan.durationSeconds + timingSlack
    }
}
