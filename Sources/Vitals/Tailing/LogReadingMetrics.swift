/// The `vitals_log_*` families every log-reading source shares, told apart by their `source` label.
public struct LogReadingMetrics: Sendable {
    public let source: String
    public let lines: CounterFamily
    public let bytesRead: CounterFamily
    public let bytesBehind: GaugeFamily
    public let filesFollowed: GaugeFamily

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
    }

    public func countLines(parsed: Int, unparsed: Int, oversized: Int) {
        if parsed > 0 { lines.increment([source, "parsed"], by: Double(parsed)) }
        if unparsed > 0 { lines.increment([source, "unparsed"], by: Double(unparsed)) }
        if oversized > 0 { lines.increment([source, "oversized"], by: Double(oversized)) }
    }

    /// After a poll: bytes read, how far behind the tailer is, and how many files it follows.
    public func recordPoll(_ result: LogTailer.PollResult, tailer: LogTailer) {
        if result.bytesRead > 0 { bytesRead.increment([source], by: Double(result.bytesRead)) }
        bytesBehind.set([source], to: Double(tailer.bytesBehind))
        filesFollowed.set([source], to: Double(tailer.followedFiles.count))
    }
}
