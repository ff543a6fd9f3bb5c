import Foundation
import Testing

@testable import Vitals

@Suite struct SlowQueryAggregatorTests {
    func fingerprint(_ n: Int) -> StatementFingerprint { StatementFingerprint(id: "id\(n)", text: "SELECT \(n)", isTruncated: false) }

    @Test func firstSightFillsTopKThenOthersShareOneSeries() {
        var aggregator = SlowQueryAggregator(configuration: .init(topK: 2, maxFingerprints: 100))
        #expect(aggregator.record(fingerprint(1), seconds: 0.1, at: 1) == "id1")
        #expect(aggregator.record(fingerprint(2), seconds: 0.1, at: 1) == "id2")
        #expect(aggregator.record(fingerprint(3), seconds: 5, at: 1) == "__other__")
        #expect(aggregator.record(fingerprint(1), seconds: 0.2, at: 2) == "id1")
        // Re-ranking by total time promotes id3 and drops the weakest member.
        #expect(aggregator.rerankIfDue(now: 0).isEmpty)  // the first call only starts the interval
        #expect(aggregator.rerankIfDue(now: 30).isEmpty)
        #expect(aggregator.rerankIfDue(now: 61) == ["id2"])
        #expect(aggregator.members == ["id1", "id3"])
        #expect(aggregator.record(fingerprint(2), seconds: 0.1, at: 3) == "__other__")
        let stats = aggregator.table["id1"]!
        #expect(stats.count == 2)
        #expect(abs(stats.totalSeconds - 0.3) < 1e-12)
        #expect(stats.maxSeconds == 0.2)
        #expect(stats.lastSeen == 2)
        #expect(aggregator.top(order: .total, limit: 1).map(\.id) == ["id3"])
        #expect(aggregator.top(order: .count, limit: 2).map(\.id) == ["id1", "id2"])
    }

