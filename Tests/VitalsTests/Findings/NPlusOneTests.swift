import Foundation
import Testing

@testable import Vitals

@Suite struct SQLCommenterTests {
    @Test func readsFrameworkTagsURLDecoded() throws {
        let tags = try #require(
            SQLCommenterTags.parse("SELECT * FROM outcomes WHERE id = $1 /*controller='markets',framework='fastapi',route='%2Fmarkets%2F%7Bid%7D'*/"))
        #expect(tags.route == "/markets/{id}")
        #expect(tags["framework"] == "fastapi")
    }

    @Test func escapedQuotesAndControllerAction() throws {
        let tags = try #require(SQLCommenterTags.parse(#"SELECT 1 /*action='show',controller='it\'s',traceparent='00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'*/"#))
        #expect(tags["controller"] == "it's")
        #expect(tags.route == "it's#show")
        #expect(tags["traceparent"]?.hasPrefix("00-0af7") == true)
    }

    @Test func aCommentInTheMiddleAndOrdinaryCommentsAround() throws {
        let tags = try #require(SQLCommenterTags.parse("SELECT /* plain hint */ a FROM t /*route='%2Fa'*/ WHERE b = $1 -- trailing"))
        #expect(tags.route == "/a")
    }

    @Test(arguments: [
        // A literal that looks like a tag comment is a literal: never read.
        "SELECT '/*route=''%2Fsecret''*/' FROM t",
        "SELECT $$ /*route='%2Fsecret'*/ $$",
        "SELECT 1 /*route=%2Fnoquotes*/",
        "SELECT 1 /*route='unterminated*/",
        "SELECT 1 /*route='%ZZ'*/",
        "SELECT 1 /*not tags at all*/",
        "SELECT 1 /*='x'*/",
        "SELECT 1 /*k ey='x'*/",
        "SELECT 1 /*route='a\u{01}b'*/",
        "SELECT 1 /*route='x'",
        "",
    ])
    func hostileOrMalformedInputGivesNoTags(_ statement: String) {
        #expect(SQLCommenterTags.parse(statement) == nil)
    }

    @Test func oversizedValuesAreIgnoredNotCut() {
        let long = String(repeating: "a", count: 600)
        #expect(SQLCommenterTags.parse("SELECT 1 /*route='\(long)'*/") == nil)
        #expect(SQLCommenterTags.parse("SELECT 1 /*" + (0..<40).map { "k\($0)='v'" }.joined(separator: ",") + "*/") == nil)
    }
}

@Suite struct NPlusOneDetectorTests {
    typealias Statement = NPlusOneDetector.Statement

    static func statement(
        pid: Int = 1, at time: Double, _ fingerprint: String = "lookup", transaction: String? = nil, route: String? = nil, traceparent: String? = nil
    ) -> Statement {
        var values: [String: String] = [:]
        if let route { values["route"] = route }
        if let traceparent { values["traceparent"] = traceparent }
        return Statement(
            pid: pid, transaction: transaction, time: time, fingerprint: fingerprint, shape: "SELECT * FROM t WHERE id = $1",
            tags: values.isEmpty ? nil : SQLCommenterTags(values: values), seconds: 0.001)
    }

    static func run(_ statements: [Statement], settings: NPlusOneDetector.Settings = .init()) -> NPlusOneDetector {
        var detector = NPlusOneDetector(settings: settings)
        for statement in statements { detector.observe(statement) }
        detector.closeAll()
        return detector
    }

    @Test func repeatsWithinAGapAreOneBurst() {
        let burst = (0..<20).map { Self.statement(at: 100 + Double($0) * 0.002) }
        let totals = Self.run(burst).totals[NPlusOneKey(fingerprint: "lookup", route: nil)]
        #expect(totals?.bursts == 1)
        #expect(totals?.statements == 20)
        #expect(abs((totals?.seconds ?? 0) - 0.02) < 1e-9)
        #expect(totals?.shape == "SELECT * FROM t WHERE id = $1")
    }

    @Test func aGapSplitsBurstsAndShortBurstsAreNotNPlusOne() {
        // Two requests of 4 lookups each, 1 s apart on the same backend: never 5 in one burst.
        let statements = (0..<4).map { Self.statement(at: 100 + Double($0) * 0.001) } + (0..<4).map { Self.statement(at: 101 + Double($0) * 0.001) }
        #expect(Self.run(statements).totals.isEmpty)
    }

    @Test func transactionsSeparateBackToBackRequests() {
        // Back to back on one pooled connection, 1 ms apart: the gap cannot tell, the transaction can.
        let first = (0..<3).map { Self.statement(at: 100 + Double($0) * 0.001, transaction: "3/10") }
        let second = (0..<3).map { Self.statement(at: 100.003 + Double($0) * 0.001, transaction: "3/11") }
        #expect(Self.run(first + second).totals.isEmpty)
        #expect(Self.run((first + second).map { var s = $0; s.transaction = nil; return s }).totals.count == 1, "without ids they merge")
    }

