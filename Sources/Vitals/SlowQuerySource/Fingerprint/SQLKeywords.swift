/// The words upper-cased as keywords. Only membership matters for stability; the list is the
/// clause and operator words of PostgreSQL's grammar, not function-like names (`count`,
/// `coalesce` stay lower-case and tight against their parenthesis).
enum SQLKeywords {
    static let words: Set<String> = [
        "ABORT", "ADD", "ALL", "ALTER", "ANALYZE", "AND", "ANY", "ARRAY", "AS", "ASC", "ASYMMETRIC", "AT", "BEGIN", "BETWEEN", "BOTH", "BY",
        "CALL", "CASCADE", "CASE", "CHECK", "CLOSE", "COLLATE", "COLUMN", "COMMIT", "COMMITTED", "CONCURRENTLY", "CONFLICT", "CONSTRAINT",
        "COPY", "CREATE", "CROSS", "CURRENT", "CURSOR", "DEALLOCATE", "DECLARE", "DEFAULT", "DEFERRABLE", "DELETE", "DESC", "DISCARD",
        "DISTINCT", "DO", "DROP", "ELSE", "END", "ESCAPE", "EXCEPT", "EXECUTE", "EXISTS", "EXPLAIN", "FALSE", "FETCH", "FILTER", "FIRST",
        "FOLLOWING", "FOR", "FOREIGN", "FROM", "FULL", "FUNCTION", "GRANT", "GROUP", "GROUPING", "HAVING", "ILIKE", "IN", "INDEX", "INNER",
        "INSERT", "INTERSECT", "INTERVAL", "INTO", "IS", "ISNULL", "ISOLATION", "JOIN", "KEY", "LAST", "LATERAL", "LEADING", "LEFT",
        "LEVEL", "LIKE", "LIMIT", "LISTEN", "LOCK", "LOCKED", "MATERIALIZED", "MERGE", "NATURAL", "NEXT", "NO", "NOT", "NOTHING", "NOTIFY",
        "NOTNULL", "NOWAIT", "NULL", "NULLS", "OF", "OFFSET", "ON", "ONLY", "OR", "ORDER", "OUTER", "OVER", "OVERLAPS", "PARTITION",
        "PRECEDING", "PREPARE", "PRIMARY", "RANGE", "READ", "RECURSIVE", "REFERENCES", "REFRESH", "RELEASE", "REPEATABLE", "RESET",
        "RETURNING", "REVOKE", "RIGHT", "ROLLBACK", "ROW", "ROWS", "SAVEPOINT", "SELECT", "SERIALIZABLE", "SESSION", "SET", "SHARE", "SHOW",
        "SIMILAR", "SKIP", "SOME", "START", "SYMMETRIC", "TABLE", "TABLESAMPLE", "TEMP", "TEMPORARY", "THEN", "TIES", "TO", "TRAILING",
        "TRANSACTION", "TRUE", "TRUNCATE", "UESCAPE", "UNBOUNDED", "UNION", "UNIQUE", "UNLISTEN", "UPDATE", "USING", "VACUUM", "VALUES", "VARIADIC",
        "VIEW", "WHEN", "WHERE", "WINDOW", "WITH", "WITHIN", "WITHOUT", "WORK", "WRITE",
    ]

    /// A keyword of up to 16 ASCII letters, upper-cased, packed into two words: looked up
    /// without allocating.
    struct Packed: Hashable {
        var low: UInt64 = 0
        var high: UInt64 = 0
    }

    static let packed: [Packed: SQLToken.Keyword] = {
        var table: [Packed: SQLToken.Keyword] = [:]
        for word in words {
            let bytes = Array(word.utf8)
            let keyword: SQLToken.Keyword =
                switch word {
                case "IN": .in
                case "VALUES": .values
                case "ARRAY": .array
                default: .none
                }
            bytes.withUnsafeBytes { table[pack($0, 0, bytes.count)!] = keyword }
        }
        return table
    }()

    static func pack(_ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> Packed? {
        guard end - start >= 2 && end - start <= 16 else { return nil }
        var key = Packed()
        for i in start..<end {
            let b = input[i]
            guard b < 0x80 else { return nil }
            let shift = UInt64((i - start) % 8) * 8
            if i - start < 8 { key.low |= UInt64(NormalizedOutput.upper(b)) << shift } else { key.high |= UInt64(NormalizedOutput.upper(b)) << shift }
        }
        return key
    }

    /// Returns nil for a non-keyword, ``SQLToken/Keyword/none`` for an ordinary keyword.
    static func lookup(_ input: UnsafeRawBufferPointer, _ start: Int, _ end: Int) -> SQLToken.Keyword? {
        guard let key = pack(input, start, end) else { return nil }
        return packed[key]
    }
}
