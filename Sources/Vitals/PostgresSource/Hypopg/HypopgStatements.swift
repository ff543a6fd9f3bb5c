/// The SQL one estimate sends, built from values: nothing here touches a connection.
///
/// Every statement of an estimate runs inside `BEGIN READ ONLY` … `ROLLBACK`, with a local
/// statement_timeout: the server itself refuses any write, and the hypothetical index lives in
/// the backend's memory only (hypopg never touches the catalogs), removed by `hypopg_reset()`.
struct HypopgStatements: Sendable, Equatable {
    /// `PQserverVersion` from which `EXPLAIN (GENERIC_PLAN)` exists.
    static let genericPlanVersion = 160_000

    static let extensionInstalled = "SELECT 1 AS installed FROM pg_extension WHERE extname = 'hypopg'"
    /// The DDL is a bound parameter: it is never spliced into this statement's text.
    static let createIndex = "SELECT indexname FROM hypopg_create_index($1)"
    static let reset = "SELECT hypopg_reset()"
    static let rollback = "ROLLBACK"
    /// After a failure inside the transaction: end it, then drop any hypothetical index left.
    static let rollbackAndReset = "ROLLBACK; SELECT hypopg_reset()"

    static func begin(statementTimeout: Duration) -> String {
        let milliseconds = max(1, Int((statementTimeout.seconds * 1000).rounded()))
        return "BEGIN READ ONLY; SET LOCAL statement_timeout = \(milliseconds); SET LOCAL lock_timeout = \(milliseconds)"
    }

    /// `EXPLAIN (FORMAT JSON[, GENERIC_PLAN]) <statement>`, without a trailing semicolon.
    static func explain(_ statement: String, generic: Bool) -> String {
        var body = Substring(statement)
        while let last = body.last, last == ";" || last.isWhitespace { body = body.dropLast() }
        return (generic ? "EXPLAIN (FORMAT JSON, GENERIC_PLAN) " : "EXPLAIN (FORMAT JSON) ") + body
    }

    /// The suggested index as `hypopg_create_index` takes it: the finding's own DDL without
    /// CONCURRENTLY. Nil for a trigram GIN, which hypopg cannot simulate.
    static func indexDefinition(for key: IndexCandidateKey) -> String? {
        let (ddl, needsTrigram) = key.filter.suggestedIndex(on: key.relation, concurrently: false)
        return needsTrigram ? nil : ddl
    }
}

/// What vitals reads of `EXPLAIN (FORMAT JSON)`: the root's total cost and the indexes the plan
/// reads. Parsed with the project's one JSON reader.
struct ExplainCost: Sendable, Equatable {
    var totalCost: Double
    var indexNames: Set<String>

    static let maxNodes = 1000

    /// `[{"Plan": {"Total Cost": …, "Plans": […]}}]`; nil when the text is not such a plan.
    static func parse(_ json: String) -> ExplainCost? {
        guard let document = JSONValue.parse(json) else { return nil }
        let top = document.array?.first ?? document
        guard let plan = top["Plan"], let cost = plan["Total Cost"]?.number, cost.isFinite, cost >= 0 else { return nil }
        var names = Set<String>()
        var stack = [plan]
        var visited = 0
        while let node = stack.popLast(), visited < maxNodes {
            visited += 1
            if let name = node["Index Name"]?.string { names.insert(name) }
            if let children = node["Plans"]?.array { stack.append(contentsOf: children) }
        }
        return ExplainCost(totalCost: cost, indexNames: names)
    }
}
