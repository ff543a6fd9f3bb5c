/// What vitals keeps of an auto_explain plan: node types, the relations they read, their row
/// counts, and for scans the *shape* of their filter (columns and comparisons, see
/// ``FilterShape``) — never the conditions themselves, sort keys or parameters, which can hold
/// literals (`Filter: (id = 42)`, `Query Parameters: $1 = '…'`).
public struct PlanSummary: Sendable, Equatable {
    public struct Node: Sendable, Equatable {
        /// `Seq Scan`, `Hash Join`, `Index Scan`, … (the text format's wording).
        public var type: String
        /// The relation (table, index for a bitmap index scan, function, CTE) after `on`, without alias.
        public var relation: String?
        /// Actual rows when the plan was analysed, else the planner's estimate.
        public var rows: Double?
        /// The columns and comparisons of the node's `Filter:`.
        public var filter: FilterShape?
        /// `Rows Removed by Filter` (analysed plans only, per loop).
        public var rowsRemovedByFilter: Double?

        public init(type: String, relation: String? = nil, rows: Double? = nil, filter: FilterShape? = nil, rowsRemovedByFilter: Double? = nil) {
            self.type = type
            self.relation = relation
            self.rows = rows
            self.filter = filter
            self.rowsRemovedByFilter = rowsRemovedByFilter
        }

        public var isSequentialScan: Bool { type == "Seq Scan" || type == "Parallel Seq Scan" }
    }

    /// Nodes in the plan's printed order (pre-order: the root first).
    public var nodes: [Node]

    public init(nodes: [Node]) {
        self.nodes = nodes
    }

    static let maxNodes = 200
    static let maxLineNodes = 12
    static let maxLineLength = 480

    /// Relations read by a sequential scan (plain or parallel), in plan order, without repeats.
    public var sequentialScans: [String] {
        var seen: [String] = []
        for node in nodes where node.isSequentialScan {
            if let relation = node.relation, !seen.contains(relation) { seen.append(relation) }
        }
        return seen
    }

    /// One line, leaves first (the order data flows): `Seq Scan on orders (rows=100000) → Hash → Hash Join`.
    public var line: String {
        var parts: [String] = []
        var length = 0
        for node in nodes.reversed() {
            guard parts.count < Self.maxLineNodes else {
                parts.append("…")
                break
            }
            var part = node.type
            if let relation = node.relation { part += " on " + relation }
            if node.relation != nil, let rows = node.rows, rows.isFinite, rows >= 0, rows < 1e18 { part += " (rows=\(Int(rows.rounded())))" }
            length += part.utf8.count + 3
            guard length <= Self.maxLineLength else {
                parts.append("…")
                break
            }
            parts.append(part)
        }
        return parts.joined(separator: " → ")
    }
}

/// Reads the message that auto_explain logs after `plan:` in text or JSON format.
public enum PlanParser {
    public struct Result: Sendable, Equatable {
        public var summary: PlanSummary
        /// The statement as auto_explain quotes it (`Query Text:`); holds literals, never log it.
        public var queryText: [UInt8]
    }

    /// `body` is everything after `plan:` (its leading newline optional).
    public static func parse(_ body: UnsafeRawBufferPointer) -> Result {
        var start = 0
        while start < body.count && (body[start] == 0x20 || body[start] == 0x0A || body[start] == 0x0D || body[start] == 0x09) { start += 1 }
        let rest = UnsafeRawBufferPointer(rebasing: body[start...])
        if start < body.count && body[start] == UInt8(ascii: "{") {
            return parseJSON(rest)
        }
        return parseText(rest)
    }

