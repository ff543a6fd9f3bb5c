/// The reply to `INFO all`, parsed: a pure value with no I/O, so every Redis version's quirks
/// are tested on captured text.
///
/// Scalar fields (`used_memory:1140608`) are kept as text and read through typed accessors.
/// The structured lines are parsed into lists:
/// - keyspace: `db0:keys=20,expires=1,avg_ttl=999898`
/// - commandstats: `cmdstat_get:calls=2,usec=6,usec_per_call=3.00,rejected_calls=0,failed_calls=0`
///   (`rejected_calls`/`failed_calls` appear in 6.2)
/// - errorstats (6.2+): `errorstat_ERR:count=3`
/// - latencystats (7.0+): `latency_percentiles_usec_get:p50=2.007,p99=4.015,p99.9=4.015`
/// - connected replicas: `slave0:ip=10.0.0.2,port=6379,state=online,offset=123,lag=0`
///
/// Unknown sections and fields are ignored, so newer servers parse as well as older ones.
public struct RedisInfo: Sendable, Equatable {
    public struct Keyspace: Sendable, Equatable {
        /// As Redis names it: `db0`. redis_exporter uses this text as the `db` label.
        public var database: String
        public var keys: Double
        public var expires: Double
        /// Milliseconds; 0 when no key has a TTL.
        public var averageTTLMilliseconds: Double
    }

    public struct CommandStat: Sendable, Equatable {
        /// Lower case, subcommands joined with `|` (`config|get`), as Redis 7 writes them.
        public var command: String
        public var calls: Double
        public var microseconds: Double
        /// Nil before Redis 6.2.
        public var rejectedCalls: Double?
        public var failedCalls: Double?
    }

    public struct ErrorStat: Sendable, Equatable {
        /// The error's first word (`ERR`, `WRONGTYPE`, `NOPERM`).
        public var prefix: String
        public var count: Double
    }

    public struct LatencyPercentiles: Sendable, Equatable {
        public var command: String
        /// Quantile (0.5, 0.99, 0.999) and the latency at it in microseconds, in the server's order.
        public var percentiles: [(quantile: Double, microseconds: Double)]

        public static func == (a: Self, b: Self) -> Bool {
            a.command == b.command && a.percentiles.elementsEqual(b.percentiles) { $0.quantile == $1.quantile && $0.microseconds == $1.microseconds }
        }
    }

    public struct Replica: Sendable, Equatable {
        public var ip: String
        public var port: String
        public var state: String
        public var offset: Double?
        public var lag: Double?
    }

    /// Every `field:value` line outside the structured ones, by field name. Field names are unique
    /// across INFO sections.
    public private(set) var fields: [String: String] = [:]
    /// Section names seen (lower case), e.g. to tell whether latencystats was there at all.
    public private(set) var sections: Set<String> = []
    public private(set) var keyspace: [Keyspace] = []
    public private(set) var commandStats: [CommandStat] = []
    public private(set) var errorStats: [ErrorStat] = []
    public private(set) var latencyPercentiles: [LatencyPercentiles] = []
    public private(set) var replicas: [Replica] = []

    public init(parsing text: some StringProtocol) {
        // On the text's contiguous bytes, by position: every delimiter is ASCII. Splitting by
        // Character (grapheme breaking) was most of a Redis pass's CPU; slicing `Substring.UTF8View`
        // still cost about 200 µs for a 6.6 KB `INFO all`, more than the rest of the pass.
        var text = String(text)
        text.withUTF8 { bytes in
            var section = ""
            var lineStart = 0
            // About 180 plain fields in Redis 7's INFO all: no growth while they are added.
            fields.reserveCapacity(256)
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != UInt8(ascii: "\n"), bytes[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
                defer { lineStart = lineEnd + 1 }
                guard lineEnd > lineStart else { continue }
                let line = InfoBytes(bytes, lineStart..<lineEnd)
                if bytes[lineStart] == UInt8(ascii: "#") {
                    section = line.dropFirst(1).trimmingSpaces.string.lowercased()
                    sections.insert(section)
                    continue
                }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
                let key = line.prefix(upTo: colon), value = line.suffix(after: colon)
                if parseStructured(key: key, value: value, section: section) { continue }
                fields[key.string] = value.string
            }
        }
    }

    /// Returns true when the line was one of the structured kinds.
    private mutating func parseStructured(key: InfoBytes, value: InfoBytes, section: String) -> Bool {
        if key.starts(with: "cmdstat_") {
            let pairs = value.pairs
            guard let calls = pairs.number("calls"), let usec = pairs.number("usec") else { return true }
            commandStats.append(
                CommandStat(
                    command: key.dropFirst("cmdstat_".utf8.count).string, calls: calls, microseconds: usec,
                    rejectedCalls: pairs.number("rejected_calls"), failedCalls: pairs.number("failed_calls")))
            return true
        }
        if key.starts(with: "errorstat_") {
            if let count = value.pairs.number("count") {
                errorStats.append(ErrorStat(prefix: key.dropFirst("errorstat_".utf8.count).string, count: count))
            }
            return true
        }
        if key.starts(with: "latency_percentiles_usec_") {
            var percentiles: [(quantile: Double, microseconds: Double)] = []
            for (name, number) in value.pairs.all {
                // `p50`, `p99`, `p99.9`: a percentage; Prometheus wants the quantile 0.5, 0.99, 0.999.
                guard name.starts(with: "p"), let percent = name.dropFirst(1).double, (0...100).contains(percent), let usec = number.double else { continue }
                percentiles.append((quantile: Self.quantile(fromPercent: percent), microseconds: usec))
            }
            latencyPercentiles.append(LatencyPercentiles(command: key.dropFirst("latency_percentiles_usec_".utf8.count).string, percentiles: percentiles))
            return true
        }
        let isDatabaseKey = key.isNumbered(prefix: "db")
        if section == "keyspace" || isDatabaseKey {
            guard isDatabaseKey else { return false }
            let pairs = value.pairs
            guard let keys = pairs.number("keys") else { return true }
            keyspace.append(
                Keyspace(
                    database: key.string, keys: keys, expires: pairs.number("expires") ?? 0,
                    averageTTLMilliseconds: pairs.number("avg_ttl") ?? 0))
            return true
        }
        if key.isNumbered(prefix: "slave") {
            let pairs = value.pairs
            replicas.append(
                Replica(
                    ip: pairs.text("ip") ?? "", port: pairs.text("port") ?? "", state: pairs.text("state") ?? "",
                    offset: pairs.number("offset"), lag: pairs.number("lag")))
            return true
        }
        return false
    }

