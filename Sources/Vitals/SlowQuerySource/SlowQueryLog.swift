#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc

/// One slow query as a structured log line. Built only from the fingerprint, the normalised
/// statement and the plan summary, so no literal of the original statement can reach it.
public struct SlowQueryLogLine: Sendable, Equatable {
    public enum Format: String, Sendable, CaseIterable {
        case json, logfmt
    }

    /// When Postgres logged it (ISO 8601), or when vitals read it if the log's zone is unknown.
    public var time: String
    public var fingerprint: String
    public var durationSeconds: Double
    /// `execute`, `parse` or `bind`.
    public var phase: String
    public var database: String?
    public var user: String?
    public var application: String?
    /// The normalised statement.
    public var statement: String
    /// One-line plan summary, when auto_explain logged a plan.
    public var plan: String?
    public var sequentialScans: [String]

    public init(
        time: String, fingerprint: String, durationSeconds: Double, phase: String, database: String? = nil, user: String? = nil,
        application: String? = nil, statement: String, plan: String? = nil, sequentialScans: [String] = []
    ) {
        self.time = time
        self.fingerprint = fingerprint
        self.durationSeconds = durationSeconds
        self.phase = phase
        self.database = database
        self.user = user
        self.application = application
        self.statement = statement
        self.plan = plan
        self.sequentialScans = sequentialScans
    }

    /// Key–value pairs in a fixed order; absent values are left out.
    public var fields: [(String, String)] {
        var fields: [(String, String)] = [
            ("ts", time), ("msg", "slow query"), ("fingerprint", fingerprint), ("duration_seconds", Self.seconds(durationSeconds)),
            ("phase", phase),
        ]
        if let database { fields.append(("database", database)) }
        if let user { fields.append(("user", user)) }
        if let application, !application.isEmpty { fields.append(("application", application)) }
        fields.append(("statement", statement))
        if let plan, !plan.isEmpty { fields.append(("plan", plan)) }
        if !sequentialScans.isEmpty { fields.append(("seq_scans", sequentialScans.joined(separator: ","))) }
        return fields
    }

    public func formatted(_ format: Format) -> String {
        switch format {
        case .json: StructuredLogHandler.json(fields)
        case .logfmt: StructuredLogHandler.logfmt(fields)
        }
    }

    /// Six decimals (microseconds), no exponent.
    static func seconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "0" }
        // Microseconds past Int's range (~292,000 years): only a forged `duration:` gets here.
        guard value < 9e12 else { return HumanUnits.fixed(value, digits: 6) }
        let micros = Int((value * 1_000_000).rounded())
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}

/// Appends lines to a file of their own (`--slow-query.output PATH`), reopening it when it is
/// rotated away (renamed or deleted) so logrotate works without a signal. A write failure
/// drops the line and is counted, never blocks or crashes the daemon.
final class SlowQueryFileWriter: @unchecked Sendable {
    let path: String
    private var descriptor: Int32 = -1
    private var identity: (dev: UInt64, ino: UInt64)?
    private(set) var failures = 0

    init(path: String) {
        self.path = path
    }

    deinit {
        if descriptor >= 0 { Glibc.close(descriptor) }
    }

    /// Called from the polling thread only.
    func write(_ lines: [String]) {
        guard !lines.isEmpty else { return }
        reopenIfRotated()
        guard descriptor >= 0 else {
            failures += lines.count
            return
        }
        var bytes: [UInt8] = []
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            bytes.append(0x0A)
        }
        let ok = bytes.withUnsafeBytes { buffer -> Bool in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return false }
                offset += written
            }
            return true
        }
        if !ok {
            failures += lines.count
            Glibc.close(descriptor)
            descriptor = -1
        }
    }

    private func reopenIfRotated() {
        var current = stat()
        let exists = stat(path, &current) == 0
        if descriptor >= 0, exists, let identity, identity == (UInt64(current.st_dev), UInt64(current.st_ino)) { return }
        if descriptor >= 0 {
            Glibc.close(descriptor)
            descriptor = -1
        }
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o640)
        guard descriptor >= 0 else { return }
        var opened = stat()
        if fstat(descriptor, &opened) == 0 { identity = (UInt64(opened.st_dev), UInt64(opened.st_ino)) }
    }
}
