import Foundation
import Testing

@testable import Vitals

/// Runs text through a parser, line by line, then flushes.
enum SlowQueryParse {
    static func records(_ text: String, format: PostgresLogFormat = .stderr, prefix: String = "%m [%p] %q%u@%d ", maxRecordLength: Int = 1 << 20)
        -> (records: [PostgresLogRecord], counts: PostgresLogLineCounts)
    {
        var parser = PostgresLogParser(format: format, prefix: LogLinePrefix(prefix), maxRecordLength: maxRecordLength)
        var records: [PostgresLogRecord] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            parser.feed(String(line)) { records.append($0) }
        }
        parser.flush { records.append($0) }
        return (records, parser.counts)
    }

    static func entries(_ text: String, format: PostgresLogFormat = .stderr, prefix: String = "%m [%p] %q%u@%d ") -> [SlowQueryEntry] {
        records(text, format: format, prefix: prefix).records.compactMap { SlowQueryEntry(record: $0) }
    }
}

@Suite struct SlowQueryLogLinePrefixTests {
    @Test func sessionPrefixWithQ() throws {
        let prefix = LogLinePrefix("%m [%p] %q%u@%d ")
        let line = "2026-11-24 16:46:25.639 UTC [6102] postgres@app LOG:  duration: 60.152 ms  plan:"
        let match = try #require(prefix.match(line))
        let bytes = Array(line.utf8)
        func field(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }
        #expect(field(match.timestamp) == "2026-11-24 16:46:25.639 UTC")
        #expect(field(match.pid) == "6102")
        #expect(field(match.user) == "postgres")
        #expect(field(match.database) == "app")
        #expect(field(match.severity) == "LOG")
        #expect(String(decoding: bytes[match.messageStart...], as: UTF8.self) == "duration: 60.152 ms  plan:")
        // A background process: %q cuts the prefix.
        let background = try #require(prefix.match("2026-11-24 16:46:21.087 UTC [5880] LOG:  database system is ready"))
        #expect(background.user == nil)
        // Continuations and foreign lines are not records.
        #expect(prefix.match("\tResult  (cost=0.00..0.01 rows=1 width=8)") == nil)
        #expect(prefix.match("2026-11-24 16:46:21.087 UTC [5880] something else") == nil)
        #expect(prefix.match("random text") == nil)
    }

    @Test func longPrefixWithEmptyFieldsAndSpacesInApplication() throws {
        let prefix = LogLinePrefix("%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h ")
        let line = "2026-11-24 16:47:00 UTC [9256]: [5-1] user=postgres,db=shop,app=my app, v2,client=10.0.0.1 LOG:  duration: 0.947 ms  statement: SELECT 1"
        let match = try #require(prefix.match(line))
        let bytes = Array(line.utf8)
        func field(_ range: Range<Int>?) -> String? { range.map { String(decoding: bytes[$0], as: UTF8.self) } }
        #expect(field(match.timestamp) == "2026-11-24 16:47:00 UTC")
        #expect(field(match.database) == "shop")
        #expect(field(match.application) == "my app, v2")
        #expect(field(match.host) == "10.0.0.1")
        let empty = try #require(prefix.match("2026-11-24 16:47:00 UTC [9242]: [1-1] user=,db=,app=,client= LOG:  shutting down"))
        #expect(empty.user?.isEmpty == true)
    }

    @Test func otherEscapesAndPadding() throws {
        let cases: [(String, String)] = [
            ("%n [%p-%l] %c %v %x %e ", "1732466785.123 [42-7] 6743a1b2.2a 3/14 0 00000 LOG:  x"),
            ("[%-8p] %r %a%%", "[42      ] 127.0.0.1(5432) psql%LOG:  x"),
            ("%s %i %b %Q: ", "2026-11-24 16:47:00 UTC SELECT client backend -123: LOG:  x"),
            ("unknown %Z escape %p ", "unknown  escape 7 ERROR:  x"),
            ("%m|%p|", "2026-11-24 16:46:25.639 CEST|42|LOG:  x"),
            ("%t %p ", "2026-11-24 16:46:25 -0330 42 LOG:  x"),
        ]
        for (specification, line) in cases {
            #expect(LogLinePrefix(specification).match(line) != nil, "\(specification) on \(line)")
        }
    }

