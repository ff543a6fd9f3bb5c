/// What an index could serve in a plan node's `Filter:`: the columns compared and how, never the
/// values. `((name)::text ~~* '%acme%'::text)` becomes `name`, a pattern with a leading wildcard;
/// the literal itself is looked at for that one fact and dropped.
public struct FilterShape: Sendable, Equatable, Hashable {
    public enum Comparison: String, Sendable, Hashable {
        /// `=`, `= ANY (…)`: a btree serves it.
        case equality
        /// `<`, `<=`, `>`, `>=`: a btree serves it.
        case range
        /// `ILIKE` (`~~*`), or `LIKE` (`~~`) whose pattern starts with a wildcard or is a parameter:
        /// only a trigram index serves it.
        case containsPattern = "contains_pattern"
        /// `LIKE 'abc%'`: a btree with `text_pattern_ops` serves it; counted as a range.
        case prefixPattern = "prefix_pattern"
    }

    public struct Condition: Sendable, Equatable, Hashable {
        public var column: String
        public var comparison: Comparison
    }

    /// In the filter's order, without repeats; at most ``maxConditions``.
    public var conditions: [Condition]

    static let maxConditions = 8
    static let maxColumnLength = 63

    public init(conditions: [Condition]) {
        self.conditions = conditions
    }

    /// The shape of `filter` (the text after `Filter: `), or nil when no column comparison was found.
    public static func parse(_ filter: UnsafeRawBufferPointer) -> FilterShape? {
        var lexer = SQLLexer(input: filter)
        var tokens: [SQLToken] = []
        while let token = lexer.next(), tokens.count < 512 { tokens.append(token) }
        var conditions: [Condition] = []
        var index = 0
        while index < tokens.count, conditions.count < maxConditions {
            defer { index += 1 }
            guard tokens[index].kind == .identifier || tokens[index].kind == .quotedIdentifier else { continue }
            // `t.col`: the column is the last part.
            if index + 2 < tokens.count, tokens[index + 1].kind == .dot { continue }
            guard let column = name(tokens[index], in: filter) else { continue }
            // Skip what wraps a column: `(name)::text`, `name::text`.
            var next = index + 1
            while next < tokens.count {
                if tokens[next].kind == .closeParen {
                    next += 1
                } else if tokens[next].kind == .doubleColon, next + 1 < tokens.count {
                    next += 2
                } else {
                    break
                }
            }
            guard next + 1 < tokens.count, tokens[next].kind == .op else { continue }
            let op = String(decoding: UnsafeRawBufferPointer(rebasing: filter[tokens[next].start..<tokens[next].end]), as: UTF8.self)
            let comparison: Comparison
            switch op {
            case "=": comparison = .equality
            case "<", "<=", ">", ">=": comparison = .range
            case "~~*":
                // ILIKE: no btree serves it (short of an index on lower()), whatever the pattern.
                comparison = .containsPattern
            case "~~":
                // LIKE: a literal pattern says whether it is anchored; a parameter (`$1`, a
                // generic plan) could be either, and only a trigram index serves both.
                let value = tokens[next + 1]
                guard value.kind == .placeholder, value.end - value.start >= 2 else { continue }
                let anchored = filter[value.start] == UInt8(ascii: "'") && filter[value.start + 1] != UInt8(ascii: "%") && filter[value.start + 1] != UInt8(ascii: "_")
                comparison = anchored ? .prefixPattern : .containsPattern
            default: continue
            }
            let condition = Condition(column: column, comparison: comparison)
            if !conditions.contains(condition) { conditions.append(condition) }
        }
        return conditions.isEmpty ? nil : FilterShape(conditions: conditions)
    }

