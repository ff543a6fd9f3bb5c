/// A relation sequentially scanned under one filter shape.
public struct IndexCandidateKey: Hashable, Sendable {
    public var relation: String
    public var filter: FilterShape

    public init(relation: String, filter: FilterShape) {
        self.relation = relation
        self.filter = filter
    }
}

/// Running totals of the slow statements one missing index would serve.
public struct IndexCandidateTotals: Sendable, Equatable {
    public var statements = 0
    /// Total duration of those statements.
    public var seconds = 0.0
    /// The largest scan seen: rows read (returned + removed by the filter) and returned.
    public var rowsScanned = 0.0
    public var rowsReturned = 0.0

    public init(statements: Int = 0, seconds: Double = 0, rowsScanned: Double = 0, rowsReturned: Double = 0) {
        self.statements = statements
        self.seconds = seconds
        self.rowsScanned = rowsScanned
        self.rowsReturned = rowsReturned
    }

    public func since(_ earlier: IndexCandidateTotals?) -> IndexCandidateTotals {
        guard let earlier, earlier.statements <= statements else { return self }
        return IndexCandidateTotals(
            statements: statements - earlier.statements, seconds: max(0, seconds - earlier.seconds), rowsScanned: rowsScanned, rowsReturned: rowsReturned)
    }
}

/// Sequential scans in analysed slow plans whose filter throws most of a large table away: where
/// an index would turn a scan into a lookup. Needs `auto_explain.log_analyze` (for `Rows Removed
/// by Filter`). A pure value; bounded by ``maxKeys`` (later candidates counted in ``overflow``).
public struct IndexCandidates: Sendable {
    /// A scan reading fewer rows than this is cheap whatever its filter.
    public var minRowsScanned: Double = 10_000
    /// The filter must remove at least this many rows per row it returns.
    public var minRemovedPerReturned: Double = 10
    public var maxKeys = 100
    public private(set) var totals: [IndexCandidateKey: IndexCandidateTotals] = [:]
    public private(set) var overflow = 0
    /// One statement per candidate, the latest seen (so that a statement the application no
    /// longer sends, which may no longer plan, is replaced), for `--findings.hypopg`; empty unless
    /// ``keepsSamples``.
    public private(set) var samples: [IndexCandidateKey: StatementSample] = [:]
    public var keepsSamples = false

    public init(keepsSamples: Bool = false) {
        self.keepsSamples = keepsSamples
    }

    /// - Parameter sample: called at most once, and only when the plan is a candidate's and
    ///   samples are kept (it lexes the statement: not for every plan).
    /// - Returns: whether the plan added to a candidate.
    @discardableResult
    public mutating func observe(_ plan: PlanSummary, seconds: Double, sample: () -> StatementSample? = { nil }) -> Bool {
        var seen = Set<IndexCandidateKey>()
        var made: StatementSample??
        for node in plan.nodes where node.isSequentialScan {
            guard let relation = node.relation, let filter = node.filter, let removed = node.rowsRemovedByFilter else { continue }
            let returned = node.rows ?? 0
            let scanned = returned + removed
            guard scanned >= minRowsScanned, removed >= minRemovedPerReturned * max(returned, 1) else { continue }
            let key = IndexCandidateKey(relation: relation, filter: filter)
            guard seen.insert(key).inserted else { continue }
            if totals[key] == nil {
                guard totals.count < maxKeys else {
                    overflow += 1
                    continue
                }
                totals[key] = IndexCandidateTotals()
            }
            if keepsSamples {
                if made == nil { made = .some(sample()) }
                if let kept = made ?? nil { samples[key] = kept }
            }
            totals[key]!.statements += 1
            totals[key]!.seconds += seconds
            if scanned > totals[key]!.rowsScanned {
                totals[key]!.rowsScanned = scanned
                totals[key]!.rowsReturned = returned
            }
        }
        return !seen.isEmpty
    }
}
