#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization

/// A swift-log handler that writes one logfmt or JSON object per line to stderr (or any sink),
/// the formats Prometheus exporters use (`--log.format logfmt|json`).
public struct StructuredLogHandler: LogHandler {
    public enum Format: String, Sendable, CaseIterable {
        case logfmt
        case json
    }

    /// Where finished lines go; one call per line, so lines never interleave.
    public typealias Sink = @Sendable (String) -> Void

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let label: String
    private let format: Format
    private let sink: Sink

    public init(label: String, format: Format, level: Logger.Level, sink: @escaping Sink = StructuredLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.sink = sink
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields: [(String, String)] = [
            ("ts", Self.timestamp()),
            ("level", Self.levelName(event.level)),
            ("logger", label),
            ("msg", event.message.description),
        ]
        let merged = metadata.merging(event.metadata ?? [:]) { _, new in new }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            fields.append((key, value.description))
        }
        sink(format == .json ? Self.json(fields) : Self.logfmt(fields))
    }

    static func levelName(_ level: Logger.Level) -> String {
        switch level {
        case .trace, .debug: "debug"
        case .info, .notice: "info"
        case .warning: "warn"
        case .error, .critical: "error"
        }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    static func logfmt(_ fields: [(String, String)]) -> String {
        var line = ""
        for (i, (key, value)) in fields.enumerated() {
            if i > 0 { line += " " }
            line += key
            line += "="
            let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.isNewline }
            if needsQuotes {
                line += "\""
                // By scalar: a CR LF pair is one Character and would match neither case.
                for scalar in value.unicodeScalars {
                    switch scalar {
                    case "\"": line += "\\\""
                    case "\\": line += "\\\\"
                    case "\n": line += "\\n"
                    case "\r": line += "\\r"
                    default: line.unicodeScalars.append(scalar)
                    }
                }
                line += "\""
            } else {
                line += value
            }
        }
        return line
    }

    static func json(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\(JSONText.quote($0.0)):\(JSONText.quote($0.1))" }.joined(separator: ",") + "}"
    }

    public static let standardError: Sink = { line in
        if !write(line + "\n", to: 2, stall: standardErrorStall) { LogDrops.record() }
    }

    private static let standardErrorStall = Stall()

    /// Whether the reader of a descriptor has stopped reading (a stalled log shipper, a `| less`
    /// left open): then lines are dropped at once instead of each waiting out the timeout, until
    /// the descriptor takes a write again.
    final class Stall: Sendable {
        let stalled = Atomic<Bool>(false)
        var isStalled: Bool { stalled.load(ordering: .relaxed) }
    }

    /// How long one line may wait for a full pipe or socket to drain before it is dropped.
    static let drainTimeoutMilliseconds: Int32 = 100

    /// Writes the whole text to a descriptor; false when it could not: a full disk (ENOSPC), a
    /// closed pipe (EPIPE; SIGPIPE is ignored), or a reader that has not made room within
    /// ``drainTimeoutMilliseconds``. The line is then dropped, never retried: a failing log
    /// must not crash, block or slow the daemon (the thread that logs may be a source's or an
    /// event loop's). Writes go in chunks of at most PIPE_BUF after poll(2) says there is room,
    /// so a write to a pipe never blocks; a line longer than that may be cut short by a stall.
    static func write(_ text: String, to descriptor: Int32, stall: Stall = Stall()) -> Bool {
        var text = text
        return text.withUTF8 { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                var probe = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
                let timeout = stall.stalled.load(ordering: .relaxed) ? 0 : drainTimeoutMilliseconds
                let ready = poll(&probe, 1, timeout)
                if ready < 0 && errno == EINTR { continue }
                if ready == 0 {
                    stall.stalled.store(true, ordering: .relaxed)
                    return false
                }
                // ready < 0 (not pollable: write anyway) or POLLOUT / POLLERR / POLLHUP (write reports it).
                let written = Glibc.write(descriptor, base + offset, min(buffer.count - offset, Int(PIPE_BUF)))
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            stall.stalled.store(false, ordering: .relaxed)
            return true
        }
    }
}

/// Log lines that could not be written to stderr, process-wide: `vitals_log_messages_dropped_total`.
public enum LogDrops {
    private static let dropped = Atomic<Int>(0)

    static func record() { dropped.add(1, ordering: .relaxed) }

    public static var count: Int { dropped.load(ordering: .relaxed) }
}

/// Serves ``LogDrops`` so that a full disk or a dead log reader shows on `/metrics`, since it
/// cannot show in the log.
public struct LogDropsCollector: MetricCollector {
    private static let descriptor = try! MetricDescriptor(
        name: "vitals_log_messages_dropped_total",
        help: "Log lines vitals could not write to stderr (full disk, closed pipe) and dropped.", type: .counter)

    public init() {}

    public var familyNames: Set<String>? { Self.names }
    private static let names: Set<String> = [descriptor.name]

    public func collect() -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        builder.add(Self.descriptor, value: Double(LogDrops.count))
        return builder.build()
    }
}
