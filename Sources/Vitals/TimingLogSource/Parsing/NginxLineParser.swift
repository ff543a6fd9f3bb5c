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
public struct NginxLineParser: TimingLineParser {
    public init() {}

    public var hasStatus: Bool { true }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        guard let record = Self.record(line) else {
            return .unparsed
        }
        return .request(record)
    }

    private static func record(_ line: UnsafeRawBufferPointer) -> TimingRecord? {
        let end = LineBytes.trimmedEnd(of: line)

        // "$request": nginx escapes `"` inside variables as `\x22`, so the next quote closes it.
        guard let openingQuote = LineBytes.firstIndex(of: "] \"", in: line).map({ $0 + 2 }),
            let closingQuote = LineBytes.firstIndex(of: LineBytes.quote, in: line, from: openingQuote + 1, to: end)
        else {
            return nil
        }
        let requestStart = openingQuote + 1
        var methodEnd = requestStart
        while methodEnd < closingQuote, isMethodByte(line[methodEnd]) {
            methodEnd += 1
        }
        guard methodEnd > requestStart, methodEnd - requestStart <= maximumMethodLength,
            methodEnd < closingQuote, line[methodEnd] == LineBytes.space
        else {
            return nil
        }
        let targetStart = methodEnd + 1
        let targetEnd =
            LineBytes.firstIndex(of: LineBytes.space, in: line, from: targetStart, to: closingQuote) ?? closingQuote
        guard targetEnd > targetStart else {
            return nil
        }

        // ` 200 `
        let statusStart = closingQuote + 2
        let statusEnd = statusStart + 3
        guard statusEnd < end, line[closingQuote + 1] == LineBytes.space, line[statusEnd] == LineBytes.space,
            let status = LineBytes.status(in: line, from: statusStart, to: statusEnd)
        else {
            return nil
        }

        // Last field: $request_time.
        var durationStart = end
        while durationStart > statusEnd, !LineBytes.isWhitespace(line[durationStart - 1]) {
            durationStart -= 1
        }
        guard durationStart > statusEnd,
            LineBytes.firstIndex(of: UInt8(ascii: "."), in: line, from: durationStart, to: end) != nil,
            let seconds = LineBytes.duration(in: line, from: durationStart, to: end)
        else {
            return nil
        }

        return TimingRecord(
            method: LineBytes.string(line, requestStart..<methodEnd),
            path: LineBytes.string(line, targetStart..<targetEnd),
            status: status,
            durationSeconds: seconds
        )
    }

    /// nginx accepts methods made of uppercase letters, `_` and `-`; anything else in the
    /// request (e.g. a TLS handshake sent to a plain-HTTP port) is not a request we can time.
    @inline(__always)
    private static func isMethodByte(_ byte: UInt8) -> Bool {
        LineBytes.isUppercaseLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    private static let maximumMethodLength = 20
}
