/// One Postgres log record that may describe a slow statement: its message starts with
/// `duration: `. Records of any other kind are recognised and skipped by the parsers without
/// being kept, so DETAIL lines (`parameters: $1 = '…'`) never reach anything downstream.
public struct PostgresLogRecord: Sendable, Equatable {
    public var timestamp: String?
    public var pid: Int?
    public var user: String?
    public var database: String?
    public var application: String?
    /// The virtual transaction id (`%v`, csvlog/jsonlog `vxid`), else a transaction id: which
    /// statements ran in one transaction. Nil when the log does not say.
    public var transaction: String?
    public var severity: String
    /// The message with its lines joined by `\n` (stderr's continuation TABs removed); may hold literals.
    public var message: [UInt8]
    /// Cut at the parser's record limit.
    public var isTruncated: Bool

    public init(
        timestamp: String? = nil, pid: Int? = nil, user: String? = nil, database: String? = nil, application: String? = nil,
        severity: String = "LOG", message: [UInt8], isTruncated: Bool = false, transaction: String? = nil
    ) {
        self.transaction = transaction
        self.timestamp = timestamp
        self.pid = pid
        self.user = user
        self.database = database
        self.application = application
        self.severity = severity
        self.message = message
        self.isTruncated = isTruncated
    }

    public var messageText: String { String(decoding: message, as: UTF8.self) }

    static let durationMarker: [UInt8] = Array("duration: ".utf8)

    /// Severities whose message is the record's own (not an echo of a statement or a context).
    static func isPrimary(_ severity: some Collection<UInt8>) -> Bool {
        !(["DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION"] as [StaticString]).contains { word in
            word.withUTF8Buffer { $0.elementsEqual(severity) }
        }
    }
}

/// The log formats Postgres writes (`log_destination`).
public enum PostgresLogFormat: String, Sendable, CaseIterable {
    case stderr, csvlog, jsonlog
}

/// Line counts by result, for `vitals_log_lines_total`.
public struct PostgresLogLineCounts: Sendable, Equatable {
    /// Lines that belong to a recognised record (kept or skipped).
    public var parsed = 0
    /// Lines that belong to no record (wrong prefix, garbage, a record cut by the size limit).
    public var unparsed = 0

    public init(parsed: Int = 0, unparsed: Int = 0) {
        self.parsed = parsed
        self.unparsed = unparsed
    }
}

/// Turns log lines into ``PostgresLogRecord``s for any of the three formats. One parser per
/// followed log; feed it lines in order from one thread.
public struct PostgresLogParser: Sendable {
    /// A transaction id as the log prints it; nil when there is none: `%x` prints 0 outside a
    /// write transaction, and `%v` is empty for processes that are not backends.
    static func transaction(_ text: String?) -> String? {
        guard let text, !text.isEmpty, text != "0", text.utf8.count <= 32 else { return nil }
        return text
    }

    private enum Machine: Sendable {
        case stderr(StderrLogAssembler)
        case csv(CSVLogAssembler)
        case json(maxRecordLength: Int)
    }

    private var machine: Machine
    public private(set) var counts = PostgresLogLineCounts()

    public init(format: PostgresLogFormat, prefix: LogLinePrefix = LogLinePrefix(LogLinePrefix.defaultPrefix), maxRecordLength: Int = 1 << 20) {
        switch format {
        case .stderr: machine = .stderr(StderrLogAssembler(prefix: prefix, maxRecordLength: maxRecordLength))
        case .csvlog: machine = .csv(CSVLogAssembler(maxRecordLength: maxRecordLength))
        case .jsonlog: machine = .json(maxRecordLength: maxRecordLength)
        }
    }

    /// Feeds one line (without its newline). Completed records are passed to `emit`.
    public mutating func feed(_ line: UnsafeRawBufferPointer, emit: (PostgresLogRecord) -> Void) {
        switch machine {
        case .stderr(var assembler):
            machine = .json(maxRecordLength: 0)  // release the payload so the assembler mutates uniquely
            assembler.feed(line, counts: &counts, emit: emit)
            machine = .stderr(assembler)
        case .csv(var assembler):
            machine = .json(maxRecordLength: 0)
            assembler.feed(line, counts: &counts, emit: emit)
            machine = .csv(assembler)
        case .json(let maxRecordLength):
            if let record = JSONLogLine.parse(line, maxRecordLength: maxRecordLength, counts: &counts) { emit(record) }
        }
    }

    public mutating func feed(_ line: String, emit: (PostgresLogRecord) -> Void) {
        var copy = line
        copy.withUTF8 { feed(UnsafeRawBufferPointer($0), emit: emit) }
    }

