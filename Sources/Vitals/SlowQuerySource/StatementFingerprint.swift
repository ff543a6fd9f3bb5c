/// The normalised form of one SQL statement and its stable id, in the spirit of
/// pg_stat_statements' query texts.
///
/// ## Normalisation rules
/// - **Literals become placeholders** `$1`, `$2`, … numbered in order of appearance: numbers
///   (`42`, `-1.5e3`, `0x1F`, `1_000`), strings (`'it''s'`, `E'\''`, `N''`, `U&''`, `B'0101'`,
///   `X'FF'`, adjacent string continuations), and dollar-quoted strings (`$$…$$`, `$tag$…$tag$`).
///   A unary minus or plus directly before a number is part of the literal, so `x = -1` and
///   `x = 1` share a fingerprint. Parameters that already are placeholders (`$3` in a prepared
///   statement) are renumbered with the literals, so `id = $1` and `id = 42` share one too.
///   `TRUE`, `FALSE` and `NULL` stay: they carry meaning (`IS NULL`).
/// - **Lists collapse**: `IN (…)`, `VALUES (…)` (every row) and `ARRAY[…]` whose elements are
///   all placeholders (each optionally cast, `$1::int`, the same cast throughout) become `(...)`
///   / `[...]`, so `IN (1, 2)` and `IN (1, 2, 3)` share a fingerprint, as do single- and
///   multi-row inserts. pg_stat_statements 15 does *not* do this (PG 18 does, for IN lists);
///   a collapsed list consumes no placeholder number, so later numbering does not depend on
///   its length.
/// - **Comments** (`-- …` and nested `/* … */`) are dropped; **whitespace** is rebuilt from
///   the tokens alone (one space, none inside `f(x)`, around `.`/`::`, before `,`), so the
///   original layout never matters. The text reads back as the same tokens, so normalising it
///   again gives it back unchanged (for valid UTF-8: see Robustness).
/// - **Case**: known SQL keywords are upper-cased and other unquoted identifiers lower-cased
///   (which is what PostgreSQL itself does with unquoted identifiers, so this loses nothing);
///   quoted identifiers are kept byte for byte.
///
/// ## Id
/// 16 hex digits of 64-bit FNV-1a over the **whole** normalised text (before the display
/// cap), so it is stable across processes, restarts and versions of vitals as long as these
/// rules do not change, and two long statements that differ only past the cap still get
/// different ids. Swift's `Hasher` is seeded per process and is never used for this.
///
/// ## Robustness
/// A hand-written byte lexer: one pass, no regular expressions, no recursion, no backtracking,
/// memory bounded by the display cap plus a constant. Unterminated quotes and comments run
/// to the end of the input; invalid UTF-8 passes through the hash unchanged and is replaced
/// by U+FFFD in the text.
public struct StatementFingerprint: Sendable, Hashable {
    /// 16 lowercase hex digits.
    public var id: String
    /// The normalised statement, at most the normaliser's cap in bytes (plus "…" when cut).
    public var text: String
    /// Whether `text` was cut at the cap (the id still covers everything).
    public var isTruncated: Bool

    public init(id: String, text: String, isTruncated: Bool) {
        self.id = id
        self.text = text
        self.isTruncated = isTruncated
    }
}

/// Produces ``StatementFingerprint``s; a value with no state between calls.
public struct StatementNormalizer: Sendable {
    public static let defaultMaxLength = 4096

    /// Bytes of normalised text kept for display; the id is computed over all of it.
    public var maxLength: Int

    public init(maxLength: Int = StatementNormalizer.defaultMaxLength) {
        self.maxLength = max(16, maxLength)
    }

    public func fingerprint(_ statement: String) -> StatementFingerprint {
        var copy = statement
        return copy.withUTF8 { fingerprint(UnsafeRawBufferPointer($0)) }
    }

    public func fingerprint(_ bytes: [UInt8]) -> StatementFingerprint {
        bytes.withUnsafeBytes { fingerprint($0) }
    }

    public func fingerprint(_ input: UnsafeRawBufferPointer) -> StatementFingerprint {
        var shaper = TokenShaper(output: NormalizedOutput(maxLength: maxLength))
        var lexer = SQLLexer(input: input)
        while let token = lexer.next() {
            shaper.feed(token, input)
        }
        shaper.finish(input)
        return shaper.output.result()
    }
}

