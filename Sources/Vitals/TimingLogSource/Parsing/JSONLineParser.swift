#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Parses structured logs with one JSON object per line, e.g.
///
///     {"ts":"…","method":"GET","path":"/markets/42","status":200,"duration_ms":12.3}
///
/// A hand-written scanner instead of Foundation: it only decodes the four configured keys, skips
/// everything else (nested values included) without allocating, and cannot crash or hang on
/// hostile input. With a ``Configuration/keyPathSeparator`` a key may sit in nested objects
/// (`request.method`); it descends only along configured paths, so its recursion is as deep as
/// the longest path, whatever the line's nesting.
///
/// - Method and path must be non-empty strings.
/// - Duration and status may be numbers or numeric strings (`"12.3"`); the duration must be
///   finite and non-negative, the status an integer in 0...999.
/// - A status key that is absent or `null` gives a record without status; a status that is
///   present but not a number makes the line `.unparsed`.
/// - If a key repeats, the last occurrence wins (as in most JSON decoders).
/// - The whole line must be one well-formed object (trailing whitespace allowed), so truncated
///   lines are rejected rather than half-read.
public struct JSONLineParser: TimingLineParser {
    public let configuration: Configuration

    /// Each field's key path (one component for a top-level key), in ``Field`` order.
    private let keyPaths: [[[UInt8]]]
    /// The fields whose key path is configured.
    private let configuredFields: UInt8

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        let split: (String) -> [[UInt8]] = { field in
            guard let separator = configuration.keyPathSeparator else {
                return [Array(field.utf8)]
            }
            return field.utf8.split(separator: separator, omittingEmptySubsequences: false).map(Array.init)
        }
        self.keyPaths = [
            split(configuration.durationField), split(configuration.methodField), split(configuration.pathField),
            configuration.statusField.map(split) ?? [],
        ]
        self.configuredFields = configuration.statusField == nil ? 0b0111 : 0b1111
    }

    public var hasStatus: Bool {
        self.configuration.statusField != nil
    }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        guard let record = self.record(line) else {
            return .unparsed
        }
        return .request(record)
    }

    /// Bit positions in the masks of fields still possible at a nesting level.
    private enum Field: Int {
        case duration = 0, method, path, status
    }

    private struct Found {
        var method: (content: Range<Int>, escaped: Bool)?
        var path: (content: Range<Int>, escaped: Bool)?
        var status: Int?
        var duration: Double?
    }

    private func record(_ line: UnsafeRawBufferPointer) -> TimingRecord? {
        var index = 0
        JSONBytes.skipWhitespace(line, &index)
        var found = Found()
        guard self.scanObject(line, &index, depth: 0, candidates: self.configuredFields, &found) else {
            return nil
        }
        JSONBytes.skipWhitespace(line, &index)
        guard index == line.count,
            let method = found.method, !method.content.isEmpty,
            let path = found.path, !path.content.isEmpty,
            let duration = found.duration
        else {
            return nil
        }
        return TimingRecord(
            method: JSONBytes.decodeString(line, method.content, escaped: method.escaped),
            path: JSONBytes.decodeString(line, path.content, escaped: path.escaped),
            status: found.status,
            durationSeconds: self.configuration.durationUnit.seconds(duration)
        )
    }

    /// Reads the object at `index`, descending only into values on the way to a configured field,
    /// so recursion is bounded by the longest key path, never by the input's nesting.
    private func scanObject(
        _ line: UnsafeRawBufferPointer, _ index: inout Int, depth: Int, candidates: UInt8, _ found: inout Found
    ) -> Bool {
        guard index < line.count, line[index] == UInt8(ascii: "{") else {
            return false
        }
        index += 1
        JSONBytes.skipWhitespace(line, &index)
        if index < line.count, line[index] == UInt8(ascii: "}") {
            index += 1
            return true
        }
        while true {
            guard let key = JSONBytes.scanString(line, &index) else {
                return false
            }
            JSONBytes.skipWhitespace(line, &index)
            guard index < line.count, line[index] == UInt8(ascii: ":") else {
                return false
            }
            index += 1
            JSONBytes.skipWhitespace(line, &index)

            let (leaf, deeper) = self.match(key, in: line, depth: depth, candidates: candidates)
            switch leaf {
            case .method?:
                guard let value = JSONBytes.scanString(line, &index) else {
                    return false
                }
                found.method = value
            case .path?:
                guard let value = JSONBytes.scanString(line, &index) else {
                    return false
                }
                found.path = value
            case .status?:
                if JSONBytes.skipLiteral("null", line, &index) {
                    found.status = nil
                } else {
                    guard let value = Self.number(line, &index), value.rounded() == value, value >= 0, value < 1000
                    else {
                        return false
                    }
                    found.status = Int(value)
                }
            case .duration?:
                guard let value = Self.number(line, &index), value.isFinite, value >= 0 else {
                    return false
                }
                found.duration = value + 0
            case nil:
                if deeper != 0, index < line.count, line[index] == UInt8(ascii: "{") {
                    guard self.scanObject(line, &index, depth: depth + 1, candidates: deeper, &found) else {
                        return false
                    }
                } else {
                    guard JSONBytes.skipValue(line, &index) else {
                        return false
                    }
                }
            }

            JSONBytes.skipWhitespace(line, &index)
            guard index < line.count else {
                return false
            }
            if line[index] == UInt8(ascii: ",") {
                index += 1
                JSONBytes.skipWhitespace(line, &index)
                continue
            }
            guard line[index] == UInt8(ascii: "}") else {
                return false
            }
            index += 1
            return true
        }
    }

    /// The field `key` names at `depth`, and the fields whose key path continues below it.
    private func match(
        _ key: (content: Range<Int>, escaped: Bool), in line: UnsafeRawBufferPointer, depth: Int, candidates: UInt8
    ) -> (Field?, UInt8) {
        if key.escaped {
            // Rare (`"dur\u0061tion"`): compare the decoded bytes.
            let bytes = JSONBytes.unescapedBytes(line, key.content)
            return bytes.withUnsafeBytes { self.match($0, 0..<$0.count, depth: depth, candidates: candidates) }
        }
        return self.match(line, key.content, depth: depth, candidates: candidates)
    }

    @inline(__always)
    private func match(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>, depth: Int, candidates: UInt8) -> (Field?, UInt8) {
        var deeper: UInt8 = 0
        for field in 0..<4 where candidates & (1 << field) != 0 {
            let path = self.keyPaths[field]
            guard depth < path.count, Self.equal(buffer, range, path[depth]) else {
                continue
            }
            if depth == path.count - 1 {
                return (Field(rawValue: field), 0)
            }
            deeper |= 1 << field
        }
        return (nil, deeper)
    }

    /// Most keys of a line are not configured ones and differ in length, so the length decides
    /// before any byte is compared.
    @inline(__always)
    private static func equal(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: [UInt8]) -> Bool {
        guard range.count == name.count else {
            return false
        }
        guard !name.isEmpty, let base = buffer.baseAddress else {
            return name.isEmpty  // `{"":…}` is a key too
        }
        return name.withUnsafeBytes { memcmp(base + range.lowerBound, $0.baseAddress!, range.count) == 0 }
    }

    /// A JSON number, or a string whose entire content is one (`"12.3"`).
    private static func number(_ line: UnsafeRawBufferPointer, _ index: inout Int) -> Double? {
        guard index < line.count else {
            return nil
        }
        if line[index] == LineBytes.quote {
            guard let string = JSONBytes.scanString(line, &index), !string.escaped,
                let (value, end) = LineBytes.scanNumber(
                    in: line,
                    from: string.content.lowerBound,
                    to: string.content.upperBound
                ),
                end == string.content.upperBound
            else {
                return nil
            }
            return value
        }
        guard let (value, end) = LineBytes.scanNumber(in: line, from: index, to: line.count) else {
            return nil
        }
        index = end
        return value
    }
}