    /// Completes a record still waiting for continuation lines (called when the log has gone
    /// quiet), so the last entry is not held back until the next one starts.
    public mutating func flush(emit: (PostgresLogRecord) -> Void) {
        switch machine {
        case .stderr(var assembler):
            assembler.flush(emit: emit)
            machine = .stderr(assembler)
        case .csv, .json:
            break  // a CSV record is complete when its quotes balance; a JSON record is one line
        }
    }
}

/// `stderr` format: a line that matches `log_line_prefix` (followed by a severity) starts a
/// record; lines starting with a TAB continue it (Postgres puts a TAB after each newline of a
/// message); a record completes when the next record starts, a foreign line arrives, or on
/// ``flush(emit:)``.
struct StderrLogAssembler: Sendable {
    let prefix: LogLinePrefix
    let maxRecordLength: Int
    private var pending: PostgresLogRecord?
    /// Inside a record that is not kept: its continuation lines are counted, not stored.
    private var skipping = false

    init(prefix: LogLinePrefix, maxRecordLength: Int) {
        self.prefix = prefix
        self.maxRecordLength = max(64, maxRecordLength)
    }

    mutating func feed(_ line: UnsafeRawBufferPointer, counts: inout PostgresLogLineCounts, emit: (PostgresLogRecord) -> Void) {
        if let first = line.first, first == 0x09 {
            if pending != nil {
                counts.parsed += 1
                append(UnsafeRawBufferPointer(rebasing: line[1...]))
            } else if skipping {
                counts.parsed += 1
            } else {
                counts.unparsed += 1
            }
            return
        }
        flush(emit: emit)
        guard let match = prefix.match(line) else {
            counts.unparsed += 1
            return
        }
        counts.parsed += 1
        let severity = UnsafeRawBufferPointer(rebasing: line[match.severity])
        let message = UnsafeRawBufferPointer(rebasing: line[match.messageStart...])
        guard PostgresLogRecord.isPrimary(severity), message.starts(with: PostgresLogRecord.durationMarker) else {
            skipping = true
            return
        }
        func text(_ range: Range<Int>?) -> String? {
            range.map { String(decoding: UnsafeRawBufferPointer(rebasing: line[$0]), as: UTF8.self) }
        }
        var record = PostgresLogRecord(
            timestamp: text(match.timestamp), pid: match.pid.flatMap { text($0).flatMap { Int($0) } }, user: text(match.user),
            database: text(match.database), application: text(match.application), severity: String(decoding: severity, as: UTF8.self),
            message: [], transaction: PostgresLogParser.transaction(text(match.transaction)))
        record.message.reserveCapacity(min(message.count, maxRecordLength))
        pending = record
        append(message, newline: false)
    }

    mutating func flush(emit: (PostgresLogRecord) -> Void) {
        skipping = false
        if let record = pending {
            pending = nil
            emit(record)
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer, newline: Bool = true) {
        guard var record = pending else { return }
        pending = nil  // unique ownership of the message while it grows
        let room = maxRecordLength - record.message.count - (newline ? 1 : 0)
        if room < bytes.count { record.isTruncated = true }
        if room > 0 {
            if newline { record.message.append(0x0A) }
            record.message.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes.prefix(room)))
        }
        pending = record
    }
}

/// `csvlog` format: one CSV record per log record, whose quoted fields may hold newlines, so a
/// record ends at the first line end outside quotes. Columns (PG 13–17): log_time, user_name,
/// database_name, process_id, connection_from, session_id, session_line_num, command_tag,
/// session_start_time, virtual_transaction_id, transaction_id, error_severity, sql_state_code,
/// message, detail, hint, internal_query, internal_query_pos, context, query, query_pos,
/// location, application_name, backend_type, leader_pid, query_id.
struct CSVLogAssembler: Sendable {
    let maxRecordLength: Int
    private var buffer: [UInt8] = []
    private var inQuotes = false
    private var overflowed = false
    private var lines = 0

    init(maxRecordLength: Int) {
        self.maxRecordLength = max(64, maxRecordLength)
    }

    mutating func feed(_ line: UnsafeRawBufferPointer, counts: inout PostgresLogLineCounts, emit: (PostgresLogRecord) -> Void) {
        lines += 1
        if !overflowed {
            if buffer.count + line.count + 1 > maxRecordLength {
                overflowed = true
                buffer.removeAll(keepingCapacity: false)
            } else {
                if lines > 1 { buffer.append(0x0A) }
                buffer.append(contentsOf: line)
            }
        }
        for b in line where b == UInt8(ascii: "\"") { inQuotes.toggle() }
        guard !inQuotes else { return }
        defer {
            buffer.removeAll(keepingCapacity: buffer.capacity <= 65_536)
            overflowed = false
            lines = 0
        }
        if overflowed {
            counts.unparsed += lines
            return
        }
        switch buffer.withUnsafeBytes({ Self.parse($0) }) {
        case .record(let record):
            counts.parsed += lines
            emit(record)
        case .skipped:
            counts.parsed += lines
        case .invalid:
            counts.unparsed += lines
        }
    }

