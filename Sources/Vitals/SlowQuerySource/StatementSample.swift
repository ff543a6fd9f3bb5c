/// One statement an index candidate came from, kept only in memory so that `--findings.hypopg`
/// can ask the planner about it: never in a metric, an endpoint, a log or an error text.
///
/// Two forms, because the server decides which one can be explained: PostgreSQL 16+ plans the
/// normalised text (`$n` placeholders) with `EXPLAIN (GENERIC_PLAN)`, so no literal is needed;
/// older servers need the statement as it ran, literals and all.
///
/// Printing, interpolating or dumping a sample shows neither text: it is redacted here, once, so
/// no log line or error built from it can leak a literal by accident.
public struct StatementSample: Sendable, Equatable {
    /// The statement as logged, with its literals; nil when it is too long or holds `$n`
    /// parameters (an extended-protocol statement: its values were never read).
    let literalText: String?
    /// The normalised statement; nil when normalising lost something the planner needs (a
    /// collapsed `IN (...)` list, a cut text).
    let genericText: String?
    /// The database the statement ran in, when the log says.
    public let database: String?

    /// Longer statements are not kept: a cut statement cannot be planned anyway.
    public static let maxLength = 8192

    init(literalText: String?, genericText: String?, database: String?) {
        self.literalText = literalText
        self.genericText = genericText
        self.database = database
    }

    /// Builds the sample of one slow execution, or nil when neither form is worth keeping.
    /// - Parameters:
    ///   - statement: the statement as logged (literals included).
    ///   - fingerprint: its normalised form.
    public init?(statement: [UInt8], fingerprint: StatementFingerprint, database: String?) {
        var literal: String?
        if statement.count <= Self.maxLength, Self.isSingleExplainable(statement), Self.highestParameter(statement) == 0 {
            literal = String(validating: statement, as: UTF8.self)
        }
        var generic: String?
        let normalised = Array(fingerprint.text.utf8)
        if !fingerprint.isTruncated, normalised.count <= Self.maxLength, Self.isSingleExplainable(normalised),
            !fingerprint.text.contains("(...)"), !fingerprint.text.contains("[...]")
        {
            generic = fingerprint.text
        }
        guard literal != nil || generic != nil else { return nil }
        self.init(literalText: literal, genericText: generic, database: database)
    }

    /// The text to explain on a server of `serverVersion` (`PQserverVersion`), and whether it
    /// needs `GENERIC_PLAN`.
    func text(serverVersion: Int) -> (sql: String, generic: Bool)? {
        if serverVersion >= 160_000, let genericText { return (genericText, true) }
        if let literalText { return (literalText, false) }
        return nil
    }

    static let explainableFirstWords: Set<String> = ["select", "with", "insert", "update", "delete", "values", "table"]

    /// One statement that EXPLAIN takes: its first word is a query's, and no `;` other than a
    /// trailing one. The server enforces one statement too (the extended protocol refuses more),
    /// this keeps a multi-statement text from ever being sent.
    static func isSingleExplainable(_ text: [UInt8]) -> Bool {
        text.withUnsafeBytes { bytes in
            var lexer = SQLLexer(input: bytes)
            guard let first = lexer.next(), first.kind == .keyword || first.kind == .identifier || first.kind == .openParen else { return false }
            if first.kind != .openParen {
                let word = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[first.start..<first.end]), as: UTF8.self).lowercased()
                guard explainableFirstWords.contains(word) else { return false }
            }
            var sawSemicolon = false
            while let token = lexer.next() {
                if sawSemicolon { return false }
                if token.kind == .semicolon { sawSemicolon = true }
            }
            return true
        }
    }

    /// The highest `$n` parameter in the text, 0 when it has none (only a generic plan can
    /// leave one unbound). Capped at 65,535, the protocol's limit.
    static func highestParameter(_ text: [UInt8]) -> Int {
        text.withUnsafeBytes { bytes in
            var lexer = SQLLexer(input: bytes)
            var highest = 0
            while let token = lexer.next() {
                guard token.kind == .placeholder, token.end - token.start >= 2, bytes[token.start] == UInt8(ascii: "$") else { continue }
                var number = 0
                for index in (token.start + 1)..<token.end {
                    let digit = bytes[index]
                    guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "9") else {
                        number = 0
                        break
                    }
                    number = min(65_535, number * 10 + Int(digit - UInt8(ascii: "0")))
                }
                highest = max(highest, number)
            }
            return highest
        }
    }
}

extension StatementSample: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "StatementSample(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
