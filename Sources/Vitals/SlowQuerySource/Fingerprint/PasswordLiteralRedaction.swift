/// Finds what in SQL text can hold a password, on the tokens of ``SQLLexer`` (the fingerprints'
/// lexer), so that every quoting form PostgreSQL accepts is recognised as it is there:
/// `'…'` with doubled quotes, `E'…'` with backslash escapes, `U&'…'` (with its `UESCAPE` clause),
/// `$$…$$` and `$tag$…$tag$`, and literals continued on the next line (`'a'\n'b'`).
///
/// Replaced by ``placeholder``, the rest of the text kept byte for byte:
/// - the literals after the word `password` (`[ENCRYPTED] PASSWORD '…'` of CREATE/ALTER ROLE and
///   USER, `OPTIONS (password '…')` of a user mapping, `password = '…'`); `PASSWORD NULL` has none;
/// - any literal that mentions a password itself: a dblink or postgres_fdw connection string
///   (`'host=… password=…'`), or a function body that sets one;
/// - a comment that mentions a password, replaced by a space.
///
/// Conservative where the text is cut or malformed: an unterminated literal runs to the end of
/// the text (as in the lexer), and a plain `'…'` after `password` that holds a backslash is
/// redacted as far as the longer of its two readings reaches (with standard_conforming_strings
/// off, `\'` does not end it).
enum PasswordLiteralRedaction {
    static let placeholder = "'****'"

    private static let passwordBytes = Array("password".utf8)

    struct Replacement: Equatable {
        var range: Range<Int>
        /// A literal becomes ``placeholder``, a comment a space.
        var isComment: Bool
    }

    static func redact(_ sql: String) -> String {
        var copy = sql
        return copy.withUTF8 { bytes in
            let input = UnsafeRawBufferPointer(bytes)
            let replacements = Self.replacements(in: input)
            guard !replacements.isEmpty else { return sql }
            return String(decoding: apply(replacements, to: input), as: UTF8.self)
        }
    }

    static func apply(_ replacements: [Replacement], to input: UnsafeRawBufferPointer) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(input.count)
        var copied = 0
        for replacement in replacements {
            output.append(contentsOf: input[copied..<replacement.range.lowerBound])
            if replacement.isComment {
                output.append(UInt8(ascii: " "))
            } else {
                output.append(contentsOf: placeholder.utf8)
            }
            copied = replacement.range.upperBound
        }
        output.append(contentsOf: input[copied...])
        return output
    }

    /// The ranges to replace, in order and not overlapping.
    static func replacements(in input: UnsafeRawBufferPointer) -> [Replacement] {
        var result: [Replacement] = []
        var lexer = SQLLexer(input: input)
        /// Everything before this offset is already covered by a replacement.
        var covered = 0
        var previousEnd = 0
        /// After the word `password`: how many `=`/`:=` tokens may still come before its value.
        var afterPassword: Int?
        /// Just after a redacted value: a further literal (a `UESCAPE` clause, a continuation on
        /// the same line) joins it, with what lies between.
        var inValue = false

        func add(_ range: Range<Int>, isComment: Bool) {
            let lower = max(range.lowerBound, covered)
            guard range.upperBound > lower else { return }
            result.append(Replacement(range: lower..<range.upperBound, isComment: isComment))
            covered = range.upperBound
        }
        func extendValue(to end: Int) {
            guard end > covered else { return }
            result[result.count - 1].range = result[result.count - 1].range.lowerBound..<end
            covered = end
        }
        // Only whitespace and comments lie outside tokens: the letters of "password" there are a comment's.
        func commentGap(_ range: Range<Int>) {
            if range.count >= passwordBytes.count && mentionsPassword(input, range) { add(range, isComment: true) }
        }

        while let token = lexer.next() {
            let isString = isStringLiteral(token, input)
            defer { previousEnd = token.end }
            if inValue && (isString || (token.kind == .keyword && isWord(input, token, "UESCAPE"))) {
                extendValue(to: isString ? valueEnd(token, input) : token.end)
                continue
            }
            commentGap(previousEnd..<token.start)
            if token.end <= covered { continue }
            inValue = false
            if token.start < covered {
                // A token that a conservative value end cut through: its rest goes too.
                extendValue(to: token.end)
                continue
            }
            if afterPassword != nil && (isString || token.kind == .quotedIdentifier || isNumber(token, input)) {
                // A quoted identifier or a bare number there is not SQL, but it is the password.
                add(token.start..<(isString ? valueEnd(token, input) : token.end), isComment: false)
                afterPassword = nil
                inValue = true
                continue
            }
            if isString && mentionsPassword(input, token.start..<token.end) {
                add(token.start..<token.end, isComment: false)
                afterPassword = nil
                continue
            }
            if let remaining = afterPassword, remaining > 0, token.kind == .op || token.kind == .colon {
                afterPassword = remaining - 1
                continue
            }
            afterPassword = (token.kind == .identifier || token.kind == .keyword) && isWord(input, token, "PASSWORD") ? 2 : nil
        }
        commentGap(previousEnd..<input.count)
        return result
    }

    /// A string constant in any of its forms (not a number or a `$n` parameter).
    static func isStringLiteral(_ token: SQLToken, _ input: UnsafeRawBufferPointer) -> Bool {
        guard token.kind == .placeholder else { return false }
        let first = input[token.start]
        if first == UInt8(ascii: "$") { return token.end - token.start > 1 && !SQLLexer.isDigit(input[token.start + 1]) }
        return first == UInt8(ascii: "'") || SQLLexer.isIdentifierStart(first)
    }

    static func isNumber(_ token: SQLToken, _ input: UnsafeRawBufferPointer) -> Bool {
        token.kind == .placeholder && !isStringLiteral(token, input) && input[token.start] != UInt8(ascii: "$")
    }

    /// Where a password literal ends: its token's end, or further for a plain `'…'` whose
    /// backslashes would escape a quote under standard_conforming_strings = off.
    static func valueEnd(_ token: SQLToken, _ input: UnsafeRawBufferPointer) -> Int {
        guard input[token.start] == UInt8(ascii: "'") else { return token.end }
        return max(token.end, SQLLexer.quotedEnd(input, from: token.start, backslashEscapes: true))
    }

    static func isWord(_ input: UnsafeRawBufferPointer, _ token: SQLToken, _ word: StaticString) -> Bool {
        guard token.end - token.start == word.utf8CodeUnitCount else { return false }
        for i in 0..<word.utf8CodeUnitCount where NormalizedOutput.upper(input[token.start + i]) != word.utf8Start[i] { return false }
        return true
    }

    /// "password" in any ASCII case within `range`.
    static func mentionsPassword(_ input: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        let needle = passwordBytes
        guard range.count >= needle.count else { return false }
        var start = range.lowerBound
        while start <= range.upperBound - needle.count {
            var matched = 0
            while matched < needle.count, input[start + matched] | 0x20 == needle[matched] { matched += 1 }
            if matched == needle.count { return true }
            start += 1
        }
        return false
    }
}