    enum Outcome {
        case record(PostgresLogRecord)
        case skipped
        case invalid
    }

    static func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        var fields: [Range<Int>] = []
        var quoted: [Bool] = []
        var i = 0
        while i <= bytes.count && fields.count < 32 {
            if i < bytes.count && bytes[i] == UInt8(ascii: "\"") {
                let start = i + 1
                i += 1
                while i < bytes.count {
                    if bytes[i] == UInt8(ascii: "\"") {
                        if i + 1 < bytes.count && bytes[i + 1] == UInt8(ascii: "\"") { i += 2; continue }
                        break
                    }
                    i += 1
                }
                fields.append(start..<min(i, bytes.count))
                quoted.append(true)
                i += 1
            } else {
                let start = i
                while i < bytes.count && bytes[i] != UInt8(ascii: ",") { i += 1 }
                fields.append(start..<i)
                quoted.append(false)
            }
            guard i < bytes.count else { break }
            guard bytes[i] == UInt8(ascii: ",") else { return .invalid }
            i += 1
            if i == bytes.count {
                fields.append(i..<i)
                quoted.append(false)
                break
            }
        }
        guard fields.count >= 14 else { return .invalid }
        func raw(_ n: Int) -> UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: bytes[fields[n]]) }
        func value(_ n: Int) -> [UInt8] {
            guard n < fields.count else { return [] }
            let field = raw(n)
            guard quoted[n] else { return Array(field) }
            var out: [UInt8] = []
            out.reserveCapacity(field.count)
            var k = 0
            while k < field.count {
                out.append(field[k])
                k += field[k] == UInt8(ascii: "\"") && k + 1 < field.count && field[k + 1] == UInt8(ascii: "\"") ? 2 : 1
            }
            return out
        }
        func text(_ n: Int) -> String? {
            guard n < fields.count, !fields[n].isEmpty else { return nil }
            return String(decoding: value(n), as: UTF8.self)
        }
        let severity = raw(11)
        guard PostgresLogRecord.isPrimary(severity), raw(13).starts(with: PostgresLogRecord.durationMarker) else { return .skipped }
        return .record(
            PostgresLogRecord(
                timestamp: text(0), pid: text(3).flatMap { Int($0) }, user: text(1), database: text(2), application: text(22),
                severity: String(decoding: severity, as: UTF8.self), message: value(13),
                transaction: PostgresLogParser.transaction(text(9)) ?? PostgresLogParser.transaction(text(10))))
    }
}

/// `jsonlog` format (PG 15+): one object per line with `timestamp`, `user`, `dbname`, `pid`,
/// `error_severity`, `message`, `application_name`, …
enum JSONLogLine {
    static func parse(_ line: UnsafeRawBufferPointer, maxRecordLength: Int, counts: inout PostgresLogLineCounts) -> PostgresLogRecord? {
        var end = line.count
        while end > 0 && (line[end - 1] == 0x0D || line[end - 1] == 0x20) { end -= 1 }
        guard end > 0, line[0] == UInt8(ascii: "{"), let object = JSONValue.parse(UnsafeRawBufferPointer(rebasing: line[..<end])),
            case .object = object
        else {
            counts.unparsed += 1
            return nil
        }
        counts.parsed += 1
        guard let severity = object["error_severity"]?.string, PostgresLogRecord.isPrimary(Array(severity.utf8)),
            let message = object["message"]?.string, message.utf8.starts(with: PostgresLogRecord.durationMarker)
        else { return nil }
        var bytes = Array(message.utf8)
        let truncated = bytes.count > max(64, maxRecordLength)
        if truncated { bytes.removeLast(bytes.count - max(64, maxRecordLength)) }
        return PostgresLogRecord(
            timestamp: object["timestamp"]?.string, pid: object["pid"]?.number.flatMap { $0.isFinite && abs($0) < 1e15 ? Int($0) : nil },
            user: object["user"]?.string, database: object["dbname"]?.string, application: object["application_name"]?.string,
            severity: severity, message: bytes, isTruncated: truncated,
            transaction: PostgresLogParser.transaction(object["vxid"]?.string) ?? PostgresLogParser.transaction(object["txid"]?.number.map { SampleValue.format($0) }))
    }
}
