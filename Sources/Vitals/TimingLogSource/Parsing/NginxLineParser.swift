/// Parses nginx access-log lines in the `combined` format with `$request_time` appended:
///
///     log_format timed '$remote_addr - $remote_user [$time_local] "$request" '
///                      '$status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time';
///
/// Only the anchors matter: the quoted request right after `] `, the status right after it, and
/// the last whitespace-separated field as the duration in seconds. Fields between status and
/// the end may vary, so custom formats that keep those anchors work too.
///
/// The last field must contain a decimal point. nginx always prints `$request_time` with
/// millisecond precision (`0.012`), so this rejects lines whose format lacks it, where the last
/// field would otherwise be `$body_bytes_sent` read as seconds.
///
/// With ``UpstreamTime/logged`` or ``UpstreamTime/observed`` the line ends with
/// `$request_time $upstream_response_time`. nginx writes one upstream time per server tried,
/// separated by `, `, and groups them by `:` when an internal redirect moved the request to
/// another upstream group (`0.005, 0.019 : 0.002`); `-` stands for a server that gave no time
/// and is the whole value when no upstream was involved (a static file, a cache hit).
public struct NginxLineParser: TimingLineParser {
    public enum UpstreamTime: String, Sendable, CaseIterable {
        /// The line ends with `$request_time`.
        case absent
        /// The line ends with `$request_time $upstream_response_time`; `$request_time` is
        /// observed, since that is what the client waited.
        case logged
        /// As `logged`, but the sum of the upstream times is observed (the application's own
        /// share); a line with no upstream time at all (`-`) is not a timing of the application
        /// and counts as unparsed.
        case observed
    }

    public let upstreamTime: UpstreamTime

    public init(upstreamTime: UpstreamTime = .absent) {
        self.upstreamTime = upstreamTime
    }

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        guard let record = record(line) else {
            return .unparsed
        }
        return .request(record)
    }

    private func record(_ line: UnsafeRawBufferPointer) -> TimingRecord? {
        let end = LineBytes.trimmedEnd(of: line)
        guard let request = AccessLogLine.requestAfterTimestamp(line, end: end),
            let (status, statusEnd) = AccessLogLine.status(line, after: request, end: end)
        else {
            return nil
        }
        let requestTime: Range<Int>
        var upstreamSeconds: Double?
        if upstreamTime == .absent {
            guard let last = AccessLogLine.lastField(line, after: statusEnd, end: end) else {
                return nil
            }
            requestTime = last
        } else {
            guard let (field, upstream) = Self.upstreamTimes(line, after: statusEnd, end: end) else {
                return nil
            }
            requestTime = field
            upstreamSeconds = upstream
        }
        guard AccessLogLine.contains(UInt8(ascii: "."), line, requestTime),
            let seconds = LineBytes.duration(in: line, from: requestTime.lowerBound, to: requestTime.upperBound)
        else {
            return nil
        }
        if upstreamTime == .observed {
            guard let upstreamSeconds else {
                return nil
            }
            return AccessLogLine.record(line, request, status: status, seconds: upstreamSeconds)
        }
        return AccessLogLine.record(line, request, status: status, seconds: seconds)
    }

    /// Reads `$upstream_response_time` backwards from the end of the line.
    ///
    /// - Returns: the field before it (`$request_time`) and the sum of the upstream times, `nil`
    ///   when every value is `-`; or `nil` when the tail is not an upstream time.
    private static func upstreamTimes(_ line: UnsafeRawBufferPointer, after floor: Int, end: Int) -> (Range<Int>, Double?)? {
        var cursor = end
        var sum = 0.0
        var measured = false
        // Each value consumes at least one byte, so the walk ends; the cap bounds a hostile tail.
        for _ in 0..<maximumUpstreamValues {
            guard let field = AccessLogLine.lastField(line, after: floor, end: cursor) else {
                return nil
            }
            if field.count == 1, line[field.lowerBound] == UInt8(ascii: "-") {
                // A server that gave no time.
            } else if let seconds = LineBytes.duration(in: line, from: field.lowerBound, to: field.upperBound) {
                sum += seconds
                measured = true
            } else {
                return nil
            }
            cursor = Self.skipSpacesBackwards(line, from: field.lowerBound, floor: floor)
            guard let previous = AccessLogLine.lastField(line, after: floor, end: cursor) else {
                return nil
            }
            if previous.count == 1, line[previous.lowerBound] == UInt8(ascii: ":") {
                cursor = Self.skipSpacesBackwards(line, from: previous.lowerBound, floor: floor)
            } else if line[previous.upperBound - 1] == UInt8(ascii: ",") {
                cursor = previous.upperBound - 1
            } else {
                return (previous, measured ? sum + 0 : nil)
            }
        }
        return nil
    }

    private static func skipSpacesBackwards(_ line: UnsafeRawBufferPointer, from index: Int, floor: Int) -> Int {
        var cursor = index
        while cursor > floor, line[cursor - 1] == LineBytes.space {
            cursor -= 1
        }
        return cursor
    }

    /// nginx tries at most `proxy_next_upstream_tries` servers; 64 values is far beyond any
    /// real configuration.
    private static let maximumUpstreamValues = 64
}
