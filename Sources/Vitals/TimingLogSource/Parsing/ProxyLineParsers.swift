/// Parses AWS Application Load Balancer access-log entries:
///
///     type time elb client:port target:port request_processing_time target_processing_time
///     response_processing_time elb_status_code target_status_code received_bytes sent_bytes
///     "request" "user_agent" ssl_cipher ssl_protocol target_group_arn "trace_id" …
///
/// The duration is the sum of the three processing times (seconds), which is the time the load
/// balancer held the request; the status is `elb_status_code`, what the client received. The
/// ALB writes `-1` for a time it could not measure (the target closed the connection, or never
/// answered): such an entry has no duration and counts as unparsed. The request's target is an
/// absolute URL (`http://host:80/path`), which route templating reduces to its path.
public struct ALBLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        // Fields 6 to 8 are the processing times, 9 the ALB's status; no array, no allocation.
        var seconds = 0.0
        var status: Int?
        var cursor = 0
        for number in 1...12 {
            guard let field = AccessLogLine.nextField(line, from: cursor, end: end) else {
                return .unparsed
            }
            cursor = field.upperBound
            switch number {
            case 6...8:
                guard let value = LineBytes.duration(in: line, from: field.lowerBound, to: field.upperBound) else {
                    return .unparsed
                }
                seconds += value
            case 9:
                guard field.count == 3 else {
                    return .unparsed
                }
                status = LineBytes.status(in: line, from: field.lowerBound, to: field.upperBound)
            default:
                break
            }
        }
        guard let status, cursor + 1 < end, line[cursor] == LineBytes.space, line[cursor + 1] == LineBytes.quote,
            let request = AccessLogLine.request(line, openingQuote: cursor + 1, end: end)
        else {
            return .unparsed
        }
        return .request(AccessLogLine.record(line, request, status: status, seconds: seconds))
    }
}

/// Parses HAProxy's HTTP log (`option httplog`), with or without a syslog header:
///
///     10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750
///       - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1"
///
/// The timers `TR/Tw/Tc/Tr/Ta` are the first field of five slash-separated integers, and `Ta`
/// (milliseconds from the first request byte to the last response byte) is the duration; with
/// `option logasap` it carries a `+` and is a lower bound, still the best there is. `-1` in the
/// other timers only means a phase did not happen (a redirect never connects to a server). The
/// status follows the timers and the request line is the last field, quoted; haproxy writes a
/// `"` inside it as `#22`, so the last quote but one opens it.
public struct HAProxyLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        guard end >= 2, line[end - 1] == LineBytes.quote else {
            return .unparsed
        }
        var openingQuote = end - 2
        while openingQuote >= 0, line[openingQuote] != LineBytes.quote {
            openingQuote -= 1
        }
        guard openingQuote > 0, let request = AccessLogLine.request(line, openingQuote: openingQuote, end: end),
            request.closingQuote == end - 1
        else {
            return .unparsed
        }
        var cursor = 0
        while let field = AccessLogLine.nextField(line, from: cursor, end: openingQuote) {
            cursor = field.upperBound
            guard let milliseconds = Self.activeTime(line, timers: field) else {
                continue
            }
            guard let statusField = AccessLogLine.nextField(line, from: cursor, end: openingQuote), statusField.count == 3,
                let status = LineBytes.status(in: line, from: statusField.lowerBound, to: statusField.upperBound)
            else {
                return .unparsed
            }
            return .request(
                AccessLogLine.record(line, request, status: status, seconds: DurationUnit.milliseconds.seconds(milliseconds)))
        }
        return .unparsed
    }

    /// `Ta` from a `TR/Tw/Tc/Tr/Ta` field, or `nil` when the field is not one.
    private static func activeTime(_ line: UnsafeRawBufferPointer, timers: Range<Int>) -> Double? {
        var start = timers.lowerBound
        for index in 0..<5 {
            let isLast = index == 4
            let stop = isLast ? timers.upperBound : (LineBytes.firstIndex(of: LineBytes.slash, in: line, from: start, to: timers.upperBound) ?? -1)
            guard stop > start else {
                return nil
            }
            var digits = start
            if isLast, line[digits] == UInt8(ascii: "+") {
                digits += 1
            } else if !isLast, line[digits] == UInt8(ascii: "-") {
                digits += 1
            }
            guard AccessLogLine.isInteger(line, digits..<stop), stop - digits <= 12 else {
                return nil
            }
            if isLast {
                return LineBytes.duration(in: line, from: digits, to: stop)
            }
            start = stop + 1
        }
        return nil
    }
}

