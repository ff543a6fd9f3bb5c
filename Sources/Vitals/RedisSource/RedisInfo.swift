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
        var section = ""
        // Lines and fields are found on bytes: all the delimiters are ASCII, and splitting by
        // Character (grapheme breaking) made parsing most of a Redis pass's CPU.
        let text = String(text)
        for line in text.utf8.split(omittingEmptySubsequences: true, whereSeparator: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            if line.first == UInt8(ascii: "#") {
                var name = line.dropFirst().drop { $0 == UInt8(ascii: " ") }
                while name.last == UInt8(ascii: " ") { name = name.dropLast() }
                section = String(Substring(name)).lowercased()
                sections.insert(section)
                continue
            }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let key = Substring(line[..<colon])
            let value = Substring(line[line.index(after: colon)...])
            if parseStructured(key: key, value: value, section: section) { continue }
            fields[String(key)] = String(value)
        }
    }

    /// Returns true when the line was one of the structured kinds.
    private mutating func parseStructured(key: Substring, value: Substring, section: String) -> Bool {
        if key.utf8.starts(with: "cmdstat_".utf8) {
            let pairs = Self.orderedPairs(value)
            guard let calls = Self.number("calls", in: pairs), let usec = Self.number("usec", in: pairs) else { return true }
            commandStats.append(
                CommandStat(
                    command: String(key.dropFirst("cmdstat_".count)), calls: calls, microseconds: usec,
                    rejectedCalls: Self.number("rejected_calls", in: pairs), failedCalls: Self.number("failed_calls", in: pairs)))
            return true
        }
        if key.utf8.starts(with: "errorstat_".utf8) {
            if let count = Self.number("count", in: Self.orderedPairs(value)) {
                errorStats.append(ErrorStat(prefix: String(key.dropFirst("errorstat_".count)), count: count))
            }
            return true
        }
        if key.utf8.starts(with: "latency_percentiles_usec_".utf8) {
            var percentiles: [(quantile: Double, microseconds: Double)] = []
            for (name, number) in Self.orderedPairs(value) {
                // `p50`, `p99`, `p99.9`: a percentage; Prometheus wants the quantile 0.5, 0.99, 0.999.
                guard name.hasPrefix("p"), let percent = Double(name.dropFirst()), (0...100).contains(percent), let usec = Double(number) else { continue }
                percentiles.append((quantile: Self.quantile(fromPercent: percent), microseconds: usec))
            }
            latencyPercentiles.append(LatencyPercentiles(command: String(key.dropFirst("latency_percentiles_usec_".count)), percentiles: percentiles))
            return true
        }
        if section == "keyspace" || Self.isDatabaseKey(key) {
            guard Self.isDatabaseKey(key) else { return false }
            let pairs = Self.orderedPairs(value)
            guard let keys = Self.number("keys", in: pairs) else { return true }
            keyspace.append(
                Keyspace(
                    database: String(key), keys: keys, expires: Self.number("expires", in: pairs) ?? 0,
                    averageTTLMilliseconds: Self.number("avg_ttl", in: pairs) ?? 0))
            return true
        }
        if Self.isNumbered(key, prefix: "slave") {
            let pairs = Self.orderedPairs(value)
            replicas.append(
                Replica(
                    ip: Self.text("ip", in: pairs) ?? "", port: Self.text("port", in: pairs) ?? "", state: Self.text("state", in: pairs) ?? "",
                    offset: Self.number("offset", in: pairs), lag: Self.number("lag", in: pairs)))
            return true
        }
        return false
    }

    private static func isDatabaseKey(_ key: Substring) -> Bool {
        isNumbered(key, prefix: "db")
    }

    /// `db0`, `slave12`: the prefix and then only ASCII digits, at least one. Checked on bytes:
    /// `Substring.hasPrefix` compares Characters, and every line of INFO is checked.
    private static func isNumbered(_ key: Substring, prefix: String) -> Bool {
        let digits = key.utf8.dropFirst(prefix.utf8.count)
        guard !digits.isEmpty, key.utf8.starts(with: prefix.utf8) else { return false }
        return digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// `0.5` for 50, `0.999` for 99.9, without binary noise such as 0.9990000000000001.
    static func quantile(fromPercent percent: Double) -> Double {
        (percent * 1e4).rounded() / 1e6
    }

    private static func orderedPairs(_ value: Substring) -> [(Substring, Substring)] {
        value.utf8.split(separator: UInt8(ascii: ",")).compactMap { pair in
            guard let equals = pair.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            return (Substring(pair[..<equals]), Substring(pair[pair.index(after: equals)...]))
        }
    }

    /// The last value of `name` among a line's pairs (as a dictionary of them would keep), found by
    /// comparing bytes: a line has a handful of pairs, and a dictionary per line was a sixth of parsing.
    private static func value(_ name: String, in pairs: [(Substring, Substring)]) -> Substring? {
        pairs.last { $0.0.utf8.elementsEqual(name.utf8) }?.1
    }

    private static func text(_ name: String, in pairs: [(Substring, Substring)]) -> String? {
        value(name, in: pairs).map(String.init)
    }

    private static func number(_ name: String, in pairs: [(Substring, Substring)]) -> Double? {
        value(name, in: pairs).flatMap { Double($0) }
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

