import Foundation
import Testing

@testable import Vitals

@Suite struct TimingLogIngesterTests {
    func ingest(_ lines: [String], parser: any TimingLineParser = StarletteLineParser(), maxRoutes: Int = 200, routes: [String] = [])
        throws -> (MetricRegistry, TimingLogMetrics)
    {
        let registry = MetricRegistry()
        let metrics = try TimingLogMetrics(registry: registry, buckets: [0.01, 0.1, 0.2, 1], withStatus: parser.hasStatus)
        var ingester = TimingLogIngester(parser: parser, routes: routes, maxRoutes: maxRoutes, slowThreshold: 0.2, metrics: metrics)
        for line in lines {
            Array(line.utf8).withUnsafeBytes { ingester.ingest($0) }
        }
        ingester.flush(oversizedLines: 2)
        return (registry, metrics)
    }

    @Test func countsBothStarletteFormsAndTheSlowOnes() throws {
        let (_, metrics) = try ingest([
            "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms",
            "2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /markets/43 took 250.1ms",
            "2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 200.0ms",
            "not a request",
        ])
        #expect(metrics.requests.value(["GET", "/markets/{id}"]) == 2)
        #expect(metrics.slowRequests.value(["GET", "/markets/{id}"]) == 1)
        // Exactly at the threshold is not slow: "under 200 ms" and the le="0.2" bucket agree.
        #expect(metrics.slowRequests.value(["GET", "/dashboard"]) == 0)
        #expect(metrics.log.lines.value(["timing_log", "parsed"]) == 3)
        #expect(metrics.log.lines.value(["timing_log", "unparsed"]) == 1)
        #expect(metrics.log.lines.value(["timing_log", "oversized"]) == 2)
        let histogram = try #require(metrics.requestDuration.accumulator(["GET", "/markets/{id}"]))
        #expect(histogram.bucketCounts == [0, 1, 0, 1])
        #expect(histogram.count == 2)
    }