    public static func parse(_ body: String) -> Result {
        var copy = body
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    // MARK: JSON

    static func parseJSON(_ body: UnsafeRawBufferPointer) -> Result {
        guard let document = JSONValue.parse(body) else { return Result(summary: PlanSummary(nodes: []), queryText: []) }
        let query = document["Query Text"]?.string ?? ""
        var nodes: [PlanSummary.Node] = []
        if let plan = document["Plan"] {
            // An explicit stack instead of recursion; the JSON parser already bounds depth.
            var stack: [JSONValue] = [plan]
            while let node = stack.popLast(), nodes.count < PlanSummary.maxNodes {
                guard var type = node["Node Type"]?.string else { continue }
                if node["Parallel Aware"]?.bool == true { type = "Parallel " + type }
                if let join = node["Join Type"]?.string, join != "Inner", type.hasSuffix(" Join") || type == "Nested Loop" {
                    type = type == "Nested Loop" ? "Nested Loop \(join) Join" : String(type.dropLast(5)) + " \(join) Join"
                }
                let relation = node["Relation Name"]?.string ?? node["Function Name"]?.string ?? node["CTE Name"]?.string
                let rows = node["Actual Rows"]?.number ?? node["Plan Rows"]?.number
                nodes.append(
                    PlanSummary.Node(
                        type: type, relation: relation, rows: rows, filter: node["Filter"]?.string.flatMap(FilterShape.parse),
                        rowsRemovedByFilter: node["Rows Removed by Filter"]?.number))
                if let children = node["Plans"]?.array { stack.append(contentsOf: children.reversed()) }
            }
        }
        return Result(summary: PlanSummary(nodes: nodes), queryText: Array(query.utf8))
    }

    // MARK: Text

    /// ```
    /// Query Text: SELECT …            (may span lines)
    /// Hash Join  (cost=… rows=… width=…)
    ///   Hash Cond: (…)                (dropped: may hold literals)
    ///   ->  Seq Scan on orders o  (cost=… rows=100000 …) (actual time=… rows=… loops=1)
    /// ```
    static func parseText(_ body: UnsafeRawBufferPointer) -> Result {
        var query: [UInt8] = []
        var nodes: [PlanSummary.Node] = []
        var inQuery = false
        var sawRoot = false
        /// Whether a line after the root starts inside a quoted literal or identifier: a condition
        /// can quote a literal with line breaks, whose next line must not read as a node.
        var openQuote: UInt8?
        var lineStart = 0
        let queryLabel = Array("Query Text: ".utf8)
        let filterLabel = Array("Filter: ".utf8)
        let removedLabel = Array("Rows Removed by Filter: ".utf8)
        while lineStart <= body.count {
            var lineEnd = lineStart
            while lineEnd < body.count && body[lineEnd] != 0x0A { lineEnd += 1 }
            let line = UnsafeRawBufferPointer(rebasing: body[lineStart..<lineEnd])
            defer { lineStart = lineEnd + 1 }
            if !sawRoot {
                if let node = node(in: line, requireArrow: false) {
                    sawRoot = true
                    inQuery = false
                    nodes.append(node)
                } else if line.starts(with: queryLabel) {
                    inQuery = true
                    query.append(contentsOf: line.dropFirst(queryLabel.count))
                } else if inQuery {
                    query.append(0x0A)
                    query.append(contentsOf: line)
                }
                continue
            }
            let startsInQuote = openQuote != nil
            openQuote = quoteState(after: line, from: openQuote)
            guard !startsInQuote else { continue }
            if nodes.count < PlanSummary.maxNodes, let node = node(in: line, requireArrow: true) {
                nodes.append(node)
            } else if let last = nodes.indices.last, nodes[last].isSequentialScan {
                // A node's details follow its line: only a scan's filter and what it removed are read.
                var start = 0
                while start < line.count && line[start] == 0x20 { start += 1 }
                let detail = UnsafeRawBufferPointer(rebasing: line[start...])
                if detail.starts(with: filterLabel) {
                    nodes[last].filter = FilterShape.parse(UnsafeRawBufferPointer(rebasing: detail[(detail.startIndex + filterLabel.count)...]))
                } else if detail.starts(with: removedLabel) {
                    nodes[last].rowsRemovedByFilter = number(after: "Filter: ", in: detail, from: 0)
                }
            }
        }
        return Result(summary: PlanSummary(nodes: nodes), queryText: query)
    }

    /// A node line: `[spaces][->  ]Type[ using index][ on relation [alias]]  (cost=…)…`.
    static func node(in line: UnsafeRawBufferPointer, requireArrow: Bool) -> PlanSummary.Node? {
        var i = 0
        while i < line.count && line[i] == 0x20 { i += 1 }
        let hasArrow = i + 4 <= line.count && line[i] == UInt8(ascii: "-") && line[i + 1] == UInt8(ascii: ">") && line[i + 2] == 0x20 && line[i + 3] == 0x20
        if hasArrow { i += 4 } else if requireArrow || i > 0 { return nil }
        guard let costStart = find("  (cost=", in: line, from: i) else { return nil }
        let head = UnsafeRawBufferPointer(rebasing: line[i..<costStart])
        var typeEnd = head.count
        var relation: String?
        if let on = find(" on ", in: head, from: 0) {
            typeEnd = on
            relation = firstName(UnsafeRawBufferPointer(rebasing: head[(on + 4)...]))
        }
        if let using = find(" using ", in: UnsafeRawBufferPointer(rebasing: head[..<typeEnd]), from: 0) { typeEnd = using }
        guard let type = nodeType(UnsafeRawBufferPointer(rebasing: head[..<min(typeEnd, 64)])) else { return nil }
        // Actual rows when analysed, else the estimate.
        let tail = UnsafeRawBufferPointer(rebasing: line[costStart...])
        var rows = number(after: "rows=", in: tail, from: 0)
        if let actual = find("(actual ", in: tail, from: 0), let actualRows = number(after: "rows=", in: tail, from: actual) { rows = actualRows }
        return PlanSummary.Node(type: type, relation: relation, rows: rows)
    }

    /// The words EXPLAIN's text format writes as node types (explain.c). A line whose type has any
    /// other word is not a node: it is part of a statement or condition that happens to look like
    /// one, and what it holds could be a literal.
    static let nodeTypeWords: Set<String> = [
        "Aggregate", "All", "Anti", "Append", "Async", "Backward", "Bitmap", "BitmapAnd", "BitmapOr", "CTE", "Custom", "Delete", "Except",
        "Finalize", "Foreign", "Full", "Function", "Gather", "Group", "GroupAggregate", "Hash", "HashAggregate", "HashSetOp", "Heap", "Incremental",
        "Index", "Insert", "Intersect", "Join", "Left", "Limit", "LockRows", "Loop", "Materialize", "Memoize", "Merge", "MixedAggregate",
        "ModifyTable", "Named", "Nested", "Only", "Parallel", "Partial", "ProjectSet", "Range", "Recursive", "Result", "Right", "Sample", "Scan",
        "Semi", "Seq", "SetOp", "Sort", "Subquery", "Table", "Tid", "Tuplestore", "Union", "Unique", "Update", "Values", "WindowAgg",
        "WorkTable",
    ]

    /// `Seq Scan`, `Custom Scan` (its provider, `(Name)`, dropped), or nil when a word is not a node type's.
    static func nodeType(_ head: UnsafeRawBufferPointer) -> String? {
        var words: [Substring] = []
        for word in String(decoding: head, as: UTF8.self).split(separator: " ") {
            if word.hasPrefix("("), words.last == "Scan" { break }
            guard nodeTypeWords.contains(String(word)) else { return nil }
            words.append(word)
        }
        return words.isEmpty ? nil : words.joined(separator: " ")
    }

    /// The quote (`'` or `"`) still open at the end of `line`, given the one open at its start.
    static func quoteState(after line: UnsafeRawBufferPointer, from open: UInt8?) -> UInt8? {
        var open = open
        for b in line where b == UInt8(ascii: "'") || b == UInt8(ascii: "\"") {
            // A doubled quote closes and reopens: the same state.
            if open == nil { open = b } else if open == b { open = nil }
        }
        return open
    }

    /// The relation name without its alias: a quoted identifier kept whole (`"Order Items"`).
    static func firstName(_ target: UnsafeRawBufferPointer) -> String? {
        var end = 0
        var inQuotes = false
        while end < target.count && end < 128 {
            if target[end] == UInt8(ascii: "\"") { inQuotes.toggle() }
            if target[end] == 0x20 && !inQuotes { break }
            end += 1
        }
        return end == 0 ? nil : String(decoding: UnsafeRawBufferPointer(rebasing: target[..<end]), as: UTF8.self)
    }

    static func find(_ needle: StaticString, in line: UnsafeRawBufferPointer, from start: Int) -> Int? {
        let count = needle.utf8CodeUnitCount
        guard count > 0, line.count >= count, start <= line.count - count else { return nil }
        let first = needle.utf8Start[0]
        var i = start
        while i <= line.count - count {
            if line[i] == first {
                var matched = true
                for k in 1..<count where line[i + k] != needle.utf8Start[k] {
                    matched = false
                    break
                }
                if matched { return i }
            }
            i += 1
        }
        return nil
    }

    static func number(after label: StaticString, in line: UnsafeRawBufferPointer, from start: Int) -> Double? {
        guard let at = find(label, in: line, from: start) else { return nil }
        var end = at + label.utf8CodeUnitCount
        let begin = end
        while end < line.count && ((line[end] >= 0x30 && line[end] <= 0x39) || line[end] == UInt8(ascii: ".")) && end - begin < 24 { end += 1 }
        guard end > begin else { return nil }
        return Double(String(decoding: UnsafeRawBufferPointer(rebasing: line[begin..<end]), as: UTF8.self))
    }
}
