import NIOConcurrencyHelpers

/// The `vitals_log_*` families every log-reading source shares, told apart by their `source` label.
///
/// Several timing-log inputs share `source="timing_log"`: each adds its own part to the two
/// gauges (what it last reported, replaced by what it reports now), so they read the sum over
/// the inputs instead of whichever input polled last.
public struct LogReadingMetrics: Sendable {
    public let source: String
    public let lines: CounterFamily
    public let bytesRead: CounterFamily
    public let bytesBehind: GaugeFamily
    public let filesFollowed: GaugeFamily
    /// This reader's part of the two gauges, as it last reported them.
    private let reported = NIOLockedValueBox<(behind: Int64, files: Int)>((0, 0))

    public init(registry: MetricRegistry, source: String) throws(RegistryError) {
        self.source = source
        lines = try registry.counter(
            "vitals_log_lines_total", help: "Log lines read, by result: parsed, unparsed or oversized.", labels: ["source", "result"])
        bytesRead = try registry.counter("vitals_log_bytes_read_total", help: "Bytes read from followed log files.", labels: ["source"])
        bytesBehind = try registry.gauge(
            "vitals_log_bytes_behind", help: "Bytes written to followed log files but not read yet.", labels: ["source"])
        filesFollowed = try registry.gauge("vitals_log_files_followed", help: "Log files currently followed.", labels: ["source"])
        for result in ["parsed", "unparsed", "oversized"] { lines.initialize([source, result]) }
        bytesRead.initialize([source])
        // Zero is a value: the gauges exist from the start, whatever the readers report later.
        bytesBehind.add([source], 0)
        filesFollowed.add([source], 0)
    }

    public func countLines(parsed: Int, unparsed: Int, oversized: Int) {
        if parsed > 0 { lines.increment([source, "parsed"], by: Double(parsed)) }
        if unparsed > 0 { lines.increment([source, "unparsed"], by: Double(unparsed)) }
        if oversized > 0 { lines.increment([source, "oversized"], by: Double(oversized)) }
    }

    /// After a poll: bytes read, how far behind the tailer is, and how many files it follows.
    public func recordPoll(_ result: LogTailer.PollResult, tailer: LogTailer) {
        if result.bytesRead > 0 { bytesRead.increment([source], by: Double(result.bytesRead)) }
        let now = (behind: tailer.bytesBehind, files: tailer.followedFiles.count)
        let before = reported.withLockedValue { last in
            defer { last = now }
            return last
        }
        if now.behind != before.behind { bytesBehind.add([source], Double(now.behind - before.behind)) }
        if now.files != before.files { filesFollowed.add([source], Double(now.files - before.files)) }
    }
}