// MARK: - Lexer

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
                skipBlockComment()
            } else {
                return
            }
        }
    }

    /// Nested `/* /* */ */`, as PostgreSQL allows; unterminated runs to the end.
    private mutating func skipBlockComment() {
        index += 2
        var depth = 1
        while index < input.count {
            let b = input[index]
            if b == UInt8(ascii: "*") && byte(index + 1) == UInt8(ascii: "/") {
                index += 2
                depth -= 1
                if depth == 0 { return }
            } else if b == UInt8(ascii: "/") && byte(index + 1) == UInt8(ascii: "*") {
                index += 2
                depth += 1
            } else {
                index += 1
            }
        }
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
        index = quote + 1
        while index < input.count {
            let b = input[index]
            if backslashEscapes && b == UInt8(ascii: "\\") {
                index += 2
            } else if b == UInt8(ascii: "'") {
                if byte(index + 1) == UInt8(ascii: "'") {
                    index += 2
                } else {
                    index += 1
                    return
                }
            } else {
                index += 1
            }
        }
        index = input.count
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

// MARK: - Shaping and output

/// Collapses placeholder lists and writes tokens with canonical spacing.
///
/// List detection is a small state machine over the token stream whose memory is constant:
/// a candidate list is held as a count of committed elements, the cast suffix they share, and
/// the few tokens of the element in progress; when the candidate turns out not to be a plain
/// list, those are replayed as ordinary tokens.
struct TokenShaper {
    enum ElementPhase {
        /// Expecting a placeholder.
        case start
        /// After a placeholder: `,`, the closer or `::`.
        case afterValue
        /// After `::`: a type word.
        case afterCast
        /// After a type word: another word, `[`, `,` or the closer.
        case afterType
        /// After `[` in a type: `]`.
        case afterTypeBracket
    }

    struct Candidate {
        var opener: SQLToken
        var closer: SQLToken.Kind
        var isValues: Bool
        /// A further VALUES row after a collapsed one: the comma before it is held too.
        var heldComma: SQLToken?
        var committed = 0
        /// The tokens after the placeholder of the first element (its cast), compared with later ones.
        var suffix: [SQLToken] = []
        var element: [SQLToken] = []
        var phase: ElementPhase = .start
    }

    enum State {
        case idle
        /// After IN / VALUES / ARRAY: the opener may start a list.
        case trigger(opener: SQLToken.Kind, closer: SQLToken.Kind, isValues: Bool)
        case list(Candidate)
        /// After a collapsed VALUES row.
        case afterValuesRow
        /// After a collapsed VALUES row and a comma.
        case afterValuesComma(SQLToken)
    }

    /// A list element longer than this (a placeholder with a long cast) is not a plain list.
    static let maxElementTokens = 16

    var output: NormalizedOutput
    private var state: State = .idle

    init(output: NormalizedOutput) {
        self.output = output
    }

    mutating func feed(_ token: SQLToken, _ input: UnsafeRawBufferPointer) {
        switch state {
        case .idle:
            feedIdle(token, input)
        case .trigger(let opener, let closer, let isValues):
            if token.kind == opener {
                state = .list(Candidate(opener: token, closer: closer, isValues: isValues))
            } else {
                state = .idle
                feedIdle(token, input)
            }
        case .afterValuesRow:
            if token.kind == .comma {
                state = .afterValuesComma(token)
            } else {
                state = .idle
                feedIdle(token, input)
            }
        case .afterValuesComma(let comma):
            if token.kind == .openParen {
                state = .list(Candidate(opener: token, closer: .closeParen, isValues: true, heldComma: comma))
            } else {
                state = .idle
                output.write(comma, input)
                feedIdle(token, input)
            }
        case .list(var candidate):
            state = .idle  // avoid a copy-on-write of the candidate's arrays while it is mutated
            if advance(&candidate, with: token, input) {
                state = .list(candidate)
            }
        }
    }

    /// Ends the statement: a list still open is written as it came.
    mutating func finish(_ input: UnsafeRawBufferPointer) {
        // A replay can open a shorter list of its own, which is then written as it came too.
        while true {
            switch state {
            case .list(let candidate):
                replay(candidate, input)
            case .afterValuesComma(let comma):
                output.write(comma, input)
                state = .idle
            default:
                state = .idle
                return
            }
        }
    }

    private mutating func feedIdle(_ token: SQLToken, _ input: UnsafeRawBufferPointer) {
        output.write(token, input)
        if token.kind == .keyword {
            switch token.keyword {
            case .in: state = .trigger(opener: .openParen, closer: .closeParen, isValues: false)
            case .values: state = .trigger(opener: .openParen, closer: .closeParen, isValues: true)
            case .array: state = .trigger(opener: .openBracket, closer: .closeBracket, isValues: false)
            case .none: break
            }
        }
    }

    /// Returns whether the candidate is still open; otherwise ``state`` has been settled.
    private mutating func advance(_ candidate: inout Candidate, with token: SQLToken, _ input: UnsafeRawBufferPointer) -> Bool {
        guard candidate.element.count < TokenShaper.maxElementTokens else {
            fail(candidate, at: token, input)
            return false
        }
        switch (candidate.phase, token.kind) {
        case (.start, .placeholder):
            candidate.element.append(token)
            candidate.phase = .afterValue
            return true
        case (.afterValue, .doubleColon), (.afterType, .doubleColon):
            candidate.element.append(token)
            candidate.phase = .afterCast
            return true
        case (.afterCast, .identifier), (.afterCast, .keyword), (.afterCast, .quotedIdentifier),
            (.afterType, .identifier), (.afterType, .keyword), (.afterType, .quotedIdentifier):
            candidate.element.append(token)
            candidate.phase = .afterType
            return true
        case (.afterType, .openBracket):
            candidate.element.append(token)
            candidate.phase = .afterTypeBracket
            return true
        case (.afterTypeBracket, .closeBracket):
            candidate.element.append(token)
            candidate.phase = .afterType
            return true
        case (.afterValue, .comma), (.afterType, .comma), (.afterValue, candidate.closer), (.afterType, candidate.closer):
            let suffix = candidate.element.dropFirst()
            if candidate.committed == 0 {
                candidate.suffix = Array(suffix)
            } else if !Self.sameTokens(candidate.suffix, suffix, input) {
                fail(candidate, at: token, input)
                return false
            }
            candidate.committed += 1
            candidate.element.removeAll(keepingCapacity: true)
            if token.kind == .comma {
                candidate.phase = .start
                return true
            }
            if candidate.heldComma == nil {
                output.writeCollapsed(open: candidate.opener, close: token, input)
            }
            state = candidate.isValues ? .afterValuesRow : .idle
            return false
        default:
            fail(candidate, at: token, input)
            return false
        }
    }

    private mutating func fail(_ candidate: Candidate, at token: SQLToken, _ input: UnsafeRawBufferPointer) {
        replay(candidate, input)
        feed(token, input)
    }

    /// Writes a candidate's tokens as they came (placeholders numbered as usual). The element in
    /// progress is fed again from the idle state: it may end with a keyword that opens a list
    /// (`($1::VALUES (…`), and must do so here as it does when the same tokens are read outside
    /// a list candidate — as they are when the normalised text is normalised again. Each such
    /// list is shorter than the element, so the recursion ends.
    private mutating func replay(_ candidate: Candidate, _ input: UnsafeRawBufferPointer) {
        state = .idle
        if let comma = candidate.heldComma { output.write(comma, input) }
        output.write(candidate.opener, input)
        for _ in 0..<candidate.committed {
            output.writePlaceholder()
            for token in candidate.suffix { output.write(token, input) }
            output.writeComma()
        }
        for token in candidate.element { feed(token, input) }
    }

    private static func sameTokens(_ a: [SQLToken], _ b: ArraySlice<SQLToken>, _ input: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            guard x.kind == y.kind, x.end - x.start == y.end - y.start else { return false }
            let foldCase = x.kind != .quotedIdentifier
            for i in 0..<(x.end - x.start) {
                var p = input[x.start + i]
                var q = input[y.start + i]
                if foldCase {
                    p = NormalizedOutput.lower(p)
                    q = NormalizedOutput.lower(q)
                }
                if p != q { return false }
            }
        }
        return true
    }
}

