/// Parses lines with a user-supplied regular expression, for formats the built-in parsers don't know.
///
/// The pattern (Swift `Regex` syntax, which is PCRE-like) must define the named groups
/// `method`, `path` and `duration`, and may define `status`:
///
///     (?<method>[A-Z]+) (?<path>\S+) -> (?<status>\d{3}) in (?<duration>[\d.]+)ms
///
/// The first match anywhere in the line counts; anchor the pattern with `^`/`$` if needed.
/// This is much slower than the dedicated parsers (the line is decoded into a `String` and run
/// through the regex engine), so prefer those when the format fits.
public struct RegexLineParser: TimingLineParser {
    public let pattern: String
    public let unit: DurationUnit
    /// True when the pattern has a `status` group.
    public let hasStatus: Bool

    // `Regex` is not declared `Sendable`, but a compiled `Regex` is immutable: its only mutable
    // state is the lazily lowered program, which is published with an atomic
    // compare-and-exchange. `init` forces that lowering before the parser can be shared.
    nonisolated(unsafe) private let regex: Regex<AnyRegexOutput>

    /// - Throws: `TimingLogConfigurationError` if the pattern does not compile or lacks a
    ///   required named group.
    public init(pattern: String, unit: DurationUnit) throws(TimingLogConfigurationError) {
        let regex: Regex<AnyRegexOutput>
        do {
            regex = try Regex(pattern)
        } catch {
            throw TimingLogConfigurationError(message: "invalid timing-log regex \(pattern): \(error)")
        }
        let missing = ["method", "path", "duration"].filter { !regex.contains(captureNamed: $0) }
        guard missing.isEmpty else {
            let groups = missing.map { "(?<\($0)>…)" }.joined(separator: ", ")
            throw TimingLogConfigurationError(
                message: "timing-log regex \(pattern) lacks the named group(s) \(groups)"
            )
        }
        self.pattern = pattern
        self.unit = unit
        self.hasStatus = regex.contains(captureNamed: "status")
        self.regex = regex
        _ = try? regex.firstMatch(in: "")  // Compile now, see above.
    }

    public func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult {
        let text = String(decoding: line, as: UTF8.self)
        guard let match = try? self.regex.firstMatch(in: text),
            let method = match["method"]?.substring, !method.isEmpty,
            let path = match["path"]?.substring, !path.isEmpty,
            let durationText = match["duration"]?.substring,
            let duration = Self.withBytes(of: durationText, { LineBytes.duration(in: $0, from: 0, to: $0.count) })
        else {
            return .unparsed
        }
        var status: Int?
        if self.hasStatus, let statusText = match["status"]?.substring {
            // An optional status group that did not participate leaves the status unknown.
            guard let parsed = Self.withBytes(of: statusText, { LineBytes.status(in: $0, from: 0, to: $0.count) })
            else {
                return .unparsed
            }
            status = parsed
        }
        return .request(
            TimingRecord(
                method: String(method),
                path: String(path),
                status: status,
                durationSeconds: self.unit.seconds(duration)
            )
        )
    }

    private static func withBytes<Result>(
        of text: Substring,
        _ body: (UnsafeRawBufferPointer) -> Result?
    ) -> Result? {
        if let result = text.utf8.withContiguousStorageIfAvailable({ body(UnsafeRawBufferPointer($0)) }) {
            return result
        }
        return Array(text.utf8).withUnsafeBytes(body)
    }
}