/// Parses Heroku router lines, as `heroku logs` and log drains deliver them:
///
///     2024-01-01T00:00:00.000000+00:00 heroku[router]: at=info method=GET path="/markets/42"
///       host=app.herokuapp.com request_id=… fwd="1.2.3.4" dyno=web.1 connect=0ms service=12ms
///       status=200 bytes=1234 protocol=https
///
/// The duration is `connect` plus `service`, both in milliseconds: the router's time to reach
/// the dyno and then to proxy its response. Error lines (`at=error code=H12 …`) carry the same
/// keys, with `connect=` sometimes empty, and count like any other request: a 30 s H12 timeout
/// is exactly the latency to see. Values may be quoted (`path="/a b"`); keys are read in any
/// order, and a line without `method`, `path`, `status` and `service` counts as unparsed.
public struct HerokuRouterLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        guard let messageStart = LineBytes.firstIndex(of: "at=", in: line) else {
            return .unparsed
        }
        var method: Range<Int>?
        var path: Range<Int>?
        var status: Int?
        var connect = 0.0
        var service: Double?
        var index = messageStart
        while index < end {
            while index < end, line[index] == LineBytes.space {
                index += 1
            }
            let keyStart = index
            while index < end, line[index] != UInt8(ascii: "="), line[index] != LineBytes.space {
                index += 1
            }
            guard index < end, line[index] == UInt8(ascii: "=") else {
                continue  // a bare word: skipped
            }
            let key = keyStart..<index
            index += 1
            let value: Range<Int>
            if index < end, line[index] == LineBytes.quote {
                guard let closing = LineBytes.firstIndex(of: LineBytes.quote, in: line, from: index + 1, to: end) else {
                    return .unparsed
                }
                value = (index + 1)..<closing
                index = closing + 1
            } else {
                let valueEnd = LineBytes.firstIndex(of: LineBytes.space, in: line, from: index, to: end) ?? end
                value = index..<valueEnd
                index = valueEnd
            }
            if Self.equals(line, key, "method") {
                method = value
            } else if Self.equals(line, key, "path") {
                path = value
            } else if Self.equals(line, key, "status") {
                guard value.count == 3 else { return .unparsed }
                status = LineBytes.status(in: line, from: value.lowerBound, to: value.upperBound)
            } else if Self.equals(line, key, "connect") {
                if !value.isEmpty {
                    guard let milliseconds = Self.milliseconds(line, value) else { return .unparsed }
                    connect = milliseconds
                }
            } else if Self.equals(line, key, "service") {
                guard let milliseconds = Self.milliseconds(line, value) else { return .unparsed }
                service = milliseconds
            }
        }
        guard let method, !method.isEmpty, let path, !path.isEmpty, let status, let service else {
            return .unparsed
        }
        return .request(
            TimingRecord(
                method: LineBytes.string(line, method),
                path: LineBytes.string(line, path),
                status: status,
                durationSeconds: DurationUnit.milliseconds.seconds(connect + service)))
    }

    @inline(__always)
    private static func equals(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, _ literal: StaticString) -> Bool {
        range.count == literal.utf8CodeUnitCount && LineBytes.hasLiteral(literal, in: line, at: range.lowerBound)
    }

    /// `12ms`.
    private static func milliseconds(_ line: UnsafeRawBufferPointer, _ value: Range<Int>) -> Double? {
        guard value.count > 2, LineBytes.hasLiteral("ms", in: line, at: value.upperBound - 2) else {
            return nil
        }
        return LineBytes.duration(in: line, from: value.lowerBound, to: value.upperBound - 2)
    }
}
