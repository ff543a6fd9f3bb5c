/// sqlcommenter tags (https://google.github.io/sqlcommenter/spec/) read from a statement:
/// `SELECT … /*action='show',controller='markets',route='%2Fmarkets%2F%7Bid%7D'*/`.
///
/// Only real block comments are read, found by the SQL lexer, so a string literal that looks
/// like a comment is never taken for one (its content is a literal, which must never leave).
/// The last comment that parses as tags wins; keys and values are URL-decoded, `\'` unescaped.
/// Bounded: comments over ``maxCommentLength`` bytes, more than ``maxPairs`` pairs, or a value
/// over ``maxValueLength`` bytes are ignored rather than cut.
public struct SQLCommenterTags: Sendable, Equatable {
    public var values: [String: String]

    static let maxCommentLength = 4096
    static let maxPairs = 32
    static let maxValueLength = 512

    public init(values: [String: String] = [:]) {
        self.values = values
    }

    public subscript(key: String) -> String? { values[key] }

    /// The route, as frameworks tag it (`route`), or `controller#action` when only those are there.
    public var route: String? {
        if let route = values["route"], !route.isEmpty { return route }
        if let controller = values["controller"], let action = values["action"] { return controller + "#" + action }
        return nil
    }

    /// The tags of the statement's last tag comment; nil when it has none.
    public static func parse(_ statement: UnsafeRawBufferPointer) -> SQLCommenterTags? {
        // Every tag comment ends with `'*/`: skip the lexer for the statements (most) without one.
        guard Self.contains(statement, Self.closing) else { return nil }
        var lexer = SQLLexer(input: statement)
        var found: SQLCommenterTags?
        var checked: Range<Int>?
        func check() {
            guard let comment = lexer.lastBlockComment, comment != checked else { return }
            checked = comment
            if let tags = parseComment(UnsafeRawBufferPointer(rebasing: statement[comment])) { found = tags }
        }
        while lexer.next() != nil { check() }
        check()
        return found
    }

    public static func parse(_ statement: String) -> SQLCommenterTags? {
        var copy = statement
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    private static let closing = Array("'*/".utf8)

    /// `comment` is `/* … */` with its delimiters.
    static func parseComment(_ comment: UnsafeRawBufferPointer) -> SQLCommenterTags? {
        guard comment.count >= 4, comment.count <= maxCommentLength else { return nil }
        var index = 2
        let end = comment.count - 2
        var values: [String: String] = [:]
        func skipSpace() { while index < end, comment[index] == 0x20 || comment[index] == 0x0A || comment[index] == 0x09 || comment[index] == 0x0D { index += 1 } }
        skipSpace()
        while index < end {
            let keyStart = index
            while index < end, comment[index] != UInt8(ascii: "="), comment[index] != UInt8(ascii: ",") { index += 1 }
            guard index < end, comment[index] == UInt8(ascii: "="), index > keyStart else { return nil }
            guard let key = PercentEncoding.decoded(Array(UnsafeRawBufferPointer(rebasing: comment[keyStart..<index]))), Self.isKey(key) else { return nil }
            index += 1
            guard index < end, comment[index] == UInt8(ascii: "'") else { return nil }
            index += 1
            var raw: [UInt8] = []
            var closed = false
            while index < end {
                let byte = comment[index]
                if byte == UInt8(ascii: "\\"), index + 1 < end {
                    raw.append(comment[index + 1])
                    index += 2
                } else if byte == UInt8(ascii: "'") {
                    index += 1
                    closed = true
                    break
                } else {
                    raw.append(byte)
                    index += 1
                }
                guard raw.count <= maxValueLength * 3 else { return nil }
            }
            guard closed, let value = PercentEncoding.decoded(raw), value.utf8.count <= maxValueLength, !value.unicodeScalars.contains(where: { $0.value < 0x20 })
            else { return nil }
            values[key] = value
            guard values.count <= maxPairs else { return nil }
            skipSpace()
            if index < end, comment[index] == UInt8(ascii: ",") {
                index += 1
                skipSpace()
            } else {
                break
            }
        }
        skipSpace()
        guard index == end, !values.isEmpty else { return nil }
        return SQLCommenterTags(values: values)
    }

    /// Keys are identifiers (`route`, `db_driver`, `traceparent`), never free text.
    static func isKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 64
            && key.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2D || $0 == 0x2E }
    }

    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        var start = 0
        while let found = LineBytes.firstIndex(of: needle[0], in: haystack, from: start, to: haystack.count - needle.count + 1) {
            if UnsafeRawBufferPointer(rebasing: haystack[found..<(found + needle.count)]).elementsEqual(needle) { return true }
            start = found + 1
        }
        return false
    }
}
