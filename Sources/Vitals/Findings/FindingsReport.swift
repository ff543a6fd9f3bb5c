#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `vitals report`: the findings of log files, the way pgBadger reports a Postgres log but for the
/// whole picture. The files are read by the same pass as `vitals replay` (the timing logs named as
/// arguments, the Postgres logs of `--slow-query.log-path`), and the same rules as the live
/// findings run once, over the time the logs cover.
///
/// Only what files can show is found: routes over target, N+1 (with the route from sqlcommenter
/// tags), missing indexes (table sizes come from the plans' row counts, so no live database is
/// needed), and a blocked event loop from asyncio's warnings. Connections, locks and Redis need the
/// live sources.
public enum FindingsReport {
    public enum Format: String, Sendable, CaseIterable {
        case text, markdown, json
    }

    public static let keys: [ConfigurationKey] = [
        ConfigurationKey("report.format", .string, default: .string("text"), help: "vitals report only: text, markdown or json."),
        ConfigurationKey(
            "report.duration", .duration,
            help: "vitals report only: the time the logs cover, for rates per minute; by default, from the first and last timestamps of the logs."),
    ]

    /// What a report says: the findings and the time they were found over.
    public struct Result: Sendable {
        public var findings: [Finding]
        /// Epoch seconds of the logs' first and last line, when they carry timestamps.
        public var from: Double?
        public var to: Double?
        /// Seconds the rates are over.
        public var window: Double
        public var settings: FindingSettings
    }

    public static func run(files paths: [String], values: ConfigurationValues) throws -> String {
        guard let format = Format(rawValue: values.string("report.format") ?? "text") else {
            throw ConfigurationError(.invalidValue, key: "report.format", "'\(values.string("report.format") ?? "")' is not one of text, markdown, json")
        }
        let result = try evaluate(files: paths, values: values)
        switch format {
        case .json:
            return FindingsJSON.render(result.findings, evaluatedAt: result.to, window: result.window, settings: result.settings) + "\n"
        case .text: return text(result, markdown: false)
        case .markdown: return text(result, markdown: true)
        }
    }

    public static func evaluate(files paths: [String], values: ConfigurationValues) throws -> Result {
        let findings = try FindingsConfiguration(values: values)
        guard findings.enabled else {
            throw ConfigurationError(.invalidValue, key: "findings.enabled", "vitals report computes findings: leave --findings.enabled on")
        }
        let registry = MetricRegistry()
        let postgres = try TimingLogReplay.read(files: paths, values: values, into: registry)
        // Each kind of log in its own clock: Postgres writes its zone, an app's log often its
        // local time without one. The window is the longer span; the times shown, Postgres's.
        var timing: (first: Double, last: Double)?
        for path in paths {
            guard let file = LogSpan.ofFile(atPath: path) else { continue }
            timing = timing.map { (min($0.first, file.first), max($0.last, file.last)) } ?? file
        }
        let span = postgres?.span ?? timing
        let longest = max(timing.map { $0.last - $0.first } ?? 0, postgres?.span.map { $0.last - $0.first } ?? 0)
        let window: Double
        if let given = values.duration("report.duration") {
            guard given > .zero else { throw ConfigurationError(.invalidValue, key: "report.duration", "must be positive") }
            window = given.seconds
        } else if longest > 0 {
            window = longest
        } else {
            throw ConfigurationError(
                .missingValue, key: "report.duration",
                "the logs carry no timestamps vitals can read (or one instant only): give the time they cover, e.g. --report.duration=1h")
        }
        let end = span?.last ?? window
        var latest = MetricFrame.gathered(from: registry, time: end)
        latest.nPlusOne = postgres?.nPlusOne ?? [:]
        latest.indexCandidates = postgres?.indexCandidates ?? [:]
        // Counters start at zero with the logs, so the window's first frame is an empty one.
        let earliest = MetricFrame(time: end - window)
        var board = FindingsBoard(maxPerKind: findings.maxPerKind)
        board.update(with: FindingRules.evaluate(FindingInputs(earliest: earliest, previous: earliest, latest: latest), settings: findings.rules), now: end)
        let found = board.current.map { finding -> Finding in
            var finding = finding
            finding.firstSeen = end - window
            return finding
        }
        return Result(findings: found, from: span?.first, to: span?.last, window: window, settings: findings.rules)
    }

