/// The one JSON reader, as a tree: Postgres `jsonlog` lines and auto_explain's JSON plans. It reads
/// with ``JSONBytes``, the tokenizer the timing-log's JSON parser runs on directly (that hot path
/// never builds a tree).
///
/// Bounded: nesting deeper than ``maxDepth`` fails the parse instead of recursing further, and
/// everything else is one linear pass. Invalid UTF-8 in strings becomes U+FFFD.
enum JSONValue: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
    case array([JSONValue])
    /// Members in document order (order matters for a plan's children).
    case object([(key: String, value: JSONValue)])

    static let maxDepth = 100

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.string(let a), .string(let b)): a == b
        case (.number(let a), .number(let b)): a == b
        case (.bool(let a), .bool(let b)): a == b
        case (.null, .null): true
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: false
        }
    }

    subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    var string: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    var number: Double? {
        switch self {
        case .number(let n): n
        case .string(let s): Double(s)
        default: nil
        }
    }

    var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The value filling `bytes` (surrounding whitespace allowed), or nil if it is not exactly one JSON value.
    static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = Reader(bytes: bytes)
        guard let value = reader.value(depth: 0) else { return nil }
        reader.skipSpace()
        return reader.index == bytes.count ? value : nil
    }

    static func parse(_ text: String) -> JSONValue? {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func skipSpace() {
            JSONBytes.skipWhitespace(bytes, &index)
        }

        /// Whether the next byte is `byte`; consumes it if so.
        private mutating func take(_ byte: Unicode.Scalar) -> Bool {
            guard index < bytes.count, bytes[index] == UInt8(ascii: byte) else { return false }
            index += 1
            return true
        }

        mutating func value(depth: Int) -> JSONValue? {
            guard depth < JSONValue.maxDepth else { return nil }
            skipSpace()
            guard index < bytes.count else { return nil }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                var members: [(key: String, value: JSONValue)] = []
                skipSpace()
                if take("}") { return .object(members) }
                while true {
                    skipSpace()
                    guard let key = string() else { return nil }
                    skipSpace()
                    guard take(":"), let member = value(depth: depth + 1) else { return nil }
                    members.append((key, member))
                    skipSpace()
                    if take(",") { continue }
                    return take("}") ? .object(members) : nil
                }
            case UInt8(ascii: "["):
                index += 1
                var elements: [JSONValue] = []
                skipSpace()
                if take("]") { return .array(elements) }
                while true {
                    guard let element = value(depth: depth + 1) else { return nil }
                    elements.append(element)
                    skipSpace()
                    if take(",") { continue }
                    return take("]") ? .array(elements) : nil
                }
            case LineBytes.quote:
                return string().map { .string($0) }
            case UInt8(ascii: "t"):
                return JSONBytes.skipLiteral("true", bytes, &index) ? .bool(true) : nil
            case UInt8(ascii: "f"):
                return JSONBytes.skipLiteral("false", bytes, &index) ? .bool(false) : nil
            case UInt8(ascii: "n"):
                return JSONBytes.skipLiteral("null", bytes, &index) ? .null : nil
            default:
                guard let (number, end) = LineBytes.scanNumber(in: bytes, from: index, to: bytes.count) else { return nil }
                index = end
                return .number(number)
            }
        }

        /// At an opening quote: the decoded string, with the index past its closing quote.
        private mutating func string() -> String? {
            guard let (content, escaped) = JSONBytes.scanString(bytes, &index) else { return nil }
            return JSONBytes.decodeString(bytes, content, escaped: escaped)
        }
    }
}
