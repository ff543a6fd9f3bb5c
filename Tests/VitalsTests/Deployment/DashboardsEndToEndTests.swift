import Foundation
import Testing

/// A real Prometheus scrapes real vitals daemons (a starlette log with asyncio warnings, an nginx
/// log with statuses, and Postgres, Redis and the slow-query log when this build has those
/// sources) and loads deploy/prometheus/rules.yml. Then every panel query and every variable
/// query of every dashboard must return data, and every rule must evaluate without error.
@Suite(.serialized) struct DeploymentDashboardsEndToEndTests {
    /// Panels that may legitimately be empty in this test, with the reason.
    static let mayBeEmpty: [String: String] = [
        "vitals-redis / Memory used of maxmemory": "the test Redis runs without maxmemory (0 = no limit: the stat shows no data by design)",
        "vitals-postgres / I/O by backend type (PostgreSQL 16+)": "pg_stat_io has no series on this test's PostgreSQL 15",
        "vitals-overview / N+1 bursts per second by fingerprint":
            "this test's workload has no N+1 (the demo app's end-to-end test has one and checks /findings)",
    ]

    /// Panels that are empty on a Prometheus that keeps only native histograms, with the reason.
    static let mayBeEmptyNative: [String: String] = [
        "vitals-overview / Latency distribution": "a heatmap of the classic le buckets; Grafana draws native histograms in its own heatmap mode"
    ]

    /// Metrics whose presence decides which panels can be checked, by where they come from.
    enum Requirement: String {
        case postgres, redis, slowQuery = "slow_query", vitalsEventLoop = "vitals_event_loop_lag", appProbe = "app_probe"
    }

