import Foundation
import Testing

@testable import Vitals

/// The short, in-CI counterpart of the libFuzzer harnesses in Fuzz/: mutated and random inputs
/// into every parser. The property is only "no crash, no hang, sane output"; `bash Fuzz/run.sh`
/// runs a million inputs each with AddressSanitizer outside CI.
///
/// Serialized: its tests run one at a time on the one thread anyway, and a test waiting its turn
/// there would hold one of the run's parallel slots (scripts/test.sh bounds them).
@Suite(.onItsOwnThread, .serialized) struct RandomInputTests {
    static let seeds: [String] = [
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms",
        "2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 250.1ms",
        "2026-11-22 12:00:00,003 WARNING asyncio Executing <Task pending name='Task-1' coro=<f() running at a.py:1>> took 0.523 seconds",
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /markets/42?x=1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012"#,
        #"{"method":"GET","path":"/a/1","status":200,"duration_ms":12.5,"extra":{"nested":[1,2,{"x":"y"}]}}"#,
        "timing-log:\n  path: [/x.log]\n  slow-threshold: 200ms\nweb: {listen-address: \":1\"}\n",
    ]

    static func mutations(count: Int, seed: UInt64) -> [[UInt8]] {
        mutations(of: seeds, count: count, seed: seed)
    }