    public static func parse(_ filter: String) -> FilterShape? {
        var copy = filter
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    /// A column name as written: unquoted identifiers as they are (the server prints them folded),
    /// quoted ones without their quotes. Never a literal: the lexer tells them apart.
    static func name(_ token: SQLToken, in text: UnsafeRawBufferPointer) -> String? {
        var bytes = Array(UnsafeRawBufferPointer(rebasing: text[token.start..<token.end]))
        if token.kind == .quotedIdentifier {
            guard bytes.count >= 2 else { return nil }
            bytes = Array(bytes.dropFirst().dropLast())
        }
        guard !bytes.isEmpty, bytes.count <= maxColumnLength, let name = String(validating: bytes, as: UTF8.self) else { return nil }
        // Function names and types are identifiers too; a column is followed by an operator, which
        // the caller checks. Keywords the server prints in filters are never columns.
        guard !["and", "or", "not", "any", "all", "text", "integer", "bigint", "numeric"].contains(name.lowercased()) else { return nil }
        return name
    }

    /// `schema.table` split at its dots, a part the server printed quoted (`"Order Items"`, as the
    /// text format does) unquoted, so ``sqlIdentifier(_:)`` quotes it once, not twice.
    static func relationParts(_ relation: String) -> [String] {
        var parts: [String] = []
        var rest = Substring(relation)
        while !rest.isEmpty {
            var part = ""
            if rest.first == "\"" {
                // Quoted: up to the closing quote, `""` standing for one.
                rest = rest.dropFirst()
                while let c = rest.first {
                    rest = rest.dropFirst()
                    if c == "\"" {
                        guard rest.first == "\"" else { break }
                        rest = rest.dropFirst()
                    }
                    part.append(c)
                }
                // Anything between the closing quote and the next dot belongs to no name the server prints.
                rest = rest.drop { $0 != "." }
            } else {
                // A quote inside an unquoted part is a character of the name (JSON plans print names raw).
                part = String(rest.prefix { $0 != "." })
                rest = rest.dropFirst(part.count)
            }
            if !part.isEmpty { parts.append(part) }
            rest = rest.drop { $0 == "." }
        }
        return parts
    }

    /// How to write the column in DDL: bare when it is a plain lower-case identifier, else quoted.
    static func sqlIdentifier(_ name: String) -> String {
        let plain = name.utf8.first.map { ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x5F } == true
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        // A table named `order` or `user` is valid only quoted; quoting a word that needs no
        // quotes names the same lower-case identifier, so erring towards quotes is safe.
        let keyword = plain && (SQLKeywords.words.contains(name.uppercased()) || reservedBeyondKeywords.contains(name))
        return plain && !keyword ? name : "\"" + name.replacing("\"", with: "\"\"") + "\""
    }

    /// PostgreSQL's reserved words that ``SQLKeywords`` (the fingerprint's clause words) lacks.
    static let reservedBeyondKeywords: Set<String> = [
        "analyse", "authorization", "binary", "cast", "collation", "current_catalog", "current_date", "current_role", "current_schema",
        "current_time", "current_timestamp", "current_user", "freeze", "initially", "localtime", "localtimestamp", "placing", "session_user",
        "user", "verbose",
    ]

    /// `CREATE INDEX CONCURRENTLY …` for `relation`: a trigram GIN for a contains-pattern
    /// filter, else a btree on the equality columns first, then one range column.
    /// - Parameter concurrently: false for hypopg, whose `hypopg_create_index` takes a plain
    ///   `CREATE INDEX`; the index is otherwise the same.
    public func suggestedIndex(on relation: String, concurrently: Bool = true) -> (ddl: String, needsTrigram: Bool) {
        let table = Self.relationParts(relation).map(Self.sqlIdentifier).joined(separator: ".")
        let create = concurrently ? "CREATE INDEX CONCURRENTLY ON" : "CREATE INDEX ON"
        if let pattern = conditions.first(where: { $0.comparison == .containsPattern }) {
            return ("\(create) \(table) USING gin (\(Self.sqlIdentifier(pattern.column)) gin_trgm_ops);", true)
        }
        var columns = conditions.filter { $0.comparison == .equality }.map(\.column)
        if let range = conditions.first(where: { $0.comparison == .range || $0.comparison == .prefixPattern }) { columns.append(range.column) }
        var seen = Set<String>()
        columns = columns.filter { seen.insert($0).inserted }
        let prefixOps = conditions.contains { $0.comparison == .prefixPattern } && columns.last.map { last in conditions.contains { $0.column == last && $0.comparison == .prefixPattern } } == true
        let list = columns.enumerated().map { offset, column in
            Self.sqlIdentifier(column) + (prefixOps && offset == columns.count - 1 ? " text_pattern_ops" : "")
        }
        return ("\(create) \(table) (\(list.joined(separator: ", ")));", false)
    }
}
