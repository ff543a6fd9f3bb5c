#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte-level helpers shared by the line parsers and the JSON reader.
///
/// Parsers work on the raw line buffer so the hot path never builds intermediate `String`s;
/// only the fields that end up in a `TimingRecord` are decoded.
enum LineBytes {
    static let space = UInt8(ascii: " ")
    static let tab = UInt8(ascii: "\t")
    static let quote = UInt8(ascii: "\"")
    static let slash = UInt8(ascii: "/")

    // MARK: Searching

    /// Offset of the first occurrence of `needle` in `line[start...]`.
    ///
    /// `memchr` (vectorised in libc) finds candidates by the needle's first non-space byte,
    /// which is far rarer in log lines than a space; each candidate is then compared in full.
    /// Needles must be string literals of at least two bytes (one-scalar `StaticString`s have
    /// no pointer representation).
    @inline(__always)
    static func firstIndex(of needle: StaticString, in line: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        let needleCount = needle.utf8CodeUnitCount
        guard needle.hasPointerRepresentation, needleCount > 0, start >= 0,
            line.count - start >= needleCount
        else {
            return nil
        }
        let needleBytes = UnsafeBufferPointer(start: needle.utf8Start, count: needleCount)
        var anchorOffset = 0
        while anchorOffset < needleCount - 1, needleBytes[anchorOffset] == space {
            anchorOffset += 1
        }
        let anchor = needleBytes[anchorOffset]
        // The anchor of a match at `candidate` sits at `candidate + anchorOffset`.
        var anchorSearchStart = start + anchorOffset
        let anchorSearchEnd = line.count - (needleCount - 1 - anchorOffset)
        while let anchorIndex = firstIndex(of: anchor, in: line, from: anchorSearchStart, to: anchorSearchEnd) {
            let candidate = anchorIndex - anchorOffset
            if hasLiteral(needle, in: line, at: candidate) {
                return candidate
            }
            anchorSearchStart = anchorIndex + 1
        }
        return nil
    }

    /// Offset of the first `byte` in `line[start..<end]`.
    @inline(__always)
    static func firstIndex(of byte: UInt8, in line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard start >= 0, start < end, end <= line.count, let base = line.baseAddress else {
            return nil
        }
        guard let hit = memchr(base + start, Int32(byte), end - start) else {
            return nil
        }
        return base.distance(to: UnsafeRawPointer(hit))
    }

    /// Whether `line[index...]` starts with `literal`.
    @inline(__always)
    static func hasLiteral(_ literal: StaticString, in line: UnsafeRawBufferPointer, at index: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard literal.hasPointerRepresentation, index >= 0, line.count - index >= count,
            let base = line.baseAddress
        else {
            return false
        }
        return memcmp(base + index, literal.utf8Start, count) == 0
    }

    // MARK: Classification

