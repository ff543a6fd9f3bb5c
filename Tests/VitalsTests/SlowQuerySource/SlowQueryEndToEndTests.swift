import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Vitals

/// The slow-query source inside the application: fixture logs, a missing log, and a real Postgres.
@Suite struct SlowQueryEndToEndTests {
    static let literals = ["SECRET-LITERAL-9137", "987654321"]

    @Test func fixtureLogFeedsMetricsEndpointAndOutputFile() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/postgresql.log"
        let output = directory.path + "/slow.log"
        try (SlowQueryFixtures.stderrSessionPrefix + "\n").write(toFile: log, atomically: false, encoding: .utf8)
        let app = try makeTestApplication([
            ("slow-query.log-path", log), ("slow-query.log-line-prefix", "%m [%p] %q%u@%d "), ("slow-query.from-beginning", "true"),
            ("slow-query.poll-interval", "20ms"), ("slow-query.output", output), ("slow-query.output-format", "logfmt"),
            ("slow-query.threshold", "50ms"),
        ])
        try await app.test(.router) { client in
            var body = ""
            for _ in 0..<250 {
                body = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                // Status is recorded just after the poll's metrics: wait for both.
                if body.contains("pg_slow_queries_total{datname=\"app\",user=\"postgres\"} 4\n"),
                    body.contains("vitals_source_up{source=\"slow_query\",instance=\"\"} 1\n")
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(body.contains("pg_slow_queries_total{datname=\"app\",user=\"postgres\"} 4\n"))
            let sleep = StatementNormalizer().fingerprint("SELECT pg_sleep(0.06), 1 WHERE 42 = 42 AND 'SECRET-LITERAL-9137' <> 'x';")
            #expect(body.contains("pg_slow_query_duration_seconds_bucket{fingerprint=\"\(sleep.id)\",le=\"0.05\"} 0\n"))
            #expect(body.contains("pg_slow_query_duration_seconds_bucket{fingerprint=\"\(sleep.id)\",le=\"0.1\"} 1\n"))
            #expect(body.contains("vitals_source_up{source=\"slow_query\",instance=\"\"} 1\n"))
            #expect(body.contains("vitals_log_lines_total{source=\"slow_query\",result=\"unparsed\"} 0\n"))

            let (status, report) = try await client.execute(uri: "/slow-queries?limit=10", method: .get) { ($0.status, String(buffer: $0.body)) }
            #expect(status == .ok)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
            let queries = try #require(json["queries"] as? [[String: Any]])
            #expect(queries.count == 4)
            #expect(queries.first?["query"] as? String == "INSERT INTO sq_fixture SELECT g, $1 || g FROM generate_series($2, $3) g")
            #expect(queries.contains { $0["id"] as? String == sleep.id && $0["count"] as? Int == 1 })
            for literal in Self.literals { #expect(!report.contains(literal)) }
            let byCount = try await client.execute(uri: "/slow-queries?order=count&limit=1", method: .get) { String(buffer: $0.body) }
            #expect(byCount.contains("\"order\":\"count\""))
            let bad = try await client.execute(uri: "/slow-queries?order=nope", method: .get) { $0.status }
            #expect(bad == .badRequest)
        }
        let written = try String(contentsOfFile: output, encoding: .utf8)
        let lines = written.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.allSatisfy { $0.contains("msg=\"slow query\"") && $0.contains("plan=") })
        for literal in Self.literals { #expect(!written.contains(literal)) }
    }

    @Test func unreadableLogSaysWhatToUseOnManagedPostgres() async throws {
        let directory = try TemporaryDirectory()
        let app = try makeTestApplication([("slow-query.log-path", directory.path + "/missing/postgresql.log"), ("slow-query.poll-interval", "20ms")])
        try await app.test(.router) { client in
            var status = HTTPResponse.Status.ok
            var body = ""
            for _ in 0..<100 {
                (status, body) = try await client.execute(uri: "/ready", method: .get) { ($0.status, String(buffer: $0.body)) }
                if status == .serviceUnavailable && body.contains("\"reason\":\"not_found\"") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == .serviceUnavailable)
            #expect(body.contains("\"source\":\"slow_query\",\"state\":\"down\""))
            #expect(body.contains("cannot read the Postgres server log at \(directory.path)/missing/postgresql.log"))
            #expect(body.contains("pg_stat_statements_seconds_total"))
            #expect(body.contains("\"reason\":\"not_found\""))
        }
    }

    @Test func configurationIsValidated() {
        for (key, value) in [
            ("slow-query.log-format", "syslog"), ("slow-query.top-k", "0"), ("slow-query.output-format", "xml"),
            ("slow-query.max-statement-length", "1"),
        ] {
            #expect(throws: ConfigurationError.self) { _ = try makeTestApplication([("slow-query.log-path", "/tmp/x.log"), (key, value)]) }
        }
    }

    /// Against the private PostgreSQL of scripts/test-servers.sh: its log is stderr with
    /// `log_line_prefix = '%m [%p] %q%u@%d '`, `log_min_duration_statement = 50` and auto_explain.
    @Test func realPostgresSlowQueriesAndSequentialScans() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let dsn = environment["VITALS_TEST_PG_SUPERUSER_DSN"], let log = environment["VITALS_TEST_PG_LOG"] else {
            Issue.record(
                "VITALS_TEST_PG_SUPERUSER_DSN and VITALS_TEST_PG_LOG are not set: run the suite with scripts/test.sh, or `bash scripts/test-servers.sh start DIR && source DIR/env.sh` first")
            return
        }
        guard let psql = TestEnvironment.tool("psql", variable: "VITALS_TEST_PSQL") else {
            Issue.record("psql not found; run scripts/install-deps.sh")
            return
        }
        let directory = try TemporaryDirectory()
        let output = directory.path + "/slow.json"
        let table = "sq_it_\(UInt32.random(in: 0...UInt32.max))"
        let app = try makeTestApplication([
            ("slow-query.log-path", log), ("slow-query.log-line-prefix", "%m [%p] %q%u@%d "), ("slow-query.poll-interval", "20ms"),
            ("slow-query.output", output), ("slow-query.threshold", "1ms"),
        ])
        try await app.test(.router) { client in
            // The source starts at the end of the log: wait for its first poll.
            for _ in 0..<250 {
                let ready = try await client.execute(uri: "/ready", method: .get) { String(buffer: $0.body) }
                if ready.contains("\"source\":\"slow_query\",\"state\":\"up\"") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let script = """
                SET log_min_duration_statement = 0;
                SET auto_explain.log_min_duration = 0;
                CREATE TABLE \(table) (id int, note text);
                INSERT INTO \(table) SELECT g, 'note ' || g FROM generate_series(1, 20000) g;
                SELECT pg_sleep(0.06), 1 WHERE 42 = 42 AND 'SECRET-LITERAL-9137' <> 'x';
                SELECT pg_sleep(0.07), 2 WHERE 43 = 43 AND 'other' <> 'y';
                SELECT pg_sleep(0.06), 3 WHERE 987654321 = 987654321 AND 'z' <> 'SECRET-LITERAL-9137';
                SELECT count(*) FROM \(table) WHERE note = 'SECRET-LITERAL-9137' AND id <> 987654321;
                DROP TABLE \(table);

                """
            let (status, psqlOutput) = try await ChildProcess.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn], stdin: Data(script.utf8), timeout: .seconds(60))
            #expect(status == 0, "psql: \(psqlOutput)")

            let sleep = StatementNormalizer().fingerprint("SELECT pg_sleep(0.06), 1 WHERE 42 = 42 AND 'SECRET-LITERAL-9137' <> 'x';")
            let scan = StatementNormalizer().fingerprint("SELECT count(*) FROM \(table) WHERE note = 'x' AND id <> 1;")
            var body = ""
            for _ in 0..<500 {
                body = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                if body.contains("pg_slow_query_duration_seconds_count{fingerprint=\"\(sleep.id)\"} 3\n"),
                    body.contains("pg_slow_query_seq_scans_total{relation=\"\(table)\"}")
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let metrics = ScrapedMetrics(body)
            #expect(metrics.sum("pg_slow_query_duration_seconds_count", where: ["fingerprint": sleep.id]) == 3)
            // pg_sleep sets a floor on each duration, never a ceiling: a loaded machine may run them long.
            #expect(metrics.sum("pg_slow_query_duration_seconds_bucket", where: ["fingerprint": sleep.id, "le": "0.05"]) == 0)
            #expect(metrics.sum("pg_slow_query_duration_seconds_bucket", where: ["fingerprint": sleep.id, "le": "+Inf"]) == 3)
            let sum = metrics.sum("pg_slow_query_duration_seconds_sum", where: ["fingerprint": sleep.id])
            #expect(sum >= 0.19, "sum \(sum)")
            #expect(metrics.sum("pg_slow_query_duration_seconds_count", where: ["fingerprint": scan.id]) == 1)
            #expect(metrics.sum("pg_slow_query_seq_scans_total", where: ["relation": table]) >= 1)
            #expect(metrics.sum("pg_slow_queries_total", where: ["datname": "app", "user": "postgres"]) >= 5)
            for literal in Self.literals { #expect(!body.contains(literal)) }

            let report = try await client.execute(uri: "/slow-queries?order=count&limit=500", method: .get) { String(buffer: $0.body) }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
            let queries = try #require(json["queries"] as? [[String: Any]])
            let sleepEntry = try #require(queries.first { $0["id"] as? String == sleep.id })
            #expect(sleepEntry["count"] as? Int == 3)
            #expect(sleepEntry["query"] as? String == "SELECT pg_sleep($1), $2 WHERE $3 = $4 AND $5 <> $6")
            #expect((sleepEntry["p99_seconds"] as? Double ?? 0) >= 0.06)
            #expect((sleepEntry["max_seconds"] as? Double ?? 0) >= 0.07)
            let scanEntry = try #require(queries.first { $0["id"] as? String == scan.id })
            #expect(scanEntry["seq_scan_relations"] as? [String] == [table])
            for literal in Self.literals { #expect(!report.contains(literal)) }
        }
        let written = try String(contentsOfFile: output, encoding: .utf8)
        #expect(written.contains("\"fingerprint\":\"\(StatementNormalizer().fingerprint("SELECT pg_sleep(1), 1 WHERE 1 = 1 AND 'a' <> 'b';").id)\""))
        #expect(written.contains("Seq Scan on \(table)"))
        for literal in Self.literals { #expect(!written.contains(literal)) }
    }
}
