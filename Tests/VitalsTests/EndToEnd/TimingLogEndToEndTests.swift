import Foundation
import Testing

/// Runs the real `vitals` binary on a generated log and checks it with the real promtool and Prometheus.
@Suite(.serialized) struct TimingLogEndToEndTests {
    struct Truth: Decodable {
        var n: Int
        var p50: Double
        var p95: Double
        var p99: Double
    }

    static let lineCount = 1_000_000

    /// Generates the log and its ground truth with the project's own generator.
    static func generate(into directory: String) async throws -> [String: Truth] {
        let log = directory + "/app.log"
        let truthFile = directory + "/truth.json"
        let (status, output) = try await ChildProcess.run(
            "/usr/bin/env",
            ["python3", TestEnvironment.repositoryRoot + "/scripts/gen-timing-log.py", "\(lineCount)", "7", "--truth", truthFile, "--append", log])
        try #require(status == 0, "generator failed: \(output)")
        return try JSONDecoder().decode([String: Truth].self, from: Data(contentsOf: URL(fileURLWithPath: truthFile)))
    }

    @Test func daemonCountsEveryLineAndItsPercentilesMatchTheTruth() async throws {
        let directory = try TemporaryDirectory()
        let truth = try await Self.generate(into: directory.path)
        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            ["--web.listen-address", "127.0.0.1:\(port)", "--timing-log.path", directory.path + "/app.log", "--timing-log.from-beginning", "--log.level", "warn"])
        let url = "http://127.0.0.1:\(port)/metrics"
        let answer = await HTTPGet.waitFor(url, timeout: .seconds(120)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") >= Double(Self.lineCount)
        }
        let body = try #require(answer?.body, "vitals never counted all lines; output: \(daemon.output)")
        let metrics = ScrapedMetrics(body)

        // The count equals the lines written, and every line parsed.
        #expect(metrics.sum("http_requests_total") == Double(Self.lineCount))
        #expect(metrics.sum("vitals_log_lines_total", where: ["result": "parsed"]) == Double(Self.lineCount))
        #expect(metrics.sum("vitals_log_lines_total", where: ["result": "unparsed"]) == 0)
        #expect(metrics.sum("http_request_duration_seconds_count") == Double(Self.lineCount))

        // promtool's linter accepts the exposition.
        let promtool = try #require(TestEnvironment.tool("promtool", variable: "VITALS_TEST_PROMTOOL"), "promtool not installed")
        let (lintStatus, lintOutput) = try await ChildProcess.run(promtool, ["check", "metrics"], stdin: Data(body.utf8))
        #expect(lintStatus == 0, "promtool check metrics: \(lintOutput)")

        // p50/p95/p99 from the scraped buckets, as Prometheus computes them, are within 5 % of the truth.
        for (key, expected) in truth {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            let buckets = metrics.values("http_request_duration_seconds_bucket", where: ["method": parts[0], "route": parts[1]])
                .map { (le: Double($0.labels["le"]!.replacingOccurrences(of: "+Inf", with: "inf"))!, count: $0.value) }
            try #require(!buckets.isEmpty, "no histogram for \(key)")
            for (q, truthValue) in [(0.5, expected.p50), (0.95, expected.p95), (0.99, expected.p99)] {
                let estimate = ScrapedMetrics.quantile(q, buckets: buckets)
                let error = abs(estimate - truthValue) / truthValue
                #expect(error <= 0.05, "\(key) p\(Int(q * 100)): estimate \(estimate), truth \(truthValue), error \(error * 100)%")
            }
        }

        // Two real Prometheus servers scrape vitals: one as shipped (text format, classic buckets), one
        // with native histograms on, which negotiates protobuf and ingests the exponential buckets.
        let classic = try Self.startPrometheus(scraping: port, in: directory.path + "/classic", nativeHistograms: false)
        let native = try Self.startPrometheus(scraping: port, in: directory.path + "/native", nativeHistograms: true)
        let classicQuantiles = try await Self.queryPerRoute(
            "histogram_quantile(0.99, sum by (le, method, route) (http_request_duration_seconds_bucket{job=\"vitals\"}))",
            prometheus: classic, routes: truth.count)
        for (key, expected) in truth {
            let value = try #require(classicQuantiles[key], "no p99 for \(key) from Prometheus")
            #expect(abs(value - expected.p99) / expected.p99 <= 0.05, "\(key): Prometheus p99 \(value), truth \(expected.p99)")
        }
        // Native histograms (schema 5) are held to 2 % on every route and percentile.
        for (q, truthValue) in [(0.5, \Truth.p50), (0.95, \Truth.p95), (0.99, \Truth.p99)] {
            let nativeQuantiles = try await Self.queryPerRoute(
                "histogram_quantile(\(q), sum by (method, route) (http_request_duration_seconds{job=\"vitals\"}))",
                prometheus: native, routes: truth.count)
            for (key, expected) in truth {
                let value = try #require(nativeQuantiles[key], "no native p\(Int(q * 100)) for \(key) from Prometheus")
                let error = abs(value - expected[keyPath: truthValue]) / expected[keyPath: truthValue]
                #expect(error <= 0.02, "\(key) native p\(Int(q * 100)): Prometheus \(value), truth \(expected[keyPath: truthValue])")
            }
        }
        classic.process.signal(SIGTERM)
        native.process.signal(SIGTERM)
        _ = await classic.process.wait(timeout: .seconds(30))
        _ = await native.process.wait(timeout: .seconds(30))

