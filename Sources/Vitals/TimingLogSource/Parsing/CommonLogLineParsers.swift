/// Parses gunicorn access-log lines: its default `access_log_format`
///
///     %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"
///
/// with the request time appended as the last field, either `%(L)s` (seconds, `0.012345`) or
/// `%(D)s` (microseconds, `12345`). gunicorn prints `%(L)s` always with a decimal point and
/// `%(D)s` never, so the unit is read off the field and either choice needs no setting.
public struct GunicornLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        guard let request = AccessLogLine.requestAfterTimestamp(line, end: end),
            let (status, statusEnd) = AccessLogLine.status(line, after: request, end: end),
            let field = AccessLogLine.lastField(line, after: statusEnd, end: end),
            let value = LineBytes.duration(in: line, from: field.lowerBound, to: field.upperBound)
        else {
            return .unparsed
        }
        // Without a decimal point the field is %(D)s; `1e3` is neither and is refused.
        let seconds: Double
        if AccessLogLine.contains(UInt8(ascii: "."), line, field) {
            seconds = value
        } else if AccessLogLine.isInteger(line, field) {
            seconds = DurationUnit.microseconds.seconds(value)
        } else {
            return .unparsed
        }
        return .request(AccessLogLine.record(line, request, status: status, seconds: seconds))
    }
}

/// Parses Apache httpd access-log lines in the `combined` format with `%D` (the time taken to
/// serve the request, in microseconds) appended:
///
///     LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D" timed
///
/// Apache escapes `"` inside `%r` and the headers as `\"`, which the request anchor skips.
/// The last field must be an integer: `%D` always is, and a line without it ends with the
/// quoted user agent instead.
public struct ApacheLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        guard let request = AccessLogLine.requestAfterTimestamp(line, end: end),
            let (status, statusEnd) = AccessLogLine.status(line, after: request, end: end),
            let field = AccessLogLine.lastField(line, after: statusEnd, end: end),
            AccessLogLine.isInteger(line, field), field.count <= maximumDigits,
            let microseconds = LineBytes.duration(in: line, from: field.lowerBound, to: field.upperBound)
        else {
            return .unparsed
        }
        return .request(
            AccessLogLine.record(line, request, status: status, seconds: DurationUnit.microseconds.seconds(microseconds)))
    }

    /// 15 digits of microseconds is 31 years: anything longer is not a request time.
    private let maximumDigits = 15
}

/// Parses Envoy's default access-log format:
///
///     [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%"
///     %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
///     %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
///     "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"
///
/// `%DURATION%` (milliseconds, from the first request byte to the last response byte) is the
/// fifth field after the request. A response code of 0 means the client left before any
/// response started: no status, so the line is not a timing and counts as unparsed.
public struct EnvoyLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let end = LineBytes.trimmedEnd(of: line)
        guard let request = AccessLogLine.requestAfterTimestamp(line, end: end),
            let (status, statusEnd) = AccessLogLine.status(line, after: request, end: end)
        else {
            return .unparsed
        }
        // RESPONSE_FLAGS, BYTES_RECEIVED, BYTES_SENT, then DURATION.
        var cursor = statusEnd
        var field: Range<Int>?
        for _ in 0..<4 {
            guard let next = AccessLogLine.nextField(line, from: cursor, end: end) else {
                return .unparsed
            }
            field = next
            cursor = next.upperBound
        }
        guard let field, AccessLogLine.isInteger(line, field),
            let milliseconds = LineBytes.duration(in: line, from: field.lowerBound, to: field.upperBound)
        else {
            return .unparsed
        }
        return .request(
            AccessLogLine.record(line, request, status: status, seconds: DurationUnit.milliseconds.seconds(milliseconds)))
    }
}