    @inline(__always)
    static func isDigit(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "0") < 10
    }

    @inline(__always)
    static func isUppercaseLetter(_ byte: UInt8) -> Bool {
        byte &- UInt8(ascii: "A") < 26
    }

    @inline(__always)
    static func isLetter(_ byte: UInt8) -> Bool {
        (byte | 0x20) &- UInt8(ascii: "a") < 26
    }

    @inline(__always)
    static func hexValue(_ byte: UInt8) -> UInt8? {
        if isDigit(byte) {
            return byte &- UInt8(ascii: "0")
        }
        let lower = byte | 0x20
        if lower &- UInt8(ascii: "a") < 6 {
            return lower &- UInt8(ascii: "a") &+ 10
        }
        return nil
    }

    @inline(__always)
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || byte == tab || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
    }

    /// Index one past the last non-whitespace byte (so trailing `\r` and blanks are ignored).
    @inline(__always)
    static func trimmedEnd(of line: UnsafeRawBufferPointer) -> Int {
        var end = line.count
        while end > 0, isWhitespace(line[end - 1]) {
            end -= 1
        }
        return end
    }

    /// Decodes `line[range]` as UTF-8, repairing invalid sequences rather than failing.
    @inline(__always)
    static func string(_ line: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: line[range]), as: UTF8.self)
    }

    // MARK: Numbers

    /// End of the JSON-style number token at `start` (`-?digits(.digits)?([eE][+-]?digits)?`),
    /// or `nil` when there is none. Consumes the longest valid prefix.
    static func numberTokenEnd(in line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        var index = start
        if index < end, line[index] == UInt8(ascii: "-") {
            index += 1
        }
        let integerStart = index
        while index < end, isDigit(line[index]) {
            index += 1
        }
        guard index > integerStart else {
            return nil
        }
        if index + 1 < end, line[index] == UInt8(ascii: "."), isDigit(line[index + 1]) {
            index += 2
            while index < end, isDigit(line[index]) {
                index += 1
            }
        }
        if index < end, line[index] | 0x20 == UInt8(ascii: "e") {
            var exponentIndex = index + 1
            if exponentIndex < end, line[exponentIndex] == UInt8(ascii: "+") || line[exponentIndex] == UInt8(ascii: "-") {
                exponentIndex += 1
            }
            if exponentIndex < end, isDigit(line[exponentIndex]) {
                index = exponentIndex + 1
                while index < end, isDigit(line[index]) {
                    index += 1
                }
            }
        }
        return index
    }

    /// Scans a decimal number at `start` and converts it, exactly as `Double(String)` would.
    ///
    /// Short numbers (the common `12.3`, `0.012`) take Clinger's fast path: an integer mantissa
    /// of at most 2^53 and one exact multiplication/division by a power of ten ≤ 10^22, which is
    /// correctly rounded. Anything else falls back to the standard library.
    static func scanNumber(in line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> (value: Double, end: Int)? {
        guard let tokenEnd = numberTokenEnd(in: line, from: start, to: end) else {
            return nil
        }
        var index = start
        let negative = line[index] == UInt8(ascii: "-")
        if negative {
            index += 1
        }
        var mantissa: UInt64 = 0
        var significantDigits = 0
        var decimalExponent = 0
        var exact = true
        var inFraction = false
        while index < tokenEnd {
            let byte = line[index]
            if byte == UInt8(ascii: ".") {
                inFraction = true
            } else if isDigit(byte) {
                if significantDigits < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                    if mantissa != 0 {
                        significantDigits += 1
                    }
                    if inFraction {
                        decimalExponent -= 1
                    }
                } else {
                    exact = false
                }
            } else {
                // Exponent marker: the rest is handled by the slow path.
                exact = false
                break
            }
            index += 1
        }
        var value: Double
        if exact, mantissa <= 1 << 53, decimalExponent >= -22 {
            value = Double(mantissa)
            if decimalExponent < 0 {
                value /= exactPowersOfTen[-decimalExponent]
            }
        } else {
            guard let parsed = Double(string(line, start..<tokenEnd)) else {
                return nil
            }
            return (parsed, tokenEnd)
        }
        if negative {
            value = -value
        }
        return (value, tokenEnd)
    }

    /// Parses `line[start..<end]` as a duration: the whole range must be one number,
    /// finite and not negative (a negative observation would corrupt a histogram's `_sum`).
    static func duration(in line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Double? {
        guard let (value, numberEnd) = scanNumber(in: line, from: start, to: end), numberEnd == end,
            value.isFinite, value >= 0
        else {
            return nil
        }
        return value + 0  // normalises -0.0
    }

    /// Parses `line[start..<end]` as an HTTP status: one to three ASCII digits.
    static func status(in line: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int? {
        guard end > start, end - start <= 3 else {
            return nil
        }
        var status = 0
        for index in start..<end {
            let byte = line[index]
            guard isDigit(byte) else {
                return nil
            }
            status = status * 10 + Int(byte &- UInt8(ascii: "0"))
        }
        return status
    }

    /// 10^0 … 10^22, all exactly representable as `Double`.
    static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]
}