    @Test func tableIsBoundedAndEvictsTheLeastTotalTimeButNeverMembers() {
        var aggregator = SlowQueryAggregator(configuration: .init(topK: 3, maxFingerprints: 50))
        for n in 0..<10_000 { _ = aggregator.record(fingerprint(n), seconds: Double(n % 97) / 1000, at: 0) }
        #expect(aggregator.table.count <= 50)
        #expect(aggregator.evictions >= 9_950)
        for member in ["id0", "id1", "id2"] { #expect(aggregator.table[member] != nil) }
    }

    @Test func sketchQuantileIsClose() {
        var sketch = SlowQueryLatencySketch()
        for i in 1...1000 { sketch.observe(Double(i) / 1000) }  // 1 ms … 1 s uniform
        let p99 = sketch.quantile(0.99, maximum: 1.0)
        #expect(abs(p99 - 0.99) / 0.99 < 0.1, "p99 \(p99)")
        let p50 = sketch.quantile(0.5, maximum: 1.0)
        #expect(abs(p50 - 0.5) / 0.5 < 0.1, "p50 \(p50)")
        var one = SlowQueryLatencySketch()
        one.observe(0.07)
        #expect(one.quantile(0.99, maximum: 0.07) <= 0.07)
        #expect(SlowQueryLatencySketch().quantile(0.99, maximum: 0) == 0)
    }

    @Test func correlatorPairsPlansWithTheirExecutionInBothOrders() {
        var correlator = SlowQueryCorrelator(normalizer: StatementNormalizer())
        var out: [(SlowQueryEntry, StatementFingerprint)] = []
        let entries = SlowQueryParse.entries(SlowQueryFixtures.stderrSessionPrefix)
        for entry in entries { correlator.accept(entry) { out.append(($0, $1)) } }
        correlator.flush { out.append(($0, $1)) }
        // 16 records: 4 simple-protocol (plan + statement) pairs, incl. EXECUTE of a PREPARE; 2 extended
        // ones (parse, bind, execute + plan).
        #expect(out.map(\.0.kind) == [.statement, .statement, .statement, .statement, .parse, .bind, .execute, .parse, .bind, .execute])
        #expect(out[0].0.plan?.line == "Result")
        #expect(out[3].0.plan != nil)  // EXECUTE p1(…) paired by timing with the PREPARE's plan
        #expect(out[6].0.plan?.sequentialScans == ["sq_fixture"])
        #expect(out[9].0.plan?.sequentialScans == ["sq_fixture"])
        // An unpaired plan is an entry of its own.
        var lone = SlowQueryCorrelator(normalizer: StatementNormalizer())
        var alone: [SlowQueryEntry] = []
        let plan = SlowQueryEntry(kind: .plan, durationSeconds: 0.07, statement: Array("SELECT 1".utf8), plan: PlanSummary(nodes: [.init(type: "Result")]), pid: 9)
        let other = SlowQueryEntry(kind: .statement, durationSeconds: 0.2, statement: Array("CREATE INDEX i ON t (a)".utf8), pid: 9)
        lone.accept(plan) { entry, _ in alone.append(entry) }
        lone.accept(other) { entry, _ in alone.append(entry) }
        #expect(alone.map(\.kind) == [.plan, .statement])
        #expect(alone[1].plan == nil)
    }

    @Test func timestampsAndReport() throws {
        #expect(SlowQueryTime.parsePostgres("2026-11-24 16:46:25.639 UTC") == 1_795_538_785.639)
        #expect(SlowQueryTime.parsePostgres("2026-11-24 18:46:25 +02") == 1_795_538_785)
        #expect(SlowQueryTime.parsePostgres("2026-11-24 13:16:25 -03:30") == 1_795_538_785)
        #expect(SlowQueryTime.parsePostgres("2026-11-24 16:46:25 CEST") == nil)
        #expect(SlowQueryTime.parsePostgres("garbage") == nil)
        #expect(SlowQueryTime.iso8601(1_795_538_785.639) == "2026-11-24T16:46:25.639Z")
        #expect(SlowQueryTime.iso8601(0) == "1970-01-01T00:00:00.000Z")

        var aggregator = SlowQueryAggregator()
        _ = aggregator.record(fingerprint(1), seconds: 0.5, at: 1_795_538_785.639, database: "app", user: "web", sequentialScans: ["orders"])
        _ = aggregator.record(fingerprint(2), seconds: 0.1, at: 1_795_538_785, database: "app", user: "web")
        _ = aggregator.record(fingerprint(2), seconds: 0.1, at: 1_795_538_786, database: "app", user: "web")
        let report = SlowQueryReport(aggregator: aggregator)
        let (status, body) = report.response(query: ["order": "count", "limit": "1"])
        #expect(status == 200)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let queries = try #require(json["queries"] as? [[String: Any]])
        #expect(queries.count == 1)
        #expect(queries[0]["id"] as? String == "id2")
        #expect(queries[0]["count"] as? Int == 2)
        #expect(queries[0]["last_seen"] as? String == "2026-11-24T16:46:26.000Z")
        let byTotal = report.render(order: .total, limit: 10)
        #expect(byTotal.contains("\"id\":\"id1\",\"count\":1,\"total_seconds\":0.500000,\"mean_seconds\":0.500000,\"max_seconds\":0.500000"))
        #expect(byTotal.contains("\"seq_scan_relations\":[\"orders\"]"))
        #expect(report.response(query: ["order": "bogus"]).status == 400)
        #expect(report.response(query: ["limit": "0"]).status == 400)
    }

    @Test func logLineFormats() {
        let line = SlowQueryLogLine(
            time: "2026-11-24T16:46:25.639Z", fingerprint: "0123456789abcdef", durationSeconds: 0.061021, phase: "execute", database: "app",
            user: "web", statement: "SELECT * FROM t WHERE id = $1", plan: "Seq Scan on t (rows=5)", sequentialScans: ["t"])
        #expect(
            line.formatted(.json)
                == #"{"ts":"2026-11-24T16:46:25.639Z","msg":"slow query","fingerprint":"0123456789abcdef","duration_seconds":"0.061021","phase":"execute","database":"app","user":"web","statement":"SELECT * FROM t WHERE id = $1","plan":"Seq Scan on t (rows=5)","seq_scans":"t"}"#
        )
        #expect(
            line.formatted(.logfmt)
                == #"ts=2026-11-24T16:46:25.639Z msg="slow query" fingerprint=0123456789abcdef duration_seconds=0.061021 phase=execute database=app user=web statement="SELECT * FROM t WHERE id = $1" plan="Seq Scan on t (rows=5)" seq_scans=t"#
        )
    }
}

