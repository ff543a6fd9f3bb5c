/// RFC 3986 percent-encoding, the one implementation for sqlcommenter values, Redis addresses and
/// the secrets a DSN may carry encoded.
enum PercentEncoding {
    /// `%2F` → `/`; nil for a malformed escape or invalid UTF-8.
    static func decoded(_ bytes: some Sequence<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        var iterator = bytes.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(LineBytes.hexValue), let low = iterator.next().flatMap(LineBytes.hexValue) else { return nil }
            out.append(high << 4 | low)
        }
        return String(validating: out, as: UTF8.self)
    }

    /// Every byte but ASCII letters and digits as `%XX`, as Foundation's
    /// `addingPercentEncoding(withAllowedCharacters: .alphanumerics)` writes an ASCII string.
    static func encodedExceptAlphanumerics(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
