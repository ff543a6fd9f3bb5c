/// A compiled `log_line_prefix`: recognises the lines that start a Postgres log record in the
/// `stderr` format and pulls out the fields vitals uses.
///
/// Supported escapes: `%m %t %n %p %u %d %a %h %r %l %c %v %x %e %q %i %s %b %Q %P %L %%`, with
/// PostgreSQL's optional padding (`%-10u`, `%10p`). Unknown escapes print nothing in
/// PostgreSQL, so they match nothing here. `%q` ends the prefix for processes without a
/// session (checkpointer, autovacuum launcher…): both the full and the cut form are tried.
///
/// A line is a record start only if, after the prefix, it goes on with a severity and two
/// spaces (`LOG:  `, `ERROR:  `, `DETAIL:  `…) — which is how a statement's continuation or a
/// stray line is told from a record even when free-text fields (`%a`, `%u`) are ambiguous.
/// Matching backtracks over free-text fields within a fixed step budget, so its cost per line
/// is bounded whatever the line contains.
public struct LogLinePrefix: Sendable, Equatable {
    public enum Field: Sendable, Equatable {
        case timestampMillis, timestamp, epoch, pid, user, database, application, host, hostPort, lineNumber, sessionID
        case virtualTransaction, transaction, sqlState, commandTag, sessionStart, backendType, queryID, leaderPID, localAddress
    }

    enum Element: Sendable, Equatable {
        case literal([UInt8])
        case field(Field, padded: Bool)
        /// `%q`: the rest is printed only for session processes.
        case sessionOnly
    }

    /// The fields of one matched prefix; values are byte ranges into the matched line.
    public struct Match: Sendable, Equatable {
        public var timestamp: Range<Int>?
        public var pid: Range<Int>?
        public var user: Range<Int>?
        public var database: Range<Int>?
        public var application: Range<Int>?
        public var host: Range<Int>?
        /// `%v` (virtual transaction id), else `%x`: groups one transaction's statements.
        public var transaction: Range<Int>?
        public var severity: Range<Int>
        /// Where the message starts: after `SEVERITY:  `.
        public var messageStart: Int
    }

    public static let defaultPrefix = "%m [%p] "
    /// Free-text fields (user, database, application, host) longer than this are not tried.
    static let maxFieldLength = 512
    static let stepBudget = 4096

    let elements: [Element]
    public let specification: String

    public init(_ specification: String) {
        self.specification = specification
        var elements: [Element] = []
        var literal: [UInt8] = []
        let bytes = Array(specification.utf8)
        var i = 0
        func flushLiteral() {
            if !literal.isEmpty {
                elements.append(.literal(literal))
                literal = []
            }
        }
        while i < bytes.count {
            let b = bytes[i]
            guard b == UInt8(ascii: "%"), i + 1 < bytes.count else {
                literal.append(b)
                i += 1
                continue
            }
            i += 1
            var padded = false
            if bytes[i] == UInt8(ascii: "-") || (bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9")) {
                padded = true
                if bytes[i] == UInt8(ascii: "-") { i += 1 }
                while i < bytes.count && bytes[i] >= UInt8(ascii: "0") && bytes[i] <= UInt8(ascii: "9") { i += 1 }
                guard i < bytes.count else { break }
            }
            let escape = bytes[i]
            i += 1
            let field: Field?
            switch escape {
            case UInt8(ascii: "%"):
                literal.append(UInt8(ascii: "%"))
                continue
            case UInt8(ascii: "q"):
                flushLiteral()
                elements.append(.sessionOnly)
                continue
            case UInt8(ascii: "m"): field = .timestampMillis
            case UInt8(ascii: "t"): field = .timestamp
            case UInt8(ascii: "n"): field = .epoch
            case UInt8(ascii: "p"): field = .pid
            case UInt8(ascii: "u"): field = .user
            case UInt8(ascii: "d"): field = .database
            case UInt8(ascii: "a"): field = .application
            case UInt8(ascii: "h"): field = .host
            case UInt8(ascii: "r"): field = .hostPort
            case UInt8(ascii: "l"): field = .lineNumber
            case UInt8(ascii: "c"): field = .sessionID
            case UInt8(ascii: "v"): field = .virtualTransaction
            case UInt8(ascii: "x"): field = .transaction
            case UInt8(ascii: "e"): field = .sqlState
            case UInt8(ascii: "i"): field = .commandTag
            case UInt8(ascii: "s"): field = .sessionStart
            case UInt8(ascii: "b"): field = .backendType
            case UInt8(ascii: "Q"): field = .queryID
            case UInt8(ascii: "P"): field = .leaderPID
            case UInt8(ascii: "L"): field = .localAddress
            default: field = nil  // PostgreSQL prints nothing for an unknown escape
            }
            if let field {
                flushLiteral()
                elements.append(.field(field, padded: padded))
            }
        }
        flushLiteral()
        self.elements = elements
    }