    /// Work, not time: the matcher's steps stay within its budget on a line built to make free-text
    /// fields backtrack (four of them over 100 KB would be billions of tries without one).
    @Test func hostileLinesCostABoundedAmount() {
        let prefix = LogLinePrefix("%u%d%a%h ")
        let line = Array(String(repeating: "a ", count: 50_000).utf8)
        line.withUnsafeBytes { raw in
            var matcher = LogLinePrefix.Matcher(line: raw, elements: prefix.elements)
            #expect(matcher.run() == nil)
            #expect(matcher.steps > 100, "the line did make the matcher backtrack")
            #expect(matcher.steps <= LogLinePrefix.stepBudget + 1)
        }
    }
}

@Suite struct SlowQueryLogParserTests {
    @Test func stderrFromTheRealServer() throws {
        let (records, counts) = SlowQueryParse.records(SlowQueryFixtures.stderrSessionPrefix)
        let entries = records.compactMap { SlowQueryEntry(record: $0) }
        #expect(counts.unparsed == 0)
        let kinds = entries.map(\.kind)
        #expect(kinds == [.plan, .statement, .plan, .statement, .plan, .statement, .plan, .statement, .parse, .bind, .execute, .plan, .parse, .bind, .execute, .plan])
        let first = entries[1]
        #expect(first.durationSeconds == 0.061021)
        #expect(first.user == "postgres" && first.database == "app" && first.pid == 6102)
        #expect(first.timestamp == "2026-11-24 16:46:25.639 UTC")
        // The multi-line statement is rebuilt with its newlines, TABs removed.
        #expect(String(decoding: entries[3].statement, as: UTF8.self) == "SELECT pg_sleep(0.06),\n   2 -- comment\n   WHERE 987654321 = 987654321;")
        // execute: the text after "<name>: "; its DETAIL parameters are never part of anything.
        let execute = entries[10]
        #expect(String(decoding: execute.statement, as: UTF8.self) == "SELECT count(*) FROM sq_fixture WHERE id = $1 AND v <> 'SECRET-LITERAL-9137';")
        for record in records { #expect(!record.messageText.contains("parameters:")) }
        #expect(entries[8].phase == "parse" && entries[9].phase == "bind" && entries[10].phase == "execute")
        // Text plan (parallel seq scan) and JSON plan.
        #expect(entries[11].plan?.sequentialScans == ["sq_fixture"])
        #expect(entries[11].plan?.line == "Parallel Seq Scan on sq_fixture (rows=603) → Partial Aggregate → Gather → Finalize Aggregate")
        #expect(entries[15].plan?.sequentialScans == ["sq_fixture"])
        #expect(entries[15].plan?.line == "Parallel Seq Scan on sq_fixture (rows=603) → Aggregate → Gather → Aggregate")
        #expect(String(decoding: entries[15].statement, as: UTF8.self).hasPrefix("SELECT count(*) FROM sq_fixture WHERE id = $1"))
    }

    @Test func stderrLongPrefix() throws {
        let prefix = "%t [%p]: [%l-1] user=%u,db=%d,app=%a,client=%h "
        let (records, counts) = SlowQueryParse.records(SlowQueryFixtures.stderrLongPrefix, prefix: prefix)
        #expect(counts.unparsed == 0)
        let entries = records.compactMap { SlowQueryEntry(record: $0) }
        let join = try #require(entries.first { $0.kind == .plan && $0.plan?.nodes.first?.type == "Hash Join" })
        #expect(join.application == "psql")
        #expect(join.plan?.sequentialScans == ["orders"])
        #expect(join.plan?.line == "Seq Scan on orders (rows=1) → Hash → Seq Scan on orders (rows=1270) → Hash Join")
        let statement = try #require(entries.last { $0.kind == .statement })
        #expect(String(decoding: statement.statement, as: UTF8.self).hasSuffix("AND o.id IN (1, 2, 3);"))
        #expect(statement.user == "postgres" && statement.database == "postgres")
    }

    @Test func csvlogWithMultiLineQuotedFields() throws {
        let (records, counts) = SlowQueryParse.records(SlowQueryFixtures.csvlog, format: .csvlog)
        #expect(counts.unparsed == 0)
        let entries = records.compactMap { SlowQueryEntry(record: $0) }
        let plan = try #require(entries.first { $0.kind == .plan && $0.plan?.nodes.first?.type == "Hash Join" })
        #expect(plan.plan?.sequentialScans == ["orders"])
        #expect(plan.application == "psql" && plan.pid == 9256 && plan.database == "postgres")
        let statement = try #require(entries.last { $0.kind == .statement })
        #expect(String(decoding: statement.statement, as: UTF8.self) == "SELECT o.id FROM orders o\n  JOIN orders p ON p.id = o.id\n WHERE o.note = 'SECRET-LITERAL-9137' AND o.id IN (1, 2, 3);")
        #expect(abs(statement.durationSeconds - 0.000947) < 1e-12)
        // Doubled quotes inside a field, a record split anywhere.
        let synthetic = #"""
            2026-01-01 00:00:00.000 UTC,"u","d",7,"[local]",s.1,1,"SELECT",2026-01-01 00:00:00 UTC,3/1,0,LOG,00000,"duration: 5.000 ms  statement: SELECT ""a,b"" FROM t
            WHERE x = 'it''s'
            ",,,,,,,,,"app, ""quoted""","client backend",,0
            """#
        let one = SlowQueryParse.entries(synthetic, format: .csvlog)
        #expect(one.count == 1)
        #expect(String(decoding: one[0].statement, as: UTF8.self) == "SELECT \"a,b\" FROM t\nWHERE x = 'it''s'\n")
        #expect(one[0].application == "app, \"quoted\"")
    }

    @Test func jsonlog() throws {
        let (records, counts) = SlowQueryParse.records(SlowQueryFixtures.jsonlog, format: .jsonlog)
        #expect(counts.unparsed == 0)
        let entries = records.compactMap { SlowQueryEntry(record: $0) }
        let plan = try #require(entries.first { $0.kind == .plan && $0.plan?.nodes.first?.type == "Hash Join" })
        #expect(plan.plan?.sequentialScans == ["orders"])
        #expect(plan.timestamp == "2026-11-24 16:47:00.489 UTC")
        let statement = try #require(entries.last { $0.kind == .statement })
        #expect(statement.user == "postgres" && statement.database == "postgres" && statement.pid == 9256 && statement.application == "psql")
        #expect(SlowQueryParse.records("{not json\n{\"a\":1}", format: .jsonlog).counts == PostgresLogLineCounts(parsed: 1, unparsed: 1))
    }

    @Test func messageForms() {
        func entry(_ message: String) -> SlowQueryEntry? { SlowQueryEntry(record: PostgresLogRecord(message: Array(message.utf8))) }
        #expect(entry("duration: 12.345 ms  statement: SELECT 1")?.kind == .statement)
        #expect(entry("duration: 12.345 ms  statement: SELECT 1")?.durationSeconds == 0.012345)
        #expect(entry("duration: 1.000 ms  execute S_1/C_2: SELECT 2").map { String(decoding: $0.statement, as: UTF8.self) } == "SELECT 2")
        #expect(entry("duration: 1.000 ms  execute fetch from S_1/C_2: SELECT 3").map { String(decoding: $0.statement, as: UTF8.self) } == "SELECT 3")
        #expect(entry("duration: 1.000 ms  bind <unnamed>: SELECT 4")?.kind == .bind)
        #expect(entry("duration: 1.000 ms  parse __asyncpg_stmt_1__: SELECT 5")?.kind == .parse)
        #expect(entry("duration: 1.000 ms") == nil)
        #expect(entry("duration: abc ms  statement: x") == nil)
        #expect(entry("connection received") == nil)
    }

    @Test func stderrRecordsCompleteOnNextRecordForeignLineOrFlush() {
        var parser = PostgresLogParser(format: .stderr)
        var records: [PostgresLogRecord] = []
        parser.feed("2026-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT") { records.append($0) }
        parser.feed("\t1") { records.append($0) }
        #expect(records.isEmpty)
        parser.feed("2026-01-01 00:00:00.001 UTC [1] LOG:  duration: 2.000 ms  statement: SELECT 2") { records.append($0) }
        #expect(records.map(\.messageText) == ["duration: 1.000 ms  statement: SELECT\n1"])
        parser.flush { records.append($0) }
        #expect(records.count == 2)
        // Size limit: the record is cut, not grown.
        let cut = SlowQueryParse.records(
            "2026-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT\n\t" + String(repeating: "x", count: 500), maxRecordLength: 100)
        #expect(cut.records.first?.isTruncated == true)
        #expect(cut.records.first?.message.count == 100)
    }

    @Test func randomLinesNeverCrashAnyParser() {
        var generator = SplitMix64(seed: 42)
        let pieces = [
            "2026-01-01 00:00:00.000 UTC [1] u@d LOG:  duration: 1.5 ms  statement: ", "\t", "\"", ",", "{", "}", "\"message\":", "plan:",
            "Query Text: ", "  (cost=1..2 rows=3 width=4)", "->  ", "Seq Scan on t", "\\", "duration: ", " ms  ", "\u{FFFD}", "x", " ",
        ]
        do {
            for format in PostgresLogFormat.allCases {
                var parser = PostgresLogParser(format: format, maxRecordLength: 4096)
                for _ in 0..<3_400 {
                    var line = ""
                    for _ in 0..<Int(generator.next() % 12) { line += pieces[Int(generator.next() % UInt64(pieces.count))] }
                    var bytes = Array(line.utf8)
                    if generator.next() % 5 == 0 { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
                    bytes.withUnsafeBytes { raw in parser.feed(raw) { record in _ = SlowQueryEntry(record: record) } }
                }
                parser.flush { _ = SlowQueryEntry(record: $0) }
            }
        }
    }
}

@Suite struct SlowQueryPlanSummaryTests {
    @Test func textPlanKeepsNodesAndRelationsNeverConditions() {
        let plan = """
            Query Text: SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.total > 42
            Hash Join  (cost=1.00..2.00 rows=10 width=8) (actual time=0.1..0.2 rows=7 loops=1)
              Hash Cond: (o.customer_id = c.id)
              ->  Seq Scan on orders o  (cost=0.00..1.00 rows=100000 width=4) (actual time=0.1..0.2 rows=99999 loops=1)
                    Filter: (total > 42)
                    Rows Removed by Filter: 1
              ->  Hash  (cost=1.00..1.00 rows=1 width=4)
                    ->  Index Scan using customers_pkey on public.customers c  (cost=0.00..1.00 rows=1 width=4)
                          Index Cond: (id = 'SECRET')
            Query Parameters: $1 = 'SECRET'
            """
        let result = PlanParser.parse(plan)
        #expect(String(decoding: result.queryText, as: UTF8.self).hasSuffix("WHERE o.total > 42"))
        #expect(result.summary.sequentialScans == ["orders"])
        #expect(result.summary.line == "Index Scan on public.customers (rows=1) → Hash → Seq Scan on orders (rows=99999) → Hash Join")
        #expect(!result.summary.line.contains("42") && !result.summary.line.contains("SECRET"))
    }

    /// A literal with line breaks, in the statement or in a condition, can hold a line shaped like
    /// a node (issue 21): it must not become one, or its words would reach the plan summary.
    @Test func aLiteralShapedLikeANodeIsNotOne() {
        let plan = """
            Query Text: SELECT * FROM t WHERE note = '
            Hunter2Secret Scan  (cost=0.00..1.00 rows=1 width=4)'
            Seq Scan on t  (cost=0.00..1.00 rows=5 width=4)
              Filter: (note = '
              ->  Seq Scan on Hunter2Secret  (cost=0.00..1.00 rows=1 width=4)
            '::text)
              ->  Custom Scan (Columnar) on u  (cost=0.00..1.00 rows=2 width=4)
            """
        let result = PlanParser.parse(plan)
        #expect(result.summary.line == "Custom Scan on u (rows=2) → Seq Scan on t (rows=5)")
        #expect(!result.summary.line.contains("Hunter2Secret"))
    }

    @Test func jsonPlan() {
        let plan = """
            {"Query Text": "SELECT 1", "Plan": {"Node Type": "Nested Loop", "Join Type": "Left", "Plan Rows": 5,
              "Plans": [{"Node Type": "Seq Scan", "Relation Name": "a", "Plan Rows": 10, "Actual Rows": 12, "Filter": "(x = 42)"},
                        {"Node Type": "Index Scan", "Relation Name": "b", "Index Name": "b_pkey", "Plan Rows": 1}]}}
            """
        let result = PlanParser.parse(plan)
        #expect(String(decoding: result.queryText, as: UTF8.self) == "SELECT 1")
        #expect(result.summary.line == "Index Scan on b (rows=1) → Seq Scan on a (rows=12) → Nested Loop Left Join")
        #expect(result.summary.sequentialScans == ["a"])
        #expect(PlanParser.parse("{broken").summary.nodes.isEmpty)
        // Deep nesting fails the parse instead of the stack.
        let deep = String(repeating: "[", count: 100_000)
        #expect(PlanParser.parse("{\"Plan\": " + deep).summary.nodes.isEmpty)
    }
}