    /// Plain text for a terminal, or Markdown for an issue or a pull request.
    static func text(_ result: Result, markdown: Bool) -> String {
        let target = "\(result.settings.quantileName) under \(HumanUnits.duration(result.settings.targetLatency))"
        var span = "over " + HumanUnits.span(result.window)
        if let from = result.from, let to = result.to, to > from {
            span += " (\(SlowQueryTime.iso8601(from)) to \(SlowQueryTime.iso8601(to)))"
        }
        let count = result.findings.count == 1 ? "1 finding" : "\(result.findings.count) findings"
        var out = markdown ? "# vitals report\n\n\(count) \(span); target: \(target).\n" : "vitals report: \(count) \(span); target: \(target)\n"
        if result.findings.isEmpty {
            return out + "\nNothing found: no route over target, no known bottleneck in these logs.\n"
        }
        for (index, finding) in result.findings.enumerated() {
            let impact = finding.impactSecondsPerMinute.map { ", impact " + HumanUnits.duration($0) + "/min" } ?? ""
            let evidence = finding.evidence.map { "\($0.name) \(HumanUnits.evidence($0))" }.joined(separator: ", ")
            if markdown {
                out += "\n## \(index + 1). \(finding.kind.rawValue): `\(finding.subject)`\(impact)\n\n"
                if let route = finding.route, route != finding.subject { out += "- Route: `\(route)`\n" }
                out += "- Evidence: \(evidence)\n- Action: \(finding.action)\n"
            } else {
                out += "\n\(index + 1). \(finding.kind.rawValue)  \(finding.subject)\(impact)\n"
                if let route = finding.route, route != finding.subject { out += "   route: \(route)\n" }
                out += "   evidence: \(evidence)\n   action: \(finding.action)\n"
            }
        }
        return out
    }
}

/// How long a log covers, from the timestamps its first and last lines start with
/// (`2026-11-24 12:00:00,000 …`, as Python's logging and Postgres write them). The zone is not
/// read: both ends are in the same one, and only their difference is used.
enum LogSpan {
    /// Seconds since an arbitrary epoch of a line's leading `YYYY-MM-DD[ T]HH:MM:SS[.,fraction]`.
    static func leadingTime(_ line: some Collection<UInt8>) -> Double? {
        var bytes = Array(line.prefix(40))[...]
        if bytes.first == UInt8(ascii: "[") { bytes = bytes.dropFirst() }
        func number(_ from: Int, _ count: Int) -> Int? {
            let start = bytes.startIndex + from
            guard start + count <= bytes.endIndex else { return nil }
            var value = 0
            for byte in bytes[start..<start + count] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        func byte(_ at: Int) -> UInt8? { bytes.startIndex + at < bytes.endIndex ? bytes[bytes.startIndex + at] : nil }
        guard let year = number(0, 4), byte(4) == UInt8(ascii: "-"), let month = number(5, 2), byte(7) == UInt8(ascii: "-"),
            let day = number(8, 2), byte(10) == UInt8(ascii: " ") || byte(10) == UInt8(ascii: "T"), let hour = number(11, 2),
            byte(13) == UInt8(ascii: ":"), let minute = number(14, 2), byte(16) == UInt8(ascii: ":"), let second = number(17, 2),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var time = Double(SlowQueryTime.daysFromCivil(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second)
        if byte(19) == UInt8(ascii: ".") || byte(19) == UInt8(ascii: ",") {
            var scale = 0.1
            var offset = 20
            while let digit = number(offset, 1) {
                time += Double(digit) * scale
                scale /= 10
                offset += 1
            }
        }
        return time
    }

    /// The leading times of a plain file's first and last timestamped lines; nil when it has none
    /// (or is compressed: a rotated `.gz` is read for metrics but not for its span).
    static func ofFile(atPath path: String) -> (first: Double, last: Double)? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return nil }
        let size = Int(status.st_size)
        func read(_ count: Int, at offset: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: max(0, count))
            let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            return Array(bytes.prefix(max(0, got)))
        }
        let head = read(min(size, 4096), at: 0)
        guard let first = head.split(separator: UInt8(ascii: "\n")).lazy.compactMap({ leadingTime($0) }).first else { return nil }
        let tail = read(min(size, 65_536), at: max(0, size - 65_536))
        guard let last = tail.split(separator: UInt8(ascii: "\n")).reversed().lazy.compactMap({ leadingTime($0) }).first else { return nil }
        return (first, last)
    }
}