    static func mutations(of seeds: [String], count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix64(seed: seed)
        let interesting: [UInt8] = Array(" \t\r\n\"'{}[]<>:,.-/?=\\0123456789eE+-msµ".utf8) + [0, 0xFF, 0xC3, 0x80, 0xE2]
        return (0..<count).map { _ in
            var bytes = Array(seeds.randomElement(using: &random)!.utf8)
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[at] = interesting.randomElement(using: &random)!
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: at)
                case 2: bytes.remove(at: at)
                case 3: bytes.insert(contentsOf: bytes[at...].prefix(16), at: at)
                default: bytes[at] = UInt8.random(in: 0...255, using: &random)
                }
            }
            return bytes
        }
    }

    @Test func timingLogParsersAndRouteTemplatingSurviveMutatedLines() throws {
        let parsers: [any TimingLineParser] = [
            StarletteLineParser(), NginxLineParser(), JSONLineParser(),
            try RegexLineParser(pattern: #"(?<method>[A-Z]+) (?<path>\S+) (?<duration>[\d.]+)ms"#, unit: .milliseconds),
        ]
        let templater = RouteTemplater(templates: ["/markets/{id}/applications"])
        var parsed = 0
        for bytes in Self.mutations(count: 4000, seed: 42) {
            for parser in parsers {
                let result = bytes.withUnsafeBytes { parser.parse($0) }
                if case .request(let record) = result {
                    parsed += 1
                    #expect(record.durationSeconds.isFinite && record.durationSeconds >= 0)
                    #expect(templater.route(for: record.path).utf8.count <= 256)
                }
            }
        }
        // The mutations keep many lines valid: the property was exercised on parsed records too.
        #expect(parsed > 500)
    }

    @Test func configurationLoaderSurvivesMutatedYAML() {
        let loader = ConfigurationLoader(keys: VitalsConfiguration.allKeys)
        var accepted = 0
        for bytes in Self.mutations(count: 2000, seed: 7) {
            let text = String(decoding: bytes, as: UTF8.self)
            if let values = try? loader.load(flags: [], environment: [:], file: ("fuzz.yml", text)) {
                accepted += 1
                _ = try? VitalsConfiguration(values: values)
                for factory in SourceCatalog.factories { try? factory.validate(values: values) }
            }
        }
        #expect(accepted > 0)
    }

    /// The captured logs' lines, mutated, through each format's parser in one stream (so records
    /// also gather mutated continuation lines): what comes out keeps to the record limit and the
    /// kept-record rules, and every line is counted.
    @Test func postgresLogParsersKeepRecordsBoundedOnMutatedLines() {
        let fixtures: [(PostgresLogFormat, String)] = [
            (.stderr, SlowQueryFixtures.stderrSessionPrefix), (.csvlog, SlowQueryFixtures.csvlog), (.jsonlog, SlowQueryFixtures.jsonlog),
        ]
        let limit = 1024
        for (index, (format, fixture)) in fixtures.enumerated() {
            var parser = PostgresLogParser(format: format, prefix: LogLinePrefix("%m [%p] %q%u@%d "), maxRecordLength: limit)
            var entries = 0
            func check(_ record: PostgresLogRecord) {
                #expect(record.message.count <= limit)
                #expect(record.message.starts(with: PostgresLogRecord.durationMarker) && PostgresLogRecord.isPrimary(Array(record.severity.utf8)))
                guard let entry = SlowQueryEntry(record: record) else { return }
                entries += 1
                #expect(entry.durationSeconds.isFinite && entry.durationSeconds >= 0)
                #expect(entry.plan.map { $0.nodes.count <= PlanSummary.maxNodes } ?? true)
            }
            let lines = Self.mutations(of: fixture.split(separator: "\n").map(String.init), count: 10_000, seed: 100 + UInt64(index))
            for line in lines { line.withUnsafeBytes { parser.feed($0, emit: check) } }
            parser.flush(emit: check)
            let counted = parser.counts.parsed + parser.counts.unparsed
            // csvlog leaves the lines of a record whose quotes never closed uncounted.
            #expect(format == .csvlog ? counted <= lines.count : counted == lines.count)
            // The mutations leave many records whole: the properties were checked on real entries.
            #expect(entries > 100, "\(format): \(entries) entries")
        }
    }

    /// A megabyte of invalid UTF-8 inside one record, in each format: the record is cut at the
    /// limit (csvlog: dropped whole) and the parser reads the next record as usual.
    @Test func postgresLogParsersStayBoundedOnAHugeInvalidRecord() {
        let garbage = [UInt8](repeating: 0xFF, count: 1 << 20)
        let start = "2026-01-01 00:00:00.000 UTC"
        let limit = 4096
        for format in PostgresLogFormat.allCases {
            let (open, close, next): (String, String, String) =
                switch format {
                case .stderr: ("\(start) [1] LOG:  duration: 1.0 ms  statement: SELECT '", "\t'", "\(start) [1] LOG:  duration: 2.0 ms  statement: SELECT 1")
                case .csvlog:
                    ("\(start),u,d,1,,s,1,,,,,LOG,00000,\"duration: 1.0 ms  statement: SELECT '", "'\",,,,,,,,,,,,0",
                     "\(start),u,d,1,,s,1,,,,,LOG,00000,\"duration: 2.0 ms  statement: SELECT 1\",,,,,,,,,,,,0")
                case .jsonlog:
                    ("{\"error_severity\":\"LOG\",\"message\":\"duration: 1.0 ms  statement: SELECT '", "'\"}",
                     "{\"error_severity\":\"LOG\",\"message\":\"duration: 2.0 ms  statement: SELECT 1\"}")
                }
            var parser = PostgresLogParser(format: format, maxRecordLength: limit)
            var records: [PostgresLogRecord] = []
            let huge = format == .jsonlog ? [Array(open.utf8) + garbage + Array(close.utf8)] : [Array(open.utf8) + garbage, Array(close.utf8)]
            for line in huge + [Array(next.utf8)] { line.withUnsafeBytes { parser.feed($0) { records.append($0) } } }
            parser.flush { records.append($0) }
            #expect(records.allSatisfy { $0.message.count <= limit })
            #expect(records.map(\.isTruncated) == (format == .csvlog ? [false] : [true, false]), "\(format)")
            #expect(records.last.flatMap { SlowQueryEntry(record: $0) }.map { String(decoding: $0.statement, as: UTF8.self) } == "SELECT 1")
        }
    }

    static let statements = [
        "select * from Orders where id = 42 and name = 'bob'",
        "SELECT  a.b ,count( * )\n FROM t  -- trailing\n WHERE x::int >= -1.5e3",
        "select E'it\\'s', B'0101', X'FF', N'n', U&'d\\0061t' UESCAPE '!'",
        "select $$dollar 'quoted'$$, $fn$ body $$ inner $$ $fn$",
        "SELECT 0x1F, 1_000, .5, 1., 3.14e-2, x - 1, x-1, (-1), f(-2), x =-1",
        "INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y') RETURNING id",
        "SELECT ARRAY[1, 2]::int[] WHERE id in ($1::INTEGER, $2::INTEGER) AND z IN (1, x, 3)",
        "SELECT 'it''s /* not */ -- a comment', \"Mixed Case\".\"Col\" /* /* nested */ c */ FROM t WHERE 'a'\n  'b' = U&\"d\"",
    ]

    /// The properties StatementFingerprint.swift documents, on mutated statements (the same ones
    /// Fuzz/FuzzFingerprint asserts): deterministic; the id is FNV-1a over the whole normalised
    /// text whatever the cap; the text keeps to the cap; the normalised text of valid UTF-8 is
    /// already normal.
    @Test func fingerprintPropertiesHoldOnMutatedStatements() {
        let wide = StatementNormalizer()
        let narrow = StatementNormalizer(maxLength: 16)
        func fnv1a(_ text: String) -> String {
            NormalizedOutput.hex(text.utf8.reduce(0xcbf2_9ce4_8422_2325 as UInt64) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01b3 })
        }
        var hashed = 0
        for bytes in Self.mutations(of: Self.statements, count: 10_000, seed: 11) {
            let full = wide.fingerprint(bytes)
            let cut = narrow.fingerprint(bytes)
            #expect(full == wide.fingerprint(bytes))
            #expect(cut.id == full.id)
            #expect(full.text.utf8.count <= wide.maxLength + 3 && cut.text.utf8.count <= narrow.maxLength + 3)
            // Valid UTF-8 only: U+FFFD in the text stands for any invalid bytes.
            guard !full.isTruncated, String(validating: bytes, as: UTF8.self) != nil else { continue }
            hashed += 1
            #expect(wide.fingerprint(full.text) == full)
            #expect(fnv1a(full.text) == full.id)
            #expect(!cut.isTruncated || full.text.utf8.starts(with: cut.text.utf8.dropLast(3)))
        }
        #expect(hashed > 5000)
    }

    /// Captured INFO replies, mutated, through the parser, the metric mapping and the exposition.
    @Test func redisInfoParserSurvivesMutatedReplies() {
        var commands = 0
        for bytes in Self.mutations(of: [RedisInfoFixtures.redis7, RedisInfoFixtures.redis6HandWritten], count: 1000, seed: 21) {
            let info = RedisInfo(parsing: String(decoding: bytes, as: UTF8.self))
            #expect(info.fields.keys.allSatisfy { info.number($0)?.isFinite ?? true })
            #expect(info.latencyPercentiles.allSatisfy { $0.percentiles.allSatisfy { (0...1).contains($0.quantile) } })
            var mapper = RedisMetricMapper(descriptors: RedisMetricDescriptors(withTarget: false), target: nil, maxLabelValues: 8)
            _ = ExpositionWriter(format: .prometheusText).write(mapper.families(for: RedisObservation(info: info)))
            commands += info.commandStats.count
        }
        #expect(commands > 5000)
    }

    /// A quarter-megabyte INFO line, and as much invalid UTF-8: nothing invented. (How the time
    /// grows with the line is a benchmark's question, not a test's.)
    @Test func redisInfoParserIsBoundedOnHugeLines() {
        let pairs = 60_000
        let long = "# Commandstats\r\ncmdstat_get:calls=7," + String(repeating: "x=1,", count: pairs) + "usec=3\r\n"
        let info = RedisInfo(parsing: long)
        #expect(info.commandStats.map(\.calls) == [7] && info.commandStats.map(\.microseconds) == [3])
        let junk = RedisInfo(parsing: String(decoding: [UInt8](repeating: 0xFF, count: 1 << 18), as: UTF8.self))
        #expect(junk.fields.isEmpty && junk.sections.isEmpty)
    }

    /// Random RESP reply trees, many shaped like SLOWLOG GET and LATENCY LATEST entries with ids
    /// and times at Int64's edges, through every reply parser and the slowlog tracker.
    @Test func redisReplyParsersAndTheSlowlogTrackerSurviveRandomReplies() {
        var random = SplitMix64(seed: 23)
        func integer() -> Int64 {
            let edges: [Int64] = [0, 1, -1, .max, .min, .max - 1, .min + 1]
            return Bool.random(using: &random) ? edges.randomElement(using: &random)! : Int64.random(in: .min ... .max, using: &random)
        }
        func text() -> String {
            String(decoding: (0..<Int.random(in: 0...12, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, as: UTF8.self)
        }
        func reply(depth: Int) -> RedisReply {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: return .integer(integer())
            case 1: return .string(Bool.random(using: &random) ? text() : String(integer()))
            case 2: return .null
            case 3: return .error(["NOPERM", "ERR unknown command", "BUSY", "LOADING", "ERR"].randomElement(using: &random)! + text())
            default: return depth < 3 ? .array((0..<Int.random(in: 0...5, using: &random)).map { _ in reply(depth: depth + 1) }) : .null
            }
        }
        func entries() -> RedisReply {
            .array((0..<Int.random(in: 0...4, using: &random)).map { _ in
                Bool.random(using: &random)
                    ? .array([.integer(integer()), .integer(integer()), .integer(integer()), .array([.string(text())]), .string(text())])
                    : .array([.string(text()), .integer(integer()), .integer(integer()), .integer(integer())])
            })
        }
        var tracker = RedisSlowlogTracker()
        var parsed = 0
        for _ in 0..<10_000 {
            let received = Bool.random(using: &random) ? entries() : reply(depth: 0)
            if let slowlog = RedisSlowlogEntry.parse(received) {
                parsed += slowlog.count
                #expect(slowlog.allSatisfy { $0.command.count <= 64 })
                #expect(tracker.unseenCount(newestID: slowlog.first?.id, runID: "a") >= 0)
                let update = tracker.update(entries: slowlog, runID: "a")
                #expect(update.missed >= 0)
                #expect(zip(update.newEntries, update.newEntries.dropFirst()).allSatisfy { $0.id <= $1.id })
            }
            #expect(RedisLatencySpike.parse(received).map { $0.allSatisfy { $0.event.count <= 64 } } ?? true)
            var config = RedisConfigValues()
            config.absorb(received)
            if case .error(let message) = received { _ = RedisErrorReplyKind(reply: message) }
        }
        #expect(parsed > 2000)
    }

    @Test func theTailerKeepsMemoryBoundedOnALineWithoutEnd() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/huge.log"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let chunk = Data(repeating: 0x41, count: 1 << 20)
        for _ in 0..<32 { handle.write(chunk) }  // 32 MiB with no newline, then one short line
        handle.write(Data("\nGET /a completed in 1.0ms\n".utf8))
        try handle.close()
        let tailer = LogTailer(configuration: .init(patterns: [path], fromBeginning: true, maxLineLength: 65_536))
        var lines: [String] = []
        let result = tailer.poll { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(result.oversizedLines == 1)
        #expect(lines == ["GET /a completed in 1.0ms"])
        tailer.close()
    }
}