    @Test func autocommitLookupsEachInTheirOwnTransactionStillMakeABurst() {
        // asyncpg without an explicit transaction: every lookup is its own (virtual) transaction.
        let lookups = (0..<20).map { Self.statement(at: 100 + Double($0) * 0.001, transaction: "3/\(100 + $0)") }
        #expect(Self.run(lookups).totals.first?.value.statements == 20)
        // A real transaction of several statements still ends where the next one begins.
        let first = (0..<3).map { Self.statement(at: 200 + Double($0) * 0.001, transaction: "3/500") }
        let second = (0..<3).map { Self.statement(at: 200.003 + Double($0) * 0.001, transaction: "3/501") }
        #expect(Self.run(first + second).totals.isEmpty)
    }

    @Test func traceparentSeparatesRequestsAndRouteAttributes() {
        let first = (0..<6).map { Self.statement(at: 100 + Double($0) * 0.001, route: "/markets/{id}", traceparent: "00-a-01") }
        let second = (0..<6).map { Self.statement(at: 100.006 + Double($0) * 0.001, route: "/markets/{id}", traceparent: "00-b-01") }
        let totals = Self.run(first + second).totals
        #expect(totals[NPlusOneKey(fingerprint: "lookup", route: "/markets/{id}")]?.bursts == 2)
    }

    @Test(arguments: [
        ("SELECT * FROM t WHERE id = $1", NPlusOneDetector.Role.work),
        ("(SELECT 1) UNION (SELECT 2)", .work),
        ("WITH x AS (SELECT 1) SELECT * FROM x", .work),
        ("UPDATE t SET a = $1 WHERE id = $2", .work),
        ("BEGIN", .housekeeping),
        ("begin isolation level read committed", .housekeeping),
        ("SET statement_timeout = $1", .housekeeping),
        ("SHOW server_version", .housekeeping),
        ("COMMIT", .housekeeping),
        ("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL", .checkIn),
        ("SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *", .housekeeping),
        ("DISCARD ALL", .checkIn),
        ("reset all", .checkIn),
        ("", .work),
    ])
    func statementRoles(shape: String, role: NPlusOneDetector.Role) {
        #expect(NPlusOneDetector.role(of: shape) == role)
    }

    @Test func aPoolCheckInEndsTheBurstAndHousekeepingIsNeverCounted() {
        // asyncpg on one pooled connection, requests back to back: three lookups, then the reset
        // as the connection goes back. Merged by the gap, 12 lookups and 4 resets would look like N+1s.
        var statements: [Statement] = []
        var time = 100.0
        for _ in 0..<4 {
            for _ in 0..<3 {
                statements.append(Self.statement(at: time, route: "/orders"))
                time += 0.001
            }
            var reset = Self.statement(at: time, "reset", route: nil)
            reset.shape = "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL"
            statements.append(reset)
            var set = Self.statement(at: time, "set", route: nil)
            set.shape = "SET application_name = $1"
            statements.append(contentsOf: Array(repeating: set, count: 6))
            time += 0.001
        }
        #expect(Self.run(statements).totals.isEmpty)
        #expect(Self.run(statements.filter { $0.fingerprint == "lookup" }).totals.count == 1, "without the reset they merge")
    }

    @Test func backendsAreSeparateAndInterleavingIsFine() {
        var statements: [Statement] = []
        for index in 0..<10 {
            statements.append(Self.statement(pid: 1, at: 100 + Double(index) * 0.002))
            statements.append(Self.statement(pid: 2, at: 100.001 + Double(index) * 0.002, "other"))
        }
        let totals = Self.run(statements).totals
        #expect(totals.count == 2)
        #expect(totals.values.allSatisfy { $0.bursts == 1 && $0.statements == 10 })
    }

    @Test func idleBurstsCloseByLogTimeOrByTheWallClockWhenQuiet() {
        var detector = NPlusOneDetector()
        for index in 0..<6 { detector.observe(Self.statement(at: 100 + Double(index) * 0.001)) }
        detector.closeIdle()
        #expect(detector.totals.isEmpty, "the burst may still grow")
        detector.closeIdle(now: 200)
        #expect(detector.totals.count == 1)
        #expect(detector.openBursts == 0)
    }

    @Test func everyTableIsBounded() {
        var settings = NPlusOneDetector.Settings(minRepeats: 2, gap: 0.05, maxKeys: 3)
        settings.maxOpenBursts = 8
        settings.maxShapesPerBurst = 4
        var detector = NPlusOneDetector(settings: settings)
        for pid in 0..<1000 {
            for shape in 0..<10 {
                for _ in 0..<2 { detector.observe(Self.statement(pid: pid, at: 100, "f\(pid)-\(shape)")) }
            }
            #expect(detector.openBursts <= 8)
        }
        detector.closeAll()
        #expect(detector.totals.count == 3)
        #expect(detector.overflow > 0)
    }
}

