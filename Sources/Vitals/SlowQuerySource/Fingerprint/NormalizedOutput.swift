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
