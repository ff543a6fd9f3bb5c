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
/// - **Trailing semicolons** go, so `BEGIN;` and `begin` (or a statement sent with and without
///   its `;`) share a fingerprint, as they share pg_stat_statements' queryid and pgBadger's
///   entry. A semicolon between two statements stays.
/// - **Passwords** go before anything else: a statement that mentions one is first redacted by
///   ``PasswordLiteralRedaction``, whose reading of the literal after `PASSWORD` is the longer one
///   where two are possible (`'a\' b'` with standard_conforming_strings off), so no part of
///   it can reach the text as a word.
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
        // Lexed as the redactor lexes it first: its reading of a password literal is the more
        // conservative one (a backslash before a quote, comments).
        if PasswordLiteralRedaction.mentionsPassword(input, 0..<input.count) {
            let replacements = PasswordLiteralRedaction.replacements(in: input)
            if !replacements.isEmpty {
                return PasswordLiteralRedaction.apply(replacements, to: input).withUnsafeBytes { normalize($0) }
            }
        }
        return normalize(input)
    }

    private func normalize(_ input: UnsafeRawBufferPointer) -> StatementFingerprint {
        var shaper = TokenShaper(output: NormalizedOutput(maxLength: maxLength))
        var lexer = SQLLexer(input: input)
        // Semicolons are held until a token follows them, so that those ending the statement
        // are dropped: the log quotes what the client sent, with or without one.
        var semicolons: [SQLToken] = []
        while let token = lexer.next() {
            if token.kind == .semicolon {
                semicolons.append(token)
                continue
            }
            for semicolon in semicolons { shaper.feed(semicolon, input) }
            semicolons.removeAll(keepingCapacity: true)
            shaper.feed(token, input)
        }
        shaper.finish(input)
        return shaper.output.result()
    }
}
