struct SQLToken {
    enum Kind: Equatable {
        case keyword
        case identifier
        case quotedIdentifier
        /// A literal or a `$n` parameter.
        case placeholder
        case op
        case openParen, closeParen, openBracket, closeBracket
        case comma, semicolon, dot, colon, doubleColon
        case other
    }

    enum Keyword: UInt8 {
        case none, `in`, values, array
    }

    var kind: Kind
    var start: Int
    var end: Int
    var keyword: Keyword = .none
}

/// Splits SQL into tokens, dropping whitespace and comments. Never fails: anything it does not
/// recognise is a one-byte ``SQLToken/Kind/other`` token.
struct SQLLexer {
    let input: UnsafeRawBufferPointer
    private var index = 0
    /// Whether the last token can end an operand, which makes a following `-` binary.
    private var lastWasOperand = false
    /// The last complete top-level block comment skipped, `/*` to `*/` included: where
    /// sqlcommenter tags are (literals that merely look like comments never land here).
    private(set) var lastBlockComment: Range<Int>?

    init(input: UnsafeRawBufferPointer) {
        self.input = input
    }

    mutating func next() -> SQLToken? {
        skipSpaceAndComments()
        guard index < input.count else { return nil }
        let token = lexToken()
        switch token.kind {
        case .identifier, .quotedIdentifier, .placeholder, .closeParen, .closeBracket: lastWasOperand = true
        default: lastWasOperand = false
        }
        return token
    }

    private func byte(_ i: Int) -> UInt8 { i < input.count ? input[i] : 0 }

    private mutating func skipSpaceAndComments() {
        while index < input.count {
            let b = input[index]
            if Self.isSpace(b) {
                index += 1
            } else if b == UInt8(ascii: "-") && byte(index + 1) == UInt8(ascii: "-") {
                index += 2
                while index < input.count && input[index] != UInt8(ascii: "\n") { index += 1 }
            } else if b == UInt8(ascii: "/") && byte(index + 1) == UInt8(ascii: "*") {
                let start = index
                if skipBlockComment() { lastBlockComment = start..<index }
            } else {
                return
            }
        }
    }

    /// Nested `/* /* */ */`, as PostgreSQL allows; unterminated runs to the end.
    /// - Returns: whether the comment was terminated.
    @discardableResult
    private mutating func skipBlockComment() -> Bool {
        index += 2
        var depth = 1
        while index < input.count {
            let b = input[index]
            if b == UInt8(ascii: "*") && byte(index + 1) == UInt8(ascii: "/") {
                index += 2
                depth -= 1
                if depth == 0 { return true }
            } else if b == UInt8(ascii: "/") && byte(index + 1) == UInt8(ascii: "*") {
                index += 2
                depth += 1
            } else {
                index += 1
            }
        }
        return false
    }

    private mutating func lexToken() -> SQLToken {
        let start = index
        let b = input[index]
        switch b {
        case UInt8(ascii: "'"):
            scanQuoted(from: index, backslashEscapes: false)
            return literal(from: start)
        case UInt8(ascii: "\""):
            scanQuotedIdentifier()
            return SQLToken(kind: .quotedIdentifier, start: start, end: index)
        case UInt8(ascii: "$"):
            let next = byte(index + 1)
            if Self.isDigit(next) {
                index += 1
                while index < input.count && Self.isDigit(input[index]) { index += 1 }
                return SQLToken(kind: .placeholder, start: start, end: index)
            }
            if let tagEnd = dollarTagEnd(from: index) {
                scanDollarQuoted(tagStart: index, tagEnd: tagEnd)
                return literal(from: start)
            }
            index += 1
            return SQLToken(kind: .other, start: start, end: index)
        case UInt8(ascii: "0")...UInt8(ascii: "9"):
            scanNumber()
            return SQLToken(kind: .placeholder, start: start, end: index)
        case UInt8(ascii: "."):
            if Self.isDigit(byte(index + 1)) {
                scanNumber()
                return SQLToken(kind: .placeholder, start: start, end: index)
            }
            index += 1
            return SQLToken(kind: .dot, start: start, end: index)
        case UInt8(ascii: "("): index += 1; return SQLToken(kind: .openParen, start: start, end: index)
        case UInt8(ascii: ")"): index += 1; return SQLToken(kind: .closeParen, start: start, end: index)
        case UInt8(ascii: "["): index += 1; return SQLToken(kind: .openBracket, start: start, end: index)
        case UInt8(ascii: "]"): index += 1; return SQLToken(kind: .closeBracket, start: start, end: index)
        case UInt8(ascii: ","): index += 1; return SQLToken(kind: .comma, start: start, end: index)
        case UInt8(ascii: ";"): index += 1; return SQLToken(kind: .semicolon, start: start, end: index)
        case UInt8(ascii: ":"):
            if byte(index + 1) == UInt8(ascii: ":") {
                index += 2
                return SQLToken(kind: .doubleColon, start: start, end: index)
            }
            index += 1
            return SQLToken(kind: .colon, start: start, end: index)
        default:
            if Self.isIdentifierStart(b) { return lexWord() }
            if Self.isOperator(b) { return lexOperator() }
            index += 1
            return SQLToken(kind: .other, start: start, end: index)
        }
    }