        // SIGTERM shuts the daemon down gracefully.
        daemon.signal(SIGTERM)
        let exitStatus = await daemon.wait(timeout: .seconds(30))
        #expect(exitStatus == 0, "vitals did not exit cleanly on SIGTERM: \(daemon.output)")
    }

    struct RunningPrometheus {
        var process: ChildProcess
        var port: Int
    }

    static func startPrometheus(scraping target: Int, in directory: String, nativeHistograms: Bool) throws -> RunningPrometheus {
        let binary = try #require(TestEnvironment.tool("prometheus", variable: "VITALS_TEST_PROMETHEUS"), "prometheus not installed")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let port = TestEnvironment.freePort()
        try """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: vitals
                static_configs:
                  - targets: ["127.0.0.1:\(target)"]
            """.write(toFile: directory + "/prometheus.yml", atomically: false, encoding: .utf8)
        var arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/tsdb",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        if nativeHistograms { arguments.append("--enable-feature=native-histograms") }
        return RunningPrometheus(process: try ChildProcess(binary, arguments), port: port)
    }

    /// Runs an instant query until it returns a sample for every route; keys are "METHOD /route".
    static func queryPerRoute(_ query: String, prometheus: RunningPrometheus, routes: Int) async throws -> [String: Double] {
        let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let result = await HTTPGet.waitFor("http://127.0.0.1:\(prometheus.port)/api/v1/query?query=\(encoded)", timeout: .seconds(90)) { status, body in
            status == 200 && body.components(separatedBy: "\"route\"").count - 1 >= routes
        }
        let body = try #require(result?.body, "Prometheus never answered \(query); output: \(prometheus.process.output)")
        let decoded = try JSONDecoder().decode(PrometheusVectorResponse.self, from: Data(body.utf8))
        #expect(decoded.status == "success")
        var values: [String: Double] = [:]
        for sample in decoded.data.result {
            guard let method = sample.metric["method"], let route = sample.metric["route"], let value = Double(sample.value[1].text) else { continue }
            values["\(method) \(route)"] = value
        }
        return values
    }

    @Test func replayPrintsTheSameCounts() async throws {
        let directory = try TemporaryDirectory()
        let truth = try await Self.generate(into: directory.path)
        let (status, output) = try await ChildProcess.run(
            TestEnvironment.vitalsBinary, ["replay", "--timing-log.format", "starlette", directory.path + "/app.log"])
        #expect(status == 0)
        let metrics = ScrapedMetrics(output)
        #expect(metrics.sum("http_requests_total") == Double(Self.lineCount))
        for (key, expected) in truth {
            let parts = key.split(separator: " ", maxSplits: 1).map(String.init)
            #expect(metrics.sum("http_requests_total", where: ["method": parts[0], "route": parts[1]]) == Double(expected.n))
        }
    }

    @Test func badFlagExitsWithStatusTwoAndNamesIt() async throws {
        let (status, output) = try await ChildProcess.run(TestEnvironment.vitalsBinary, ["--timing-log.slow-threshold", "soon"])
        #expect(status == 2)
        #expect(output.contains("timing-log.slow-threshold"))
        let (versionStatus, version) = try await ChildProcess.run(TestEnvironment.vitalsBinary, ["--version"])
        #expect(versionStatus == 0)
        #expect(version.hasPrefix("vitals "))
    }
}

struct PrometheusVectorResponse: Decodable {
    struct Sample: Decodable {
        var metric: [String: String]
        var value: [ScalarOrString]
    }

    struct ResultData: Decodable {
        var result: [Sample]
    }

    /// Prometheus encodes a sample as `[<unix time number>, "<value string>"]`.
    struct ScalarOrString: Decodable {
        var text: String
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let string = try? container.decode(String.self) {
                text = string
            } else {
                text = String(try container.decode(Double.self))
            }
        }
    }

    var status: String
    var data: ResultData
}

@Suite struct SignalEndToEndTests {
    @Test func sighupReloadsInsteadOfStopping() async throws {
        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:\(port)"])
        try #require(await HTTPGet.waitFor("http://127.0.0.1:\(port)/health") != nil, "vitals did not start: \(daemon.output)")
        daemon.signal(SIGHUP)
        var logged = false
        for _ in 0..<100 where !logged {
            logged = daemon.output.contains("SIGHUP")
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(logged, "no reload logged: \(daemon.output)")
        #expect(await HTTPGet.fetch("http://127.0.0.1:\(port)/health")?.status == 200)
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
    }
}
