/// The JSON tokenizer over raw bytes: `JSONLineParser` reads timing-log lines with it directly,
/// and ``JSONValue`` builds its trees with it.
///
/// It never recurses (nesting depth is a counter), never traps on malformed input and never
/// allocates except when decoding a string that contains escapes.
enum JSONBytes {
    @inline(__always)
    static func skipWhitespace(_ line: UnsafeRawBufferPointer, _ index: inout Int) {
        while index < line.count, LineBytes.isWhitespace(line[index]) {
            index += 1
        }
    }

    /// Scans the string starting at `line[index] == "`, leaving `index` after its closing quote.
    ///
    /// - Returns: the range between the quotes and whether it contains escapes, or `nil` if the
    ///   string is unterminated or has an invalid escape.
    static func scanString(_ line: UnsafeRawBufferPointer, _ index: inout Int) -> (content: Range<Int>, escaped: Bool)? {
        guard index < line.count, line[index] == LineBytes.quote else {
            return nil
        }
        let contentStart = index + 1
        var cursor = contentStart
        var escaped = false
        while true {
            // Jump straight to the next quote; backslashes before it are checked afterwards.
            guard let quote = LineBytes.firstIndex(of: LineBytes.quote, in: line, from: cursor, to: line.count) else {
                return nil
            }
            var scan = cursor
            var closes = true
            while let backslash = LineBytes.firstIndex(of: UInt8(ascii: "\\"), in: line, from: scan, to: quote) {
                escaped = true
                guard let afterEscape = escapeEnd(line, backslash) else {
                    return nil
                }
                if afterEscape > quote {
                    // The quote we found is itself escaped (`\"`): keep looking after it.
                    closes = false
                    scan = afterEscape
                    break
                }
                scan = afterEscape
            }
            if closes {
                index = quote + 1
                return (contentStart..<quote, escaped)
            }
            cursor = scan
        }
    }

    /// Index after the escape sequence whose backslash is at `index`, or `nil` if it is invalid.
    private static func escapeEnd(_ line: UnsafeRawBufferPointer, _ index: Int) -> Int? {
        guard index + 1 < line.count else {
            return nil
        }
        switch line[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            return index + 2
        case UInt8(ascii: "u"):
            guard index + 6 <= line.count else {
                return nil
            }
            for offset in 2..<6 where LineBytes.hexValue(line[index + offset]) == nil {
                return nil
            }
            return index + 6
        default:
            return nil
        }
    }

    /// Skips one value of any type at `index` (leading whitespace already skipped).
    ///
    /// Nested containers are skipped by counting brackets, so depth costs nothing; bracket kinds
    /// and separators inside nested containers are not validated (lenient, never wrong on valid JSON).
    static func skipValue(_ line: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        guard index < line.count else {
            return false
        }
        switch line[index] {
        case LineBytes.quote:
            return scanString(line, &index) != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            var depth = 0
            while index < line.count {
                switch line[index] {
                case LineBytes.quote:
                    guard scanString(line, &index) != nil else {
                        return false
                    }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return true
                    }
                default:
                    break
                }
                index += 1
            }
            return false
        case UInt8(ascii: "t"):
            return skipLiteral("true", line, &index)
        case UInt8(ascii: "f"):
            return skipLiteral("false", line, &index)
        case UInt8(ascii: "n"):
            return skipLiteral("null", line, &index)
        default:
            guard let end = LineBytes.numberTokenEnd(in: line, from: index, to: line.count) else {
                return false
            }
            index = end
            return true
        }
    }

    static func skipLiteral(_ literal: StaticString, _ line: UnsafeRawBufferPointer, _ index: inout Int) -> Bool {
        guard LineBytes.hasLiteral(literal, in: line, at: index) else {
            return false
        }
        index += literal.utf8CodeUnitCount
        return true
    }

    /// Decodes string content (between the quotes), resolving escapes; invalid UTF-8 and lone
    /// surrogates become U+FFFD.
    static func decodeString(_ line: UnsafeRawBufferPointer, _ content: Range<Int>, escaped: Bool) -> String {
        guard escaped else {
            return LineBytes.string(line, content)
        }
        return String(decoding: unescapedBytes(line, content), as: UTF8.self)
    }

    /// The UTF-8 bytes of string content with escapes resolved (content must have been validated
    /// by `scanString`).
    static func unescapedBytes(_ line: UnsafeRawBufferPointer, _ content: Range<Int>) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(content.count)
        var index = content.lowerBound
        while index < content.upperBound {
            let byte = line[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < content.upperBound else {
                bytes.append(byte)
                index += 1
                continue
            }
            let escape = line[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = codeUnit(line, index, content.upperBound) else {
                    appendScalar(0xFFFD, to: &bytes)
                    continue
                }
                index += 4
                var scalar = UInt32(unit)
                if (0xD800..<0xDC00).contains(unit) {
                    if index + 6 <= content.upperBound, line[index] == UInt8(ascii: "\\"),
                        line[index + 1] == UInt8(ascii: "u"),
                        let low = codeUnit(line, index + 2, content.upperBound), (0xDC00..<0xE000).contains(low)
                    {
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        index += 6
                    } else {
                        scalar = 0xFFFD
                    }
                } else if (0xDC00..<0xE000).contains(unit) {
                    scalar = 0xFFFD
                }
                appendScalar(scalar, to: &bytes)
            default:
                // `\"`, `\\`, `\/` stand for themselves.
                bytes.append(escape)
            }
        }
        return bytes
    }

    private static func codeUnit(_ line: UnsafeRawBufferPointer, _ index: Int, _ end: Int) -> UInt16? {
        guard index + 4 <= end else {
            return nil
        }
        var value: UInt16 = 0
        for offset in 0..<4 {
            guard let digit = LineBytes.hexValue(line[index + offset]) else {
                return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private static func appendScalar(_ value: UInt32, to bytes: inout [UInt8]) {
        let scalar = Unicode.Scalar(value) ?? "\u{FFFD}"
        UTF8.encode(scalar) { bytes.append($0) }
    }
}