    /// Whether the specification contains an escape for the field.
    public func contains(_ field: Field) -> Bool {
        elements.contains { if case .field(field, _) = $0 { true } else { false } }
    }

    public func match(_ line: UnsafeRawBufferPointer) -> Match? {
        var matcher = Matcher(line: line, elements: elements)
        return matcher.run()
    }

    public func match(_ line: String) -> Match? {
        var copy = line
        return copy.withUTF8 { match(UnsafeRawBufferPointer($0)) }
    }

    static let severities: [[UInt8]] = [
        "LOG", "ERROR", "WARNING", "NOTICE", "INFO", "DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION", "FATAL", "PANIC",
        "DEBUG", "DEBUG1", "DEBUG2", "DEBUG3", "DEBUG4", "DEBUG5",
    ].map { Array($0.utf8) }

    /// `SEVERITY:  ` at `index`: returns the severity's range.
    static func severity(in line: UnsafeRawBufferPointer, at index: Int) -> Range<Int>? {
        var end = index
        while end < line.count && end - index < 10 && ((line[end] >= 0x41 && line[end] <= 0x5A) || (line[end] >= 0x30 && line[end] <= 0x39)) { end += 1 }
        guard end > index, end + 3 <= line.count, line[end] == UInt8(ascii: ":"), line[end + 1] == 0x20, line[end + 2] == 0x20 else { return nil }
        let word = UnsafeRawBufferPointer(rebasing: line[index..<end])
        guard severities.contains(where: { $0.elementsEqual(word) }) else { return nil }
        return index..<end
    }

    struct Matcher {
        let line: UnsafeRawBufferPointer
        let elements: [Element]
        var steps = 0
        var captures = Match(severity: 0..<0, messageStart: 0)

        init(line: UnsafeRawBufferPointer, elements: [Element]) {
            self.line = line
            self.elements = elements
        }

        mutating func run() -> Match? {
            guard !line.isEmpty, line[0] != 0x09 else { return nil }
            return attempt(element: 0, at: 0) ? captures : nil
        }

        private mutating func accept(at index: Int) -> Bool {
            guard let severity = LogLinePrefix.severity(in: line, at: index) else { return false }
            captures.severity = severity
            captures.messageStart = severity.upperBound + 3
            return true
        }

        private mutating func attempt(element position: Int, at index: Int) -> Bool {
            steps += 1
            guard steps <= LogLinePrefix.stepBudget else { return false }
            guard position < elements.count else { return accept(at: index) }
            switch elements[position] {
            case .literal(let bytes):
                guard index + bytes.count <= line.count else { return false }
                for (offset, b) in bytes.enumerated() where line[index + offset] != b { return false }
                return attempt(element: position + 1, at: index + bytes.count)
            case .sessionOnly:
                let saved = captures
                if attempt(element: position + 1, at: index) { return true }
                captures = saved
                return accept(at: index)
            case .field(let field, let padded):
                var start = index
                if padded { while start < line.count && line[start] == 0x20 { start += 1 } }
                if let end = shapedEnd(field, from: start) {
                    var next = end
                    if padded { while next < line.count && line[next] == 0x20 { next += 1 } }
                    let saved = captures
                    store(field, start..<end)
                    if attempt(element: position + 1, at: next) { return true }
                    if padded && next > end && attempt(element: position + 1, at: end) { return true }
                    captures = saved
                    return false
                }
                guard Self.isFreeText(field) else { return false }
                // Free text: try each end, shortest first, within the budget.
                let limit = min(line.count, index + LogLinePrefix.maxFieldLength)
                var end = index
                while end <= limit {
                    let saved = captures
                    store(field, Self.trimmed(line, index..<end, padded: padded))
                    if attempt(element: position + 1, at: end) { return true }
                    captures = saved
                    if steps > LogLinePrefix.stepBudget { return false }
                    // A field never spans the severity of the line it prefixes.
                    end += 1
                }
                return false
            }
        }