/// N+1 through the slow-query ingester, from each log format's lines.
@Suite struct NPlusOneIngestTests {
    static func ingest(_ lines: [String], prefix: String = "%m [%p] %v ", format: PostgresLogFormat = .stderr) throws -> ([NPlusOneKey: NPlusOneTotals], Double) {
        let registry = MetricRegistry()
        let metrics = try SlowQueryMetrics(registry: registry)
        var ingester = SlowQueryIngester(
            settings: .init(format: format, prefix: LogLinePrefix(prefix), nPlusOne: .init()), metrics: metrics, logSink: { _ in })
        // The wall clock, later than the log's lines: a quiet poll completes the last burst.
        let now = 1_800_000_000.0
        for line in lines { ingester.ingest(line, now: now) }
        _ = ingester.endOfPoll(linesRead: lines.count, now: now)
        _ = ingester.endOfPoll(linesRead: 0, now: now)
        let bursts = ScrapedMetrics(String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self))
            .sum("pg_n_plus_one_bursts_total")
        return (ingester.takeNPlusOneChange() ?? [:], bursts)
    }

    static let comment = "/*framework='fastapi',route='%2Fmarkets%2F%7Bid%7D'*/"

    @Test func stderrWithVirtualTransactionIds() throws {
        var lines: [String] = []
        for request in 0..<3 {
            for index in 0..<20 {
                let millis = String(format: "%03d", request * 100 + index)
                lines.append("2026-11-24 12:00:00.\(millis) UTC [4242] 3/\(request + 10) LOG:  duration: 0.050 ms  statement: SELECT * FROM outcomes WHERE id = \(index + 7) \(Self.comment)")
            }
        }
        let (totals, bursts) = try Self.ingest(lines)
        let entry = try #require(totals.first { $0.key.route == "/markets/{id}" })
        #expect(entry.value.bursts == 3)
        #expect(entry.value.statements == 60)
        #expect(entry.value.shape == "SELECT * FROM outcomes WHERE id = $1")
        #expect(bursts == 3)
        #expect(!"\(totals)".contains("= 7"), "no literal")
    }

    @Test func csvlogAndJsonlogCarryTheTransaction() throws {
        var csv: [String] = []
        var json: [String] = []
        for index in 0..<6 {
            let time = "2026-11-24 12:00:00.00\(index) UTC"
            csv.append(#"\#(time),"app","shop",4242,"127.0.0.1:5000",6750a1b2.1092,\#(index + 1),"SELECT",2026-11-24 11:59:00 UTC,3/77,0,LOG,00000,"duration: 0.040 ms  statement: SELECT name FROM vendors WHERE id = \#(index)",,,,,,,,,"app",client backend,,0"#)
            json.append(#"{"timestamp":"\#(time)","user":"app","dbname":"shop","pid":4242,"vxid":"3/77","error_severity":"LOG","message":"duration: 0.040 ms  statement: SELECT name FROM vendors WHERE id = \#(index)","application_name":"app"}"#)
        }
        #expect(try Self.ingest(csv, format: .csvlog).0.first?.value.statements == 6)
        #expect(try Self.ingest(json, format: .jsonlog).0.first?.value.statements == 6)
    }

    @Test func statementsTaggedWithARouteAreCountedPerRouteAndBounded() throws {
        let registry = MetricRegistry()
        let metrics = try SlowQueryMetrics(registry: registry)
        var ingester = SlowQueryIngester(
            settings: .init(prefix: LogLinePrefix("%m [%p] %v "), nPlusOne: .init(), maxRoutes: 2), metrics: metrics, logSink: { _ in })
        func line(_ millis: Int, _ route: String?, duration: String = "2.000") -> String {
            let tag = route.map { " /*route='\($0)'*/" } ?? ""
            return "2026-11-24 12:00:00.\(String(format: "%03d", millis)) UTC [4242] 3/1 LOG:  duration: \(duration) ms  statement: SELECT 1\(tag)"
        }
        // Ids in a tagged path are templated as the timing log's routes are; a third route is past the cap.
        let lines = [line(1, "%2Fmarkets%2F42"), line(2, "/markets/7"), line(3, "/users/3", duration: "1.000"), line(4, "/orders"), line(5, nil)]
        for text in lines { ingester.ingest(text, now: 1_800_000_000) }
        // The end of a replayed file completes the record still waiting for a next line.
        ingester.finish()
        let scraped = ScrapedMetrics(String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self))
        #expect(scraped.sum("pg_route_statements_total", where: ["route": "/markets/{id}"]) == 2)
        #expect(abs(scraped.sum("pg_route_statement_seconds_total", where: ["route": "/markets/{id}"]) - 0.004) < 1e-9)
        #expect(scraped.sum("pg_route_statements_total", where: ["route": "/users/{id}"]) == 1)
        #expect(scraped.sum("pg_route_statements_total", where: ["route": "__other__"]) == 1)
        #expect(scraped.sum("vitals_slow_query_label_overflow_total", where: ["label": "route"]) == 1)
        #expect(ingester.span?.first == SlowQueryTime.parsePostgres("2026-11-24 12:00:00.001 UTC"))
        #expect(ingester.span?.last == SlowQueryTime.parsePostgres("2026-11-24 12:00:00.005 UTC"))
    }
}
