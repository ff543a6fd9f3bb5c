/// A statement Postgres reported as slow, read from one log record's message:
///
/// - `duration: 12.345 ms  statement: SELECT …` (simple protocol)
/// - `duration: 12.345 ms  execute <name>: SELECT …` (extended protocol; its `DETAIL:  parameters:`
///   record is a separate record and is never read)
/// - `duration: 12.345 ms  parse <name>: …` and `bind <name>: …` (the other extended-protocol phases)
/// - `duration: 12.345 ms  plan:\n…` (auto_explain, text or JSON; the statement is its `Query Text`)
///
/// A bare `duration: … ms` (`log_duration`) names no statement and is not an entry.
public struct SlowQueryEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case statement, execute, parse, bind, plan
    }

    public var kind: Kind
    public var durationSeconds: Double
    /// The statement as logged; holds literals: only ever fingerprinted, never kept or logged.
    public var statement: [UInt8]
    public var plan: PlanSummary?
    public var timestamp: String?
    public var pid: Int?
    public var user: String?
    public var database: String?
    public var application: String?
    /// The statement's transaction, when the log says (see ``PostgresLogRecord/transaction``).
    public var transaction: String?

    public init(
        kind: Kind, durationSeconds: Double, statement: [UInt8], plan: PlanSummary? = nil, timestamp: String? = nil, pid: Int? = nil,
        user: String? = nil, database: String? = nil, application: String? = nil, transaction: String? = nil
    ) {
        self.transaction = transaction
        self.kind = kind
        self.durationSeconds = durationSeconds
        self.statement = statement
        self.plan = plan
        self.timestamp = timestamp
        self.pid = pid
        self.user = user
        self.database = database
        self.application = application
    }

    /// The extended-protocol phase: `parse` and `bind` are counted apart from executions.
    public var phase: String {
        switch kind {
        case .statement, .execute, .plan: "execute"
        case .parse: "parse"
        case .bind: "bind"
        }
    }

    public init?(record: PostgresLogRecord) {
        let parsed: (Kind, Double, [UInt8], PlanSummary?)? = record.message.withUnsafeBytes { Self.parseMessage($0) }
        guard let (kind, duration, statement, plan) = parsed else { return nil }
        self.init(
            kind: kind, durationSeconds: duration, statement: statement, plan: plan, timestamp: record.timestamp, pid: record.pid,
            user: record.user, database: record.database, application: record.application, transaction: record.transaction)
    }

    static func parseMessage(_ message: UnsafeRawBufferPointer) -> (Kind, Double, [UInt8], PlanSummary?)? {
        let marker = PostgresLogRecord.durationMarker
        guard message.starts(with: marker) else { return nil }
        var i = marker.count
        let numberStart = i
        while i < message.count && ((message[i] >= 0x30 && message[i] <= 0x39) || message[i] == UInt8(ascii: ".")) && i - numberStart < 32 { i += 1 }
        guard i > numberStart,
            let milliseconds = Double(String(decoding: UnsafeRawBufferPointer(rebasing: message[numberStart..<i]), as: UTF8.self)),
            milliseconds.isFinite, milliseconds >= 0
        else { return nil }
        let unit = Array(" ms  ".utf8)
        guard message.count >= i + unit.count, UnsafeRawBufferPointer(rebasing: message[i..<(i + unit.count)]).elementsEqual(unit) else {
            return nil
        }
        i += unit.count
        let rest = UnsafeRawBufferPointer(rebasing: message[i...])
        let seconds = milliseconds / 1000
        if rest.starts(with: Array("statement: ".utf8)) {
            return (.statement, seconds, Array(rest.dropFirst(11)), nil)
        }
        if rest.starts(with: Array("plan:".utf8)) {
            let result = PlanParser.parse(UnsafeRawBufferPointer(rebasing: rest[(rest.startIndex + 5)...]))
            return (.plan, seconds, result.queryText, result.summary)
        }
        for (word, kind) in [("execute ", Kind.execute), ("parse ", .parse), ("bind ", .bind)] where rest.starts(with: Array(word.utf8)) {
            // `execute <name>[/<portal>]: …`, `execute fetch from <name>/<portal>: …`: the text follows the first ": ".
            let limit = min(rest.count - 1, 1024)
            var k = word.utf8.count
            while k < limit {
                if rest[k] == UInt8(ascii: ":") && rest[k + 1] == 0x20 {
                    return (kind, seconds, Array(rest[(k + 2)...]), nil)
                }
                k += 1
            }
            return nil
        }
        return nil
    }
}
