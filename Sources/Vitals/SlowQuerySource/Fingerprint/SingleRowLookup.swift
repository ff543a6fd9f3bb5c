/// Whether a normalised statement is a lookup by key: `SELECT … WHERE <key> = $1 [AND <key> = $2 …]`,
/// optionally followed by `LIMIT`, `OFFSET`, `ORDER BY`, `FETCH` or `FOR UPDATE`. Such a statement
/// run many times per request is the N+1 pattern as pg_stat_statements sees it: one row per call.
///
/// Read with the fingerprint's lexer, so literals, quoted identifiers and comments (sqlcommenter
/// tags) are told apart exactly as fingerprints tell them; only a yes or no leaves, never text.
/// `IN (…)`, `= ANY($1)` and ranges are batch or range reads, so they are not lookups; neither
/// is a `WHERE` with `OR` or a subquery, nor a set operation.
enum SingleRowLookup {
    private static func packed(_ word: String) -> SQLKeywords.Packed {
        Array(word.utf8).withUnsafeBytes { SQLKeywords.pack($0, 0, $0.count)! }
    }

    private static let select = packed("SELECT")
    private static let whereWord = packed("WHERE")
    private static let and = packed("AND")
    private static let isWord = packed("IS")
    private static let notWord = packed("NOT")
    private static let nullWord = packed("NULL")
    /// Words after the key conditions that keep the statement a lookup.
    private static let tails: Set<SQLKeywords.Packed> = Set(["LIMIT", "OFFSET", "ORDER", "FETCH", "FOR"].map(packed))
    /// Words at the top level before `WHERE` that make it something else than one lookup.
    private static let setOperations: Set<SQLKeywords.Packed> = Set(["UNION", "INTERSECT", "EXCEPT"].map(packed))

    static func matches(_ statement: String) -> Bool {
        var text = statement
        return text.withUTF8 { matches(UnsafeRawBufferPointer($0)) }
    }

    static func matches(_ input: UnsafeRawBufferPointer) -> Bool {
        var lexer = SQLLexer(input: input)
        func word(_ token: SQLToken) -> SQLKeywords.Packed? {
            token.kind == .keyword ? SQLKeywords.pack(input, token.start, token.end) : nil
        }
        guard let first = lexer.next(), word(first) == select else { return false }
        // Up to the top-level WHERE.
        var depth = 0
        var found = false
        while let token = lexer.next() {
            switch token.kind {
            case .openParen: depth += 1
            case .closeParen: depth -= 1
            case .semicolon: return false
            case .keyword where depth == 0:
                guard let keyword = word(token) else { break }
                if setOperations.contains(keyword) { return false }
                if keyword == whereWord { found = true }
            default: break
            }
            if found { break }
        }
        guard found else { return false }
        // `<key> = <placeholder>` terms joined by AND (and `<column> IS [NOT] NULL`, a soft delete's filter).
        var keys = 0
        while true {
            // The column, possibly qualified (`t.id`); a column may be named like a keyword (`key`).
            guard let column = lexer.next(), isName(column), word(column) != and else { return false }
            var next = lexer.next()
            while let dot = next, dot.kind == .dot {
                guard lexer.next().map(isName) == true else { return false }
                next = lexer.next()
            }
            guard let op = next else { return false }
            if op.kind == .op, op.end - op.start == 1, input[op.start] == UInt8(ascii: "=") {
                guard lexer.next()?.kind == .placeholder else { return false }
                keys += 1
            } else if word(op) == isWord {
                var value = lexer.next()
                if let not = value, word(not) == notWord { value = lexer.next() }
                guard let null = value, word(null) == nullWord else { return false }
            } else {
                return false
            }
            var after = lexer.next()
            if after?.kind == .doubleColon {
                guard lexer.next().map(isName) == true else { return false }
                after = lexer.next()
            }
            guard let following = after else { return keys > 0 }
            guard let keyword = word(following) else { return keys > 0 && following.kind == .semicolon && lexer.next() == nil }
            if keyword == and { continue }
            return keys > 0 && tails.contains(keyword)
        }
    }

    private static func isName(_ token: SQLToken) -> Bool {
        token.kind == .identifier || token.kind == .quotedIdentifier || token.kind == .keyword
    }
}