    /// The default layout's promise, as a property: no step wider than 21 %, so a classic quantile
    /// is never off by more than that; the usual objectives are exact bounds.
    @Test func defaultBucketsAreEvenlyFineAndKeepTheObjectives() {
        let bounds = TimingLogConfiguration.defaultBuckets
        #expect(zip(bounds, bounds.dropFirst()).allSatisfy { $0 < $1 })
        #expect(TimingLogConfiguration.defaultBucketsWidestStep <= 0.21)
        #expect(TimingLogConfiguration.defaultBucketsWidestStep > 0.2, "the documented worst case is the real one")
        for objective in [0.1, 0.2, 0.25, 0.3, 0.5, 1] { #expect(bounds.contains(objective)) }
        #expect(bounds.first == 0.0005 && bounds.last == 10)
    }

    /// A log file is read every 2 s by default; standard input every second unless set, since its
    /// pipe's writer blocks once 64 KiB wait unread.
    @Test func pollIntervalDefaultsToTwoSecondsForFilesAndOneForStandardInput() throws {
        func interval(_ settings: [String: String]) throws -> Duration {
            try TimingLogConfiguration(values: try ConfigurationValues.make(keys: TimingLogConfiguration.keys, settings)).pollInterval
        }
        #expect(try interval(["timing-log.path": "/var/log/app.log"]) == .seconds(2))
        #expect(try interval(["timing-log.path": "-"]) == .seconds(1))
        #expect(try interval(["timing-log.path": "-", "timing-log.poll-interval": "3s"]) == .seconds(3))
        #expect(try interval(["timing-log.path": "/var/log/app.log", "timing-log.poll-interval": "500ms"]) == .milliseconds(500))
    }

    /// A declared route's series exist at 0 before its first request, so rate() counts that request.
    @Test func declaredRoutesStartAtZero() throws {
        let values = try ConfigurationValues.make(keys: TimingLogConfiguration.keys, ["timing-log.route": "GET /orders/{id}"])
        let configuration = try TimingLogConfiguration(values: values)
        #expect(configuration.routes == ["/orders/{id}"])
        #expect(configuration.declaredRoutes == [.init(method: "GET", route: "/orders/{id}")])
        for parser in [StarletteLineParser(), NginxLineParser()] as [any TimingLineParser] {
            let registry = MetricRegistry()
            let metrics = try TimingLogMetrics(registry: registry, buckets: [0.1, 0.2], withStatus: parser.hasStatus)
            _ = TimingLogIngester(
                parser: parser, routes: configuration.routes, declared: configuration.declaredRoutes, maxRoutes: 10, slowThreshold: 0.2, metrics: metrics)
            let scraped = ScrapedMetrics(String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self))
            let requests = scraped.values("http_requests_total", where: ["method": "GET", "route": "/orders/{id}"])
            #expect(requests.count == (parser.hasStatus ? 3 : 1))
            #expect(requests.allSatisfy { $0.value == 0 })
            #expect(scraped.values("http_request_duration_seconds_count", where: ["route": "/orders/{id}"]).count == requests.count)
            #expect(scraped.sum("vitals_timing_log_routes") == 1)
        }
        for bad in ["orders", "FETCH /orders", "GET /a /b"] {
            #expect(throws: ConfigurationError.self) {
                try TimingLogConfiguration(values: try ConfigurationValues.make(keys: TimingLogConfiguration.keys, ["timing-log.route": bad]))
            }
        }
    }

    @Test func routeCapSendsNewRoutesToOther() throws {
        let lines = (0..<10).map { "x INFO t GET /page\($0)/view completed in 1.0ms" }
        let (_, metrics) = try ingest(lines + ["x INFO t GET /page0/view completed in 1.0ms"], maxRoutes: 3)
        #expect(metrics.requests.value(["GET", "/page0/view"]) == 2)
        #expect(metrics.requests.value(["GET", "/page2/view"]) == 1)
        #expect(metrics.requests.value(["GET", "/page3/view"]) == 0)
        #expect(metrics.requests.value(["GET", TimingLogIngester.otherRoute]) == 7)
        #expect(metrics.routeOverflow.value() == 7)
        #expect(metrics.routes.value() == 3)
    }

    @Test func userTemplatesWinAndUnknownMethodsAreBounded() throws {
        let (_, metrics) = try ingest(
            [
                "x INFO t GET /files/report.pdf completed in 1.0ms",
                "x INFO t BREW /files/a.txt completed in 1.0ms",
            ], routes: ["/files/{name}"])
        #expect(metrics.requests.value(["GET", "/files/{name}"]) == 1)
        #expect(metrics.requests.value(["OTHER", "/files/{name}"]) == 1)
    }

    @Test func statusClassesWhenTheFormatHasAStatus() throws {
        let (_, metrics) = try ingest(
            [
                #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /a/1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012"#,
                #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /a/2 HTTP/1.1" 503 0 "-" "curl/8.0" 0.300"#,
            ], parser: NginxLineParser())
        #expect(metrics.requests.value(["GET", "/a/{id}", "2xx"]) == 1)
        #expect(metrics.requests.value(["GET", "/a/{id}", "5xx"]) == 1)
        #expect(metrics.slowRequests.value(["GET", "/a/{id}", "5xx"]) == 1)
    }

    @Test func asyncioBlockedLoopWarningsFeedTheirHistogram() throws {
        let (_, metrics) = try ingest([
            "2026-11-22 12:00:00,003 WARNING asyncio Executing <Task pending name='Task-7' coro=<handler() running at app.py:10>> took 0.523 seconds"
        ])
        #expect(metrics.eventLoopBlockedTotal.value() == 1)
        #expect(metrics.eventLoopBlocked.accumulator()?.count == 1)
    }

    @Test func replayCountsALastLineWithoutNewline() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/app.log"
        try "x INFO t GET /a completed in 1.0ms\nx INFO t GET /a completed in 2.0ms".write(toFile: path, atomically: false, encoding: .utf8)
        let output = String(decoding: try TimingLogReplay.run(files: [path], values: try .make(keys: TimingLogConfiguration.keys)), as: UTF8.self)
        #expect(output.contains("http_requests_total{method=\"GET\",route=\"/a\"} 2\n"))
        #expect(throws: (any Error).self) { try TimingLogReplay.run(files: [directory.path + "/missing.log"], values: try .make(keys: TimingLogConfiguration.keys)) }
    }
}
