/// Parses structured logs with one JSON object per line, e.g.
///
///     {"ts":"…","method":"GET","path":"/markets/42","status":200,"duration_ms":12.3}
///
/// A hand-written scanner instead of Foundation: it only decodes the four configured top-level
/// keys, skips everything else (nested values included) without allocating, and cannot crash,
/// recurse or hang on hostile input.
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

    private let methodKey: [UInt8]
    private let pathKey: [UInt8]
    private let statusKey: [UInt8]?
    private let durationKey: [UInt8]

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        self.methodKey = Array(configuration.methodField.utf8)
        self.pathKey = Array(configuration.pathField.utf8)
        self.statusKey = configuration.statusField.map { Array($0.utf8) }
        self.durationKey = Array(configuration.durationField.utf8)
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

    private enum Field {
        case method, path, status, duration, other
    }

    private func record(_ line: UnsafeRawBufferPointer) -> TimingRecord? {
        var index = 0
        JSONBytes.skipWhitespace(line, &index)
        guard index < line.count, line[index] == UInt8(ascii: "{") else {
            return nil
        }
        index += 1

        var method: (content: Range<Int>, escaped: Bool)?
        var path: (content: Range<Int>, escaped: Bool)?
        var status: Int?
        var duration: Double?

        JSONBytes.skipWhitespace(line, &index)
        if index < line.count, line[index] == UInt8(ascii: "}") {
            return nil  // `{}`: none of the fields.
        }
        while true {
            guard let key = JSONBytes.scanString(line, &index) else {
                return nil
            }
            JSONBytes.skipWhitespace(line, &index)
            guard index < line.count, line[index] == UInt8(ascii: ":") else {
                return nil
            }
            index += 1
            JSONBytes.skipWhitespace(line, &index)

            switch self.field(for: key, in: line) {
            case .method:
                guard let value = JSONBytes.scanString(line, &index) else {
                    return nil
                }
                method = value
            case .path:
                guard let value = JSONBytes.scanString(line, &index) else {
                    return nil
                }
                path = value
            case .status:
                if JSONBytes.skipLiteral("null", line, &index) {
                    status = nil
                } else {
                    guard let value = Self.number(line, &index), value.rounded() == value, value >= 0, value < 1000
                    else {
                        return nil
                    }
                    status = Int(value)
                }
            case .duration:
                guard let value = Self.number(line, &index), value.isFinite, value >= 0 else {
                    return nil
                }
                duration = value + 0
            case .other:
                guard JSONBytes.skipValue(line, &index) else {
                    return nil
                }
            }

            JSONBytes.skipWhitespace(line, &index)
            guard index < line.count else {
                return nil
            }
            if line[index] == UInt8(ascii: ",") {
                index += 1
                JSONBytes.skipWhitespace(line, &index)
                continue
            }
            guard line[index] == UInt8(ascii: "}") else {
                return nil
            }
            index += 1
            break
        }
        JSONBytes.skipWhitespace(line, &index)
        guard index == line.count,
            let method, !method.content.isEmpty,
            let path, !path.content.isEmpty,
            let duration
        else {
            return nil
        }
        return TimingRecord(
            method: JSONBytes.decodeString(line, method.content, escaped: method.escaped),
            path: JSONBytes.decodeString(line, path.content, escaped: path.escaped),
            status: status,
            durationSeconds: self.configuration.durationUnit.seconds(duration)
        )
    }

    private func field(for key: (content: Range<Int>, escaped: Bool), in line: UnsafeRawBufferPointer) -> Field {
        if key.escaped {
            // Rare (`"dur\u0061tion"`): compare the decoded bytes.
            let bytes = JSONBytes.unescapedBytes(line, key.content)
            return bytes.withUnsafeBytes { self.field(matching: $0, 0..<$0.count) }
        }
        return self.field(matching: line, key.content)
    }

    @inline(__always)
    private func field(matching buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> Field {
        let key = UnsafeRawBufferPointer(rebasing: buffer[range])
        if key.elementsEqual(self.durationKey) {
            return .duration
        }
        if key.elementsEqual(self.methodKey) {
            return .method
        }
        if key.elementsEqual(self.pathKey) {
            return .path
        }
        if let statusKey = self.statusKey, key.elementsEqual(statusKey) {
            return .status
        }
        return .other
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