    static func requirement(of expr: String) -> Requirement? {
        if expr.contains("pg_slow_") || expr.contains("pg_route_") { return .slowQuery }
        // vitals_source_* panels of the Postgres and Redis dashboards.
        if expr.contains(#"source=~"postgres"#) { return .postgres }
        if expr.contains(#"source=~"redis"#) { return .redis }
        if expr.contains("pg_") { return .postgres }
        if expr.contains("redis_") { return .redis }
        if expr.contains("vitals_event_loop_lag") { return .vitalsEventLoop }
        if expr.contains("app_probe_") { return .appProbe }
        return nil
    }

    /// Appends request lines to the two logs until stopped.
    final class LogWriter: @unchecked Sendable {
        let starlette: FileHandle
        let nginx: FileHandle
        var tick = 0
        static let routes = [("GET", "/markets/%d"), ("GET", "/markets"), ("POST", "/markets/%d/applications"), ("GET", "/dashboard"), ("GET", "/health")]
        static let millis = [3.2, 12.5, 48.0, 95.1, 180.0, 260.4, 540.0, 1200.0, 7.7, 30.3, 150.0]

        init(starlette: String, nginx: String) throws {
            FileManager.default.createFile(atPath: starlette, contents: nil)
            FileManager.default.createFile(atPath: nginx, contents: nil)
            self.starlette = try FileHandle(forWritingTo: URL(fileURLWithPath: starlette))
            self.nginx = try FileHandle(forWritingTo: URL(fileURLWithPath: nginx))
        }

        func writeBatch() {
            var app = ""
            var access = ""
            for n in 0..<20 {
                let index = tick * 20 + n
                let (method, template) = Self.routes[index % Self.routes.count]
                let path = String(format: template, 1000 + index % 97)
                let ms = Self.millis[(index / Self.routes.count) % Self.millis.count]
                if ms > 200 {
                    app += "2026-11-22 12:00:00,000 WARNING app.middleware.timing SLOW REQUEST: \(method) \(path) took \(ms)ms\n"
                } else {
                    app += "2026-11-22 12:00:00,000 INFO app.middleware.timing \(method) \(path) completed in \(ms)ms\n"
                }
                let status = [200, 200, 201, 404, 500, 200, 503][index % 7]
                access += "127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] \"\(method) \(path) HTTP/1.1\" \(status) 512 \"-\" \"curl/8.0\" \(String(format: "%.3f", ms / 1000))\n"
            }
            if tick % 10 == 0 {
                app += "2026-11-22 12:00:00,000 WARNING asyncio Executing <Task pending name='Task-\(tick)' coro=<handler() running at /app/main.py:42>> took 0.\(3 + tick % 5)00 seconds\n"
            }
            tick += 1
            starlette.seekToEndOfFile()
            starlette.write(Data(app.utf8))
            nginx.seekToEndOfFile()
            nginx.write(Data(access.utf8))
        }
    }

    struct QueryResult {
        var ok: Bool
        var series: Int
        var error: String
    }

    static func query(_ base: String, _ promql: String) async -> QueryResult {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let encoded = promql.addingPercentEncoding(withAllowedCharacters: allowed)!
        guard let answer = await HTTPGet.fetch("\(base)/api/v1/query?query=\(encoded)", timeout: 10) else {
            return QueryResult(ok: false, series: 0, error: "no answer")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else {
            return QueryResult(ok: false, series: 0, error: "HTTP \(answer.status): \(answer.body.prefix(300))")
        }
        guard object["status"] as? String == "success" else {
            return QueryResult(ok: false, series: 0, error: "\(object["errorType"] ?? ""): \(object["error"] ?? "")")
        }
        let data = object["data"] as? [String: Any] ?? [:]
        let count: Int
        if let result = data["result"] as? [Any], data["resultType"] as? String != "scalar" {
            count = result.count
        } else {
            count = 1
        }
        return QueryResult(ok: true, series: count, error: "")
    }

    @Test(.timeLimit(.minutes(3)))
    func everyPanelQueryReturnsDataAndEveryRuleEvaluates() async throws {
        let environment = ProcessInfo.processInfo.environment
        let prometheusBinary = try DeploymentTools.prometheus()
        let flags = try await DeploymentTools.vitalsFlags()
        let directory = try TemporaryDirectory()
        let started = ContinuousClock.now
        var notes: [String] = []

        // Which sources this build has, and their settings from scripts/test.sh.
        var sources: Set<Requirement> = []
        var sourceArguments: [String] = []
        func optional(_ flag: String, _ value: String) { if flags.contains(flag) { sourceArguments += [flag, value] } }
        if flags.contains("--postgres.dsn") {
            let dsn = try #require(environment["VITALS_TEST_PG_DSN"], "this vitals has --postgres.dsn: run through scripts/test.sh (VITALS_TEST_PG_DSN)")
            sources.insert(.postgres)
            sourceArguments += ["--postgres.dsn", dsn]
            optional("--postgres.interval", "1s")
            optional("--postgres.slow-interval", "2s")
        } else {
            notes.append("postgres panels skipped: vitals has no --postgres.dsn")
        }
        if flags.contains("--redis.addr") {
            let address = try #require(environment["VITALS_TEST_REDIS_ADDR"], "this vitals has --redis.addr: run through scripts/test.sh (VITALS_TEST_REDIS_ADDR)")
            sources.insert(.redis)
            sourceArguments += ["--redis.addr", address]
            if let password = environment["VITALS_TEST_REDIS_PASSWORD"] { sourceArguments += ["--redis.password", password] }
            optional("--redis.interval", "1s")
        } else {
            notes.append("redis panels skipped: vitals has no --redis.addr")
        }
        if flags.contains("--slow-query.log-path") {
            let log = try #require(environment["VITALS_TEST_PG_LOG"], "this vitals has --slow-query.log-path: run through scripts/test.sh (VITALS_TEST_PG_LOG)")
            sources.insert(.slowQuery)
            // The test server's log_line_prefix (scripts/test-servers.sh).
            sourceArguments += ["--slow-query.log-path", log, "--slow-query.log-line-prefix", "%m [%p] %q%u@%d "]
            // The statements below are read within the test's seconds (the default waits 15 s).
            optional("--slow-query.poll-interval", "1s")
        } else {
            notes.append("slow-query panels skipped: vitals has no --slow-query.log-path")
        }

        // Give Postgres and Redis something to report: a user table, slow statements, keys with and without TTL.
        let psql = TestEnvironment.tool("psql", variable: "VITALS_TEST_PSQL")
        func runSQL(_ sql: String) async throws {
            guard let psql, let dsn = environment["VITALS_TEST_PG_DSN"] else { return }
            let (status, output) = try await ChildProcess.run(psql, ["-X", "-q", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql], timeout: .seconds(30))
            if status != 0 { notes.append("psql failed (\(status)): \(output.prefix(200))") }
        }
        // Slower than the test server's log_min_duration_statement (50 ms), with a sequential scan
        // that auto_explain logs: feeds the slow-query source once it tails the log. Its sqlcommenter
        // tag names a route of the timing log, for the per-route database panels.
        let slowStatement = "SELECT pg_sleep(0.06), count(*) FROM deployment_e2e WHERE note LIKE 'row 1%' /*route='%2Fmarkets%2F%7Bid%7D'*/;"
        if sources.contains(.postgres) || sources.contains(.slowQuery) {
            if psql == nil { notes.append("psql not found: Postgres table panels may be empty") }
            try await runSQL("""
                CREATE TABLE IF NOT EXISTS deployment_e2e (id int PRIMARY KEY, note text);
                INSERT INTO deployment_e2e SELECT g, 'row ' || g FROM generate_series(1, 500) g ON CONFLICT DO NOTHING;
                DELETE FROM deployment_e2e WHERE id % 10 = 0;
                """)
        }
        if sources.contains(.redis), let cli = TestEnvironment.tool("redis-cli", variable: "VITALS_TEST_REDIS_CLI"), let port = environment["VITALS_TEST_REDIS_PORT"] {
            var arguments = ["-h", "127.0.0.1", "-p", port, "--no-auth-warning", "-n", "15"]
            if let password = environment["VITALS_TEST_REDIS_PASSWORD"] { arguments += ["-a", password] }
            for command in [["SET", "deployment:e2e:ttl", "1", "EX", "600"], ["SET", "deployment:e2e:plain", "1"], ["GET", "deployment:e2e:plain"], ["GET", "deployment:e2e:missing"]] {
                _ = try await ChildProcess.run(cli, arguments + command, timeout: .seconds(10))
            }
        }

        // Logs and the two vitals daemons.
        let writer = try LogWriter(starlette: directory.path + "/app.log", nginx: directory.path + "/access.log")
        writer.writeBatch()
        let starlettePort = TestEnvironment.freePort()
        let nginxPort = TestEnvironment.freePort()
        // The application probe needs an HTTP app to probe: the second vitals stands in for it.
        if flags.contains("--app-probe.url") { sourceArguments += ["--app-probe.url", "http://127.0.0.1:\(nginxPort)/ready"] }
        // Samples for the lag panels within the test's minutes (the default probes every 15 s).
        optional("--event-loop.interval", "1s")
        let starletteVitals = try ChildProcess(
            DeploymentTools.vitalsBinary,
            ["--web.listen-address", "127.0.0.1:\(starlettePort)", "--timing-log.path", directory.path + "/app.log", "--timing-log.from-beginning",
             "--log.level", "warn"] + sourceArguments)
        let nginxVitals = try ChildProcess(
            DeploymentTools.vitalsBinary,
            ["--web.listen-address", "127.0.0.1:\(nginxPort)", "--timing-log.path", directory.path + "/access.log", "--timing-log.format", "nginx",
             "--timing-log.from-beginning", "--log.level", "warn"])
        let writing = Task {
            while !Task.isCancelled {
                writer.writeBatch()
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        defer { writing.cancel() }
        for port in [starlettePort, nginxPort] {
            _ = try #require(
                await HTTPGet.waitFor("http://127.0.0.1:\(port)/metrics", timeout: .seconds(30)),
                "vitals on \(port) did not answer: \(starletteVitals.output) \(nginxVitals.output)")
        }

        // Prometheus with the rules, scraping both every second.
        try DeploymentFiles.text("deploy/prometheus/rules.yml").write(toFile: directory.path + "/rules.yml", atomically: true, encoding: .utf8)
        try """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files: [rules.yml]
            scrape_configs:
              - job_name: vitals
                static_configs:
                  - targets: ["127.0.0.1:\(starlettePort)", "127.0.0.1:\(nginxPort)"]
            """.write(toFile: directory.path + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheusPort = TestEnvironment.freePort()
        let prometheus = try ChildProcess(
            prometheusBinary,
            ["--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/tsdb",
             "--web.listen-address=127.0.0.1:\(prometheusPort)", "--log.level=warn"])
        let base = "http://127.0.0.1:\(prometheusPort)"
        _ = try #require(await HTTPGet.waitFor(base + "/-/ready", timeout: .seconds(30)), "Prometheus did not start: \(prometheus.output)")
        // The same with native histograms on: Prometheus 2.42 then keeps only the native
        // http_request_duration_seconds (no _bucket, _count, _sum), and every rule and panel must
        // still answer.
        let nativePort = TestEnvironment.freePort()
        let nativePrometheus = try ChildProcess(
            prometheusBinary,
            ["--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/tsdb-native",
             "--web.listen-address=127.0.0.1:\(nativePort)", "--log.level=warn", "--enable-feature=native-histograms"])
        let nativeBase = "http://127.0.0.1:\(nativePort)"
        _ = try #require(
            await HTTPGet.waitFor(nativeBase + "/-/ready", timeout: .seconds(30)), "Prometheus (native histograms) did not start: \(nativePrometheus.output)")
        let scraping = ContinuousClock.now

        // Which optional metrics this vitals exposes.
        let metricsText = await HTTPGet.fetch("http://127.0.0.1:\(starlettePort)/metrics")?.body ?? ""
        if metricsText.contains("vitals_event_loop_lag_seconds") { sources.insert(.vitalsEventLoop) } else {
            notes.append("vitals event-loop lag panels skipped: vitals does not expose vitals_event_loop_lag_seconds yet")
        }
        if metricsText.contains("app_probe_duration_seconds") { sources.insert(.appProbe) } else {
            notes.append("app probe panels skipped: vitals does not expose app_probe_duration_seconds yet")
        }

        // Wait for 20 s of scrapes (rate windows of 1m need two samples; more makes them steadier)
        // and for the backend sources to report.
        let upBoth = await HTTPGet.waitFor(base + "/api/v1/query?query=count(up%7Bjob%3D%22vitals%22%7D%3D%3D1)", timeout: .seconds(30)) { status, body in
            status == 200 && body.contains("\"2\"")
        }
        #expect(upBoth != nil, "Prometheus does not scrape both vitals: \(prometheus.output)")
        let upNative = await HTTPGet.waitFor(nativeBase + "/api/v1/query?query=count(up%7Bjob%3D%22vitals%22%7D%3D%3D1)", timeout: .seconds(30)) { status, body in
            status == 200 && body.contains("\"2\"")
        }
        #expect(upNative != nil, "Prometheus (native histograms) does not scrape both vitals: \(nativePrometheus.output)")
        if sources.contains(.slowQuery) {
            for _ in 0..<3 {
                try await runSQL(slowStatement)
                try await Task.sleep(for: .seconds(2))
            }
        }
        try await Task.sleep(until: scraping + .seconds(20))
        if sources.contains(.postgres) {
            let up = await Self.query(base, "pg_up == 1")
            #expect(up.series > 0, "pg_up is not 1: \(starletteVitals.output)")
        }
        if sources.contains(.redis) {
            let up = await Self.query(base, "redis_up == 1")
            #expect(up.series > 0, "redis_up is not 1: \(starletteVitals.output)")
        }

        // Every panel query and every variable query, and every rule, on both Prometheus.
        var checked = 0
        var alertQueries = 0
        var skipped: [String] = []
        var excused: [String] = []
        var retried: [String] = []
        for (mode, base) in [("classic", base), ("native", nativeBase)] {
            var failures: [String] = []
            var retrying: Duration = .zero
            // The native Prometheus really keeps the native histogram and nothing else of it.
            let buckets = await Self.query(base, "http_request_duration_seconds_bucket")
            let native = await Self.query(base, "http_request_duration_seconds")
            #expect(mode == "native" ? buckets.series == 0 && native.series > 0 : buckets.series > 0 && native.series == 0, "\(mode): \(buckets.series) classic, \(native.series) native series")
            for dashboard in try DeploymentFiles.dashboards() {
                var queries = dashboard.targets.map { ("\($0.dashboard) / \($0.panel)", $0.refId, $0.expr) }
                for variable in dashboard.variables where variable["type"] as? String == "query" {
                    queries.append(("\(dashboard.uid) / $\(variable["name"] as? String ?? "?")", "variable", labelValuesSelector(variable["query"] as? String ?? "")))
                }
                for (panel, refId, expr) in queries {
                    if let needed = Self.requirement(of: expr), !sources.contains(needed) {
                        skipped.append("\(panel) [\(needed.rawValue)]")
                        continue
                    }
                    let promql = DeploymentPromQL.substitute(expr, values: ["__rate_interval": "1m"])
                    var result = await Self.query(base, promql)
                    let excuse = Self.mayBeEmpty[panel] ?? (mode == "native" ? Self.mayBeEmptyNative[panel] : nil)
                    // An instant selector is empty while the source's latest scrape lacked the family:
                    // one pass that failed on a loaded machine (CI once lost seven Postgres panels at
                    // once, with the server fine). Asked again each second, Prometheus scraping each
                    // second, within 20 s per Prometheus in all; a panel that stays empty fails, and
                    // each retry is printed below.
                    let firstAsked = ContinuousClock.now
                    while result.ok, result.series == 0, excuse == nil, retrying + (ContinuousClock.now - firstAsked) < .seconds(20) {
                        try await Task.sleep(for: .seconds(1))
                        result = await Self.query(base, promql)
                        if result.series > 0 { retried.append("\(panel) \(refId) (\(mode)) after \(ContinuousClock.now - firstAsked)") }
                    }
                    retrying += ContinuousClock.now - firstAsked
                    checked += 1
                    if !result.ok {
                        failures.append("\(panel) \(refId): error \(result.error)\n    \(promql)")
                    } else if result.series == 0 {
                        if let reason = excuse {
                            excused.append("\(panel) (\(mode)): \(reason)")
                        } else {
                            failures.append("\(panel) \(refId) (\(mode)): no series (asked again each second; \(retrying) of retries for this Prometheus)\n    \(promql)")
                        }
                    }
                }
            }
            #expect(
                failures.isEmpty,
                "\(failures.count) dashboard queries failed (\(mode)):\n\(failures.joined(separator: "\n"))\nvitals (warn and above): \(starletteVitals.output.suffix(3000))")
            #expect(checked >= 30, "only \(checked) queries checked")

            // Every rule evaluates: the rules API reports no error, and each expression runs through the query API.
            let rulesAnswer = try #require(await HTTPGet.fetch(base + "/api/v1/rules"))
            let rulesObject = try JSONSerialization.jsonObject(with: Data(rulesAnswer.body.utf8)) as? [String: Any] ?? [:]
            let groups = ((rulesObject["data"] as? [String: Any])?["groups"] as? [[String: Any]]) ?? []
            let loaded = groups.flatMap { $0["rules"] as? [[String: Any]] ?? [] }
            let expected = try DeploymentPrometheusRulesTests.rules()
            #expect(loaded.count == expected.count, "Prometheus loaded \(loaded.count) rules of \(expected.count)")
            for rule in loaded where rule["health"] as? String == "err" {
                Issue.record("rule \(rule["name"] ?? "?") failed: \(rule["lastError"] ?? "")")
            }
            for rule in expected {
                let expr = rule["expr"] as? String ?? ""
                let result = await Self.query(base, expr)
                #expect(result.ok, "rule \(rule["alert"] ?? rule["record"] ?? "?") does not evaluate (\(mode)): \(result.error)")
                alertQueries += 1
            }
            // The recording rules produce the per-route percentiles and SLIs from this traffic.
            for record in ["job_route:http_request_duration_seconds:p99_rate5m", "job_route:http_requests:slo_ratio_rate5m", "job:http_request_slo_errors:ratio_rate5m",
                           "job_route:http_requests_5xx:ratio_rate5m"] {
                let result = await Self.query(base, record)
                #expect(result.series > 0, "recording rule \(record) has no data (\(mode))")
            }
            // Every route here has 2 in 11 requests over 500 ms at 40 requests/s: both p99 alerts'
            // conditions hold, so they fire after their `for`, whichever histogram Prometheus keeps.
            for name in ["HTTPRouteP99LatencyHigh", "HTTPRouteP99LatencyAboveSLO"] {
                let expr = try #require(expected.first { $0["alert"] as? String == name }?["expr"] as? String)
                let result = await Self.query(base, expr)
                #expect(result.series >= LogWriter.routes.count, "\(name) would not fire (\(mode)): \(result.series) series")
            }
        }
        print("""
            Deployment end-to-end: \(checked) dashboard queries returned data, \(alertQueries) rule expressions evaluated, \
            in \(ContinuousClock.now - started).
            Skipped (source or metric not in this build): \(skipped.count)\(skipped.isEmpty ? "" : "\n  " + skipped.joined(separator: "\n  "))
            Allowed empty: \(excused.isEmpty ? "none" : excused.joined(separator: "; "))
            Empty at first, then answered: \(retried.isEmpty ? "none" : retried.joined(separator: "; "))
            Notes: \(notes.isEmpty ? "none" : notes.joined(separator: "; "))
            """)

        writing.cancel()
        for child in [prometheus, nativePrometheus, starletteVitals, nginxVitals] {
            child.signal(SIGTERM)
            _ = await child.wait(timeout: .seconds(20))
        }
    }
}