/// The normalised text being built: every byte goes into the hash, the first `maxLength` into
/// the kept text.
struct NormalizedOutput {
    private enum Spacing {
        case start, word, value, open, close, tight, colon, comma, other
    }

    private static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    let maxLength: Int
    private var hash = NormalizedOutput.fnvOffset
    private var bytes: [UInt8] = []
    private var length = 0
    private var previous: Spacing = .start
    private var placeholders = 0

    init(maxLength: Int) {
        self.maxLength = maxLength
        bytes.reserveCapacity(min(maxLength, 256))
    }

    private mutating func append(_ b: UInt8) {
        hash = (hash ^ UInt64(b)) &* Self.fnvPrime
        if length < maxLength { bytes.append(b) }
        length += 1
    }

    private mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { for b in $0 { append(b) } }
    }

    /// One space between tokens unless the pair reads better tight (`f(x)`, `a.b`, `x::int`, `a, b`).
    private mutating func separate(before next: SQLToken.Kind) {
        let tight: Bool
        switch (previous, next) {
        // `: :` written `::` would read back as a cast (and `: ::` as `::` `:`).
        case (.colon, .colon), (.colon, .doubleColon): tight = false
        case (.start, _), (.open, _), (.tight, _), (.colon, _): tight = true
        case (_, .closeParen), (_, .closeBracket), (_, .comma), (_, .semicolon), (_, .dot), (_, .doubleColon), (_, .colon), (_, .openBracket):
            tight = true
        case (.word, .openParen): tight = true
        default: tight = false
        }
        if !tight { append(UInt8(ascii: " ")) }
    }

    mutating func write(_ token: SQLToken, _ input: UnsafeRawBufferPointer) {
        separate(before: token.kind)
        switch token.kind {
        case .keyword:
            for i in token.start..<token.end { append(Self.upper(input[i])) }
            previous = .other
        case .identifier:
            for i in token.start..<token.end { append(Self.lower(input[i])) }
            previous = .word
        case .quotedIdentifier:
            for i in token.start..<token.end { append(input[i]) }
            previous = .word
        case .placeholder:
            writePlaceholderText()
            previous = .value
        case .openParen, .openBracket:
            append(input[token.start])
            previous = .open
        case .closeParen, .closeBracket:
            append(input[token.start])
            previous = .close
        case .dot, .doubleColon, .colon:
            for i in token.start..<token.end { append(input[i]) }
            previous = token.kind == .colon ? .colon : .tight
        case .comma:
            append(UInt8(ascii: ","))
            previous = .comma
        case .semicolon:
            append(UInt8(ascii: ";"))
            previous = .other
        case .op, .other:
            for i in token.start..<token.end { append(input[i]) }
            previous = .other
        }
    }

    mutating func writePlaceholder() {
        separate(before: .placeholder)
        writePlaceholderText()
        previous = .value
    }

    mutating func writeComma() {
        append(UInt8(ascii: ","))
        previous = .comma
    }

    /// `(...)` or `[...]` for a collapsed list.
    mutating func writeCollapsed(open: SQLToken, close: SQLToken, _ input: UnsafeRawBufferPointer) {
        separate(before: open.kind)
        append(input[open.start])
        append("...")
        append(input[close.start])
        previous = .close
    }

    private mutating func writePlaceholderText() {
        placeholders += 1
        append(UInt8(ascii: "$"))
        var digits: [UInt8] = []
        var n = placeholders
        repeat {
            digits.append(UInt8(ascii: "0") + UInt8(n % 10))
            n /= 10
        } while n > 0
        for d in digits.reversed() { append(d) }
    }

    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }
    static func upper(_ b: UInt8) -> UInt8 { b >= 0x61 && b <= 0x7A ? b & ~0x20 : b }

    func result() -> StatementFingerprint {
        var kept = bytes[...]
        var truncated = length > maxLength
        if truncated {
            // Cut at a character boundary: drop a trailing incomplete UTF-8 sequence.
            var lead = kept.endIndex
            var continuation = 0
            while lead > kept.startIndex && continuation < 3 && kept[lead - 1] & 0xC0 == 0x80 {
                lead -= 1
                continuation += 1
            }
            if lead > kept.startIndex {
                let first = kept[lead - 1]
                let needed = first >= 0xF0 ? 3 : first >= 0xE0 ? 2 : first >= 0xC0 ? 1 : 0
                if needed > continuation { kept = kept[kept.startIndex..<(lead - 1)] }
            }
        }
        var text = String(decoding: kept, as: UTF8.self)
        if text.utf8.count > maxLength {
            // Each invalid byte became a 3-byte U+FFFD: cut again so the text keeps to the cap.
            var scalars = String.UnicodeScalarView()
            var used = 0
            for scalar in text.unicodeScalars {
                used += UTF8.width(scalar)
                guard used <= maxLength else { break }
                scalars.append(scalar)
            }
            text = String(scalars)
            truncated = true
        }
        if truncated { text += "…" }
        return StatementFingerprint(id: Self.hex(hash), text: text, isTruncated: truncated)
    }

    static func hex(_ value: UInt64) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: 16)
        var v = value
        for i in stride(from: 15, through: 0, by: -1) {
            out[i] = digits[Int(v & 0xF)]
            v >>= 4
        }
        return String(decoding: out, as: UTF8.self)
    }
}

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