@Suite struct SlowQueryIngesterTests {
    @Test func feedsMetricsStatsAndLogLinesWithoutLiterals() throws {
        let registry = MetricRegistry()
        let metrics = try SlowQueryMetrics(registry: registry)
        var lines: [SlowQueryLogLine] = []
        var ingester = SlowQueryIngester(
            settings: .init(prefix: LogLinePrefix("%m [%p] %q%u@%d "), thresholdSeconds: 0.05, aggregator: .init(topK: 2), maxLabelValues: 1),
            metrics: metrics, logSink: { lines.append($0) })
        var count = 0
        for line in SlowQueryFixtures.stderrSessionPrefix.split(separator: "\n") {
            ingester.ingest(String(line), now: 0)
            count += 1
        }
        _ = ingester.endOfPoll(linesRead: count, now: 100)
        _ = ingester.endOfPoll(linesRead: 0, now: 101)  // the quiet poll completes the last record
        let report = SlowQueryReport(aggregator: ingester.aggregator)

        // Above 50 ms: two pg_sleep statements, the INSERT, the EXECUTE (each with its plan); the
        // 43 ms/48 ms pgbench executions and the sub-millisecond parse/bind are below the threshold.
        #expect(report.tracked == 4)
        let texts = Set(report.byTotal.map(\.text))
        #expect(texts.contains("SELECT pg_sleep($1), $2 WHERE $3 = $4 AND $5 <> $6"))
        #expect(texts.contains("SELECT pg_sleep($1), $2 WHERE $3 = $4"))
        #expect(texts.contains("EXECUTE p1($1)"))
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.plan != nil })
        #expect(metrics.queries.value(["app", "postgres"]) == 4)
        let first = try #require(lines.first)
        #expect(metrics.duration.accumulator([first.fingerprint])?.count == 1)
        #expect(metrics.duration.accumulator(["__other__"])?.count == 2)  // top-K of 2: the rest share __other__
        #expect(metrics.log.lines.value(["slow_query", "parsed"]) == Double(count))
        for line in lines {
            let text = line.formatted(.json) + line.formatted(.logfmt)
            #expect(!text.contains("SECRET-LITERAL-9137") && !text.contains("987654321") && !text.contains("pg_sleep(0.06"))
        }
        let body = report.render(order: .total, limit: 50)
        #expect(!body.contains("SECRET") && !body.contains("987654321"))
    }

    @Test func parseAndBindCountApartAndRelationsAreBounded() throws {
        let registry = MetricRegistry()
        let metrics = try SlowQueryMetrics(registry: registry)
        var ingester = SlowQueryIngester(settings: .init(maxLabelValues: 1), metrics: metrics, logSink: { _ in })
        let log = """
            2026-01-01 00:00:00.000 UTC [1] LOG:  duration: 2.000 ms  parse s1: SELECT 1
            2026-01-01 00:00:00.001 UTC [1] LOG:  duration: 3.000 ms  bind s1: SELECT 1
            2026-01-01 00:00:00.002 UTC [2] LOG:  duration: 90.000 ms  plan:
            \tQuery Text: SELECT * FROM a, b
            \tNested Loop  (cost=0.00..1.00 rows=1 width=8)
            \t  ->  Seq Scan on a  (cost=0.00..1.00 rows=1 width=4)
            \t  ->  Seq Scan on b  (cost=0.00..1.00 rows=1 width=4)
            2026-01-01 00:00:00.003 UTC [2] LOG:  duration: 91.000 ms  statement: SELECT * FROM a, b
            """
        for line in log.split(separator: "\n") { ingester.ingest(String(line), now: 0) }
        _ = ingester.endOfPoll(linesRead: 8, now: 0)
        _ = ingester.endOfPoll(linesRead: 0, now: 1)
        #expect(metrics.phases.accumulator(["parse"])?.count == 1)
        #expect(metrics.phases.accumulator(["bind"])?.count == 1)
        #expect(metrics.sequentialScans.value(["a"]) == 1)
        #expect(metrics.sequentialScans.value(["__other__"]) == 1)
        #expect(metrics.labelOverflow.value(["relation"]) == 1)
        #expect(ingester.aggregator.table.count == 1)
    }

    /// Ingests stderr lines and completes them; returns the slow-query log lines.
    func logLines(_ lines: [String]) throws -> [SlowQueryLogLine] {
        var logged: [SlowQueryLogLine] = []
        var ingester = SlowQueryIngester(settings: .init(), metrics: try SlowQueryMetrics(registry: MetricRegistry()), logSink: { logged.append($0) })
        for line in lines { ingester.ingest(line, now: 0) }
        _ = ingester.endOfPoll(linesRead: lines.count, now: 0)
        _ = ingester.endOfPoll(linesRead: 0, now: 1)
        return logged
    }

    /// Found while writing Fuzz/FuzzPostgresLog's checks on the log lines: a `duration:` of 32
    /// digits passed the parser (finite, not negative) and trapped converting microseconds to Int
    /// when the log line was formatted.
    @Test func aForgedHugeDurationIsLoggedNotTrapped() throws {
        let lines = try logLines(["2026-01-01 00:00:00.000 UTC [1] LOG:  duration: " + String(repeating: "9", count: 32) + " ms  statement: SELECT 1"])
        let line = try #require(lines.first)
        #expect(line.durationSeconds > 1e25)
        let logged = try #require(line.fields.first { $0.0 == "duration_seconds" }?.1)
        // Still six decimals without an exponent, and the same number read back.
        #expect(!logged.contains("e") && logged.split(separator: ".").last?.count == 6)
        #expect(Double(logged) == line.durationSeconds)
        var aggregator = SlowQueryAggregator()
        _ = aggregator.record(StatementFingerprint(id: line.fingerprint, text: line.statement, isTruncated: false), seconds: line.durationSeconds, at: 0)
        #expect(SlowQueryReport(aggregator: aggregator).render(order: .total, limit: 1).contains("\"total_seconds\":\(logged)"))
    }

    /// Found while writing Fuzz/FuzzPostgresLog's checks on the log lines: logfmt escaped `\r` and
    /// `\n` Character by Character, and a CR LF pair is one Character, so a statement written with
    /// CR LF line ends inside a quoted identifier put a raw line break into the one-line log.
    @Test func logfmtEscapesACarriageReturnLineFeedPair() throws {
        let lines = try logLines([
            "2026-01-01 00:00:00.000 UTC [1] LOG:  duration: 1.000 ms  statement: SELECT \"a\r",
            "\tb\" FROM t",
        ])
        let line = try #require(lines.first)
        #expect(line.statement.contains("\r\n"))
        for format in SlowQueryLogLine.Format.allCases {
            let text = line.formatted(format)
            #expect(!text.utf8.contains(0x0A) && !text.utf8.contains(0x0D), "\(format): \(text)")
            #expect(text.contains(#"a\r\nb"#))
        }
    }
}