    /// A string literal just scanned; a following literal string separated by whitespace that
    /// contains a newline continues it (SQL's `'foo'\n'bar'`), so the pair is one placeholder.
    private mutating func literal(from start: Int) -> SQLToken {
        while true {
            var look = index
            var sawNewline = false
            while look < input.count && Self.isSpace(input[look]) {
                if input[look] == UInt8(ascii: "\n") { sawNewline = true }
                look += 1
            }
            guard sawNewline, look < input.count, input[look] == UInt8(ascii: "'") else { break }
            scanQuoted(from: look, backslashEscapes: false)
        }
        return SQLToken(kind: .placeholder, start: start, end: index)
    }

    private mutating func lexWord() -> SQLToken {
        let start = index
        let first = input[index]
        // String prefixes: E'…' (backslash escapes), B'…', X'…', N'…', U&'…' and U&"…".
        let lower = first | 0x20
        if byte(index + 1) == UInt8(ascii: "'") {
            switch lower {
            case UInt8(ascii: "e"):
                scanQuoted(from: index + 1, backslashEscapes: true)
                return literal(from: start)
            case UInt8(ascii: "b"), UInt8(ascii: "x"), UInt8(ascii: "n"):
                scanQuoted(from: index + 1, backslashEscapes: false)
                return literal(from: start)
            default: break
            }
        }
        if lower == UInt8(ascii: "u") && byte(index + 1) == UInt8(ascii: "&") {
            if byte(index + 2) == UInt8(ascii: "'") {
                scanQuoted(from: index + 2, backslashEscapes: false)
                return literal(from: start)
            }
            if byte(index + 2) == UInt8(ascii: "\"") {
                index += 2
                scanQuotedIdentifier()
                return SQLToken(kind: .quotedIdentifier, start: start, end: index)
            }
        }
        index += 1
        while index < input.count && Self.isIdentifierContinue(input[index]) { index += 1 }
        let keyword = SQLKeywords.lookup(input, start, index)
        switch keyword {
        case nil: return SQLToken(kind: .identifier, start: start, end: index)
        case let special?: return SQLToken(kind: .keyword, start: start, end: index, keyword: special)
        }
    }

    /// PostgreSQL's operator rule: a run of operator characters, stopped by a comment start; a
    /// multi-character operator loses trailing `+`/`-` unless it contains one of ``~!@#%^&|`?``
    /// (so `=-1` is `=` then `-1`).
    private mutating func lexOperator() -> SQLToken {
        let start = index
        var end = index
        while end < input.count && Self.isOperator(input[end]) {
            if end > start && Self.startsComment(input[end], byte(end + 1)) { break }
            end += 1
        }
        if end - start > 1 {
            var special = false
            for i in start..<end where Self.isSpecialOperator(input[i]) { special = true; break }
            if !special {
                while end - start > 1 && (input[end - 1] == UInt8(ascii: "+") || input[end - 1] == UInt8(ascii: "-")) { end -= 1 }
            }
        }
        index = end
        // A sign before a number, where no operand precedes it, belongs to the literal.
        if end - start == 1 && !lastWasOperand && (input[start] == UInt8(ascii: "-") || input[start] == UInt8(ascii: "+")) {
            var look = index
            while look < input.count && Self.isSpace(input[look]) { look += 1 }
            if Self.isDigit(byte(look)) || (byte(look) == UInt8(ascii: ".") && Self.isDigit(byte(look + 1))) {
                index = look
                scanNumber()
                return SQLToken(kind: .placeholder, start: start, end: index)
            }
        }
        return SQLToken(kind: .op, start: start, end: end)
    }

    /// `'…'` with `''` escapes, and `\x` escapes when `backslashEscapes`; unterminated runs to the end.
    private mutating func scanQuoted(from quote: Int, backslashEscapes: Bool) {
        index = Self.quotedEnd(input, from: quote, backslashEscapes: backslashEscapes)
    }

    /// The index just past the `'…'` whose opening quote is at `quote`: `''` escapes, and `\x`
    /// escapes when `backslashEscapes`; unterminated runs to the end.
    static func quotedEnd(_ input: UnsafeRawBufferPointer, from quote: Int, backslashEscapes: Bool) -> Int {
        var index = quote + 1
        while index < input.count {
            let b = input[index]
            if backslashEscapes && b == UInt8(ascii: "\\") {
                index += 2
            } else if b == UInt8(ascii: "'") {
                guard index + 1 < input.count, input[index + 1] == UInt8(ascii: "'") else { return index + 1 }
                index += 2
            } else {
                index += 1
            }
        }
        return input.count
    }