    /// `0.5` for 50, `0.999` for 99.9, without binary noise such as 0.9990000000000001.
    static func quantile(fromPercent percent: Double) -> Double {
        (percent * 1e4).rounded() / 1e6
    }

    // MARK: Typed access

    public subscript(field: String) -> String? { fields[field] }

    /// A numeric field. `ok`/`up` read as 1 and `err`/`fail`/`down` as 0, as redis_exporter does for status fields.
    public func number(_ field: String) -> Double? {
        guard let text = fields[field] else { return nil }
        if let value = Double(text), value.isFinite { return value }
        switch text.lowercased() {
        case "ok", "up", "true", "yes": return 1
        case "err", "fail", "failed", "down", "false", "no": return 0
        default: return nil
        }
    }

    public var role: String? { fields["role"] }
    public var isReplica: Bool { role == "slave" || role == "replica" }
    /// Changes on every server start: a new run id means counters and slowlog ids restarted.
    public var runID: String? { fields["run_id"] }
}


/// A range of the bytes of the text ``RedisInfo/init(parsing:)`` reads, valid while it reads them:
/// a line, a key, a value or one `name=value` of a structured line.
private struct InfoBytes {
    let bytes: UnsafeBufferPointer<UInt8>
    let range: Range<Int>

    init(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) {
        self.bytes = bytes
        self.range = range
    }

    var string: String { String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self) }

    /// As Swift reads a number from text, so `inf` and `nan` read as they always did.
    var double: Double? { Double(string) }

    func firstIndex(of byte: UInt8) -> Int? { range.first { bytes[$0] == byte } }
    func prefix(upTo position: Int) -> InfoBytes { InfoBytes(bytes, range.lowerBound..<position) }
    func suffix(after position: Int) -> InfoBytes { InfoBytes(bytes, position + 1..<range.upperBound) }
    func dropFirst(_ count: Int) -> InfoBytes { InfoBytes(bytes, min(range.lowerBound + count, range.upperBound)..<range.upperBound) }

    var trimmingSpaces: InfoBytes {
        var lower = range.lowerBound, upper = range.upperBound
        while lower < upper, bytes[lower] == UInt8(ascii: " ") { lower += 1 }
        while upper > lower, bytes[upper - 1] == UInt8(ascii: " ") { upper -= 1 }
        return InfoBytes(bytes, lower..<upper)
    }

    func starts(with prefix: StaticString) -> Bool {
        let count = prefix.utf8CodeUnitCount
        guard range.count >= count else { return false }
        return (0..<count).allSatisfy { bytes[range.lowerBound + $0] == prefix.utf8Start[$0] }
    }

    func equals(_ other: StaticString) -> Bool { range.count == other.utf8CodeUnitCount && starts(with: other) }

    /// `db0`, `slave12`: the prefix and then only ASCII digits, at least one.
    func isNumbered(prefix: StaticString) -> Bool {
        guard range.count > prefix.utf8CodeUnitCount, starts(with: prefix) else { return false }
        return range.dropFirst(prefix.utf8CodeUnitCount).allSatisfy { bytes[$0] >= UInt8(ascii: "0") && bytes[$0] <= UInt8(ascii: "9") }
    }

    /// The `name=value` pairs of a structured line (`calls=2,usec=6,…`); a piece without `=` is skipped.
    var pairs: Pairs {
        var all: [(InfoBytes, InfoBytes)] = []
        var start = range.lowerBound
        while start < range.upperBound {
            var end = start
            while end < range.upperBound, bytes[end] != UInt8(ascii: ",") { end += 1 }
            let piece = InfoBytes(bytes, start..<end)
            if end > start, let equals = piece.firstIndex(of: UInt8(ascii: "=")) { all.append((piece.prefix(upTo: equals), piece.suffix(after: equals))) }
            start = end + 1
        }
        return Pairs(all: all)
    }

    struct Pairs {
        let all: [(InfoBytes, InfoBytes)]

        /// The last value of `name` (as a dictionary of the pairs would keep), found by comparing
        /// bytes: a line has a handful of pairs, and a dictionary per line was a sixth of parsing.
        func value(_ name: StaticString) -> InfoBytes? { all.last { $0.0.equals(name) }?.1 }
        func text(_ name: StaticString) -> String? { value(name)?.string }
        func number(_ name: StaticString) -> Double? { value(name)?.double }
    }
}