        private mutating func store(_ field: Field, _ range: Range<Int>) {
            switch field {
            case .timestampMillis, .timestamp, .epoch: if captures.timestamp == nil { captures.timestamp = range }
            case .pid: captures.pid = range
            case .user: captures.user = range
            case .database: captures.database = range
            case .application: captures.application = range
            case .host, .hostPort: captures.host = range
            case .virtualTransaction: captures.transaction = range
            case .transaction: if captures.transaction == nil { captures.transaction = range }
            default: break
            }
        }

        static func isZoneByte(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
        }

        static func isFreeText(_ field: Field) -> Bool {
            switch field {
            case .user, .database, .application, .host, .hostPort, .commandTag, .backendType, .localAddress: true
            default: false
            }
        }

        static func trimmed(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, padded: Bool) -> Range<Int> {
            guard padded else { return range }
            var lower = range.lowerBound
            var upper = range.upperBound
            while lower < upper && line[lower] == 0x20 { lower += 1 }
            while upper > lower && line[upper - 1] == 0x20 { upper -= 1 }
            return lower..<upper
        }

        private func byte(_ i: Int) -> UInt8 { i < line.count ? line[i] : 0 }
        private func isDigit(_ i: Int) -> Bool { byte(i) >= 0x30 && byte(i) <= 0x39 }
        private func isHex(_ i: Int) -> Bool { isDigit(i) || (byte(i) | 0x20 >= 0x61 && byte(i) | 0x20 <= 0x66) }

        private func digits(from i: Int, atLeast minimum: Int = 1) -> Int? {
            var end = i
            while isDigit(end) { end += 1 }
            return end - i >= minimum ? end : nil
        }

        /// Where a field with a fixed shape ends, or nil when it does not fit (free-text fields: nil).
        private func shapedEnd(_ field: Field, from i: Int) -> Int? {
            switch field {
            case .timestampMillis, .timestamp, .sessionStart:
                // 2024-05-01 12:34:56[.789] TZ
                guard let date = dateTimeEnd(from: i) else { return nil }
                var end = date
                if field == .timestampMillis {
                    guard byte(end) == UInt8(ascii: "."), let fraction = digits(from: end + 1) else { return nil }
                    end = fraction
                }
                guard byte(end) == 0x20 else { return end }
                // The zone abbreviation: UTC, CEST, +03, -0330.
                var zone = end + 1
                while zone < line.count && zone - end < 16, Self.isZoneByte(line[zone]) { zone += 1 }
                return zone > end + 1 ? zone : end
            case .epoch:
                guard let whole = digits(from: i), byte(whole) == UInt8(ascii: "."), let fraction = digits(from: whole + 1) else { return nil }
                return fraction
            case .pid, .lineNumber, .transaction:
                return digits(from: i)
            case .leaderPID:
                return digits(from: i, atLeast: 0)
            case .queryID:
                return digits(from: byte(i) == UInt8(ascii: "-") ? i + 1 : i)
            case .sessionID:
                var end = i
                while isHex(end) { end += 1 }
                guard end > i, byte(end) == UInt8(ascii: ".") else { return nil }
                var second = end + 1
                while isHex(second) { second += 1 }
                return second > end + 1 ? second : nil
            case .virtualTransaction:
                guard let backend = digits(from: i) else { return i }  // empty outside a transaction
                guard byte(backend) == UInt8(ascii: "/"), let local = digits(from: backend + 1) else { return nil }
                return local
            case .sqlState:
                var end = i
                while end < i + 5, end < line.count, (line[end] >= 0x30 && line[end] <= 0x39) || (line[end] >= 0x41 && line[end] <= 0x5A) { end += 1 }
                return end == i + 5 ? end : nil
            default:
                return nil
            }
        }

        private func dateTimeEnd(from i: Int) -> Int? {
            // YYYY-MM-DD HH:MM:SS
            let pattern: [UInt8] = Array("0000-00-00 00:00:00".utf8)
            guard i + pattern.count <= line.count else { return nil }
            for (offset, p) in pattern.enumerated() {
                let b = line[i + offset]
                if p == UInt8(ascii: "0") {
                    guard b >= 0x30 && b <= 0x39 else { return nil }
                } else if b != p {
                    return nil
                }
            }
            return i + pattern.count
        }
    }
}