    private mutating func scanQuotedIdentifier() {
        index += 1
        while index < input.count {
            if input[index] == UInt8(ascii: "\"") {
                if byte(index + 1) == UInt8(ascii: "\"") {
                    index += 2
                } else {
                    index += 1
                    return
                }
            } else {
                index += 1
            }
        }
    }

    /// The index just past a dollar-quote opening tag (`$$` or `$tag$`) starting at `start`.
    private func dollarTagEnd(from start: Int) -> Int? {
        var i = start + 1
        if byte(i) == UInt8(ascii: "$") { return i + 1 }
        guard i < input.count, Self.isIdentifierStart(input[i]) else { return nil }
        i += 1
        while i < input.count {
            let b = input[i]
            if b == UInt8(ascii: "$") { return i + 1 }
            guard Self.isIdentifierStart(b) || Self.isDigit(b) else { return nil }
            i += 1
        }
        return nil
    }

    /// Finds the closing tag. Linear: a failed comparison at a `$` covers only tag bytes, which
    /// contain no `$`, so the next candidate lies beyond it.
    private mutating func scanDollarQuoted(tagStart: Int, tagEnd: Int) {
        let tagLength = tagEnd - tagStart
        var i = tagEnd
        while i < input.count {
            if input[i] == UInt8(ascii: "$") {
                var matched = 1
                while matched < tagLength && i + matched < input.count && input[i + matched] == input[tagStart + matched] { matched += 1 }
                if matched == tagLength {
                    index = i + tagLength
                    return
                }
                i += max(1, matched)
            } else {
                i += 1
            }
        }
        index = input.count
    }

    /// Digits with `_`, a fraction, an exponent, or `0x`/`0o`/`0b` forms.
    private mutating func scanNumber() {
        if input[index] == UInt8(ascii: "0"), let radix = Optional(byte(index + 1) | 0x20),
            radix == UInt8(ascii: "x") || radix == UInt8(ascii: "o") || radix == UInt8(ascii: "b"), Self.isHexDigit(byte(index + 2))
        {
            index += 2
            while index < input.count && (Self.isHexDigit(input[index]) || input[index] == UInt8(ascii: "_")) { index += 1 }
            return
        }
        while index < input.count && (Self.isDigit(input[index]) || input[index] == UInt8(ascii: "_")) { index += 1 }
        if byte(index) == UInt8(ascii: ".") && byte(index + 1) != UInt8(ascii: ".") {
            index += 1
            while index < input.count && (Self.isDigit(input[index]) || input[index] == UInt8(ascii: "_")) { index += 1 }
        }
        if byte(index) | 0x20 == UInt8(ascii: "e") {
            var look = index + 1
            if byte(look) == UInt8(ascii: "+") || byte(look) == UInt8(ascii: "-") { look += 1 }
            if Self.isDigit(byte(look)) {
                index = look
                while index < input.count && Self.isDigit(input[index]) { index += 1 }
            }
        }
    }

    static func startsComment(_ b: UInt8, _ next: UInt8) -> Bool {
        (b == UInt8(ascii: "-") && next == UInt8(ascii: "-")) || (b == UInt8(ascii: "/") && next == UInt8(ascii: "*"))
    }

    /// Whitespace and every other control byte.
    static func isSpace(_ b: UInt8) -> Bool {
        b <= 0x20 || b == 0x7F
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    static func isHexDigit(_ b: UInt8) -> Bool {
        isDigit(b) || (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "f"))
    }

    /// Letters, `_` and any byte with the high bit set (PostgreSQL treats those as letters).
    static func isIdentifierStart(_ b: UInt8) -> Bool {
        (b | 0x20 >= UInt8(ascii: "a") && b | 0x20 <= UInt8(ascii: "z")) || b == UInt8(ascii: "_") || b >= 0x80
    }

    static func isIdentifierContinue(_ b: UInt8) -> Bool {
        isIdentifierStart(b) || isDigit(b) || b == UInt8(ascii: "$")
    }

    static func isOperator(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "/"), UInt8(ascii: "<"), UInt8(ascii: ">"),
            UInt8(ascii: "="), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: "%"),
            UInt8(ascii: "^"), UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "`"), UInt8(ascii: "?"):
            true
        default: false
        }
    }

    static func isSpecialOperator(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "@"), UInt8(ascii: "#"), UInt8(ascii: "%"), UInt8(ascii: "^"),
            UInt8(ascii: "&"), UInt8(ascii: "|"), UInt8(ascii: "`"), UInt8(ascii: "?"):
            true
        default: false
        }
    }
}
