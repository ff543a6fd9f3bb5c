import Foundation
import Logging
import NIOPosix
import Testing

@testable import Vitals

@Suite struct PageHistoryTests {
    static func observation(_ route: String, rate: Double, p95: Double? = 0.05) -> PageHistory.Observation {
        PageHistory.Observation(route: route, p50: 0.01, p95: p95, p99: 0.1, rate: rate)
    }

    @Test func aRingOfTheLatestPointsOldestFirst() {
        var history = PageHistory(capacity: 3, maxRoutes: 5)
        for index in 0..<5 { history.append(time: Double(index) * 15, [Self.observation("GET /a", rate: Double(index + 1))]) }
        #expect(history.times == [30, 45, 60])
        let series = history.series(limit: 10)
        #expect(series.map(\.route) == ["GET /a"])
        #expect(series.first?.rate == [3, 4, 5])
        #expect(series.first?.p95.compactMap { $0 }.allSatisfy { abs($0 - 0.05) < 1e-6 } == true)
    }

    @Test func eachPointKeepsTheBusiestRoutesAndGapsAreNil() {
        var history = PageHistory(capacity: 10, maxRoutes: 2)
        history.append(time: 0, [Self.observation("GET /a", rate: 10), Self.observation("GET /b", rate: 5), Self.observation("GET /c", rate: 1)])
        history.append(time: 15, [Self.observation("GET /a", rate: 10), Self.observation("GET /c", rate: 7), Self.observation("GET /idle", rate: 0)])
        let series = history.series(limit: 10)
        #expect(series.map(\.route) == ["GET /a", "GET /c", "GET /b"])
        #expect(series[1].rate == [nil, 7])
        #expect(series[2].rate == [5, nil])
        #expect(history.series(limit: 1).map(\.route) == ["GET /a"])
    }

    @Test func aQuantileWithoutRequestsIsAGapNotZero() {
        var history = PageHistory(capacity: 4, maxRoutes: 2)
        history.append(time: 0, [Self.observation("GET /a", rate: 1, p95: nil)])
        #expect(history.series(limit: 1).first?.p95 == [nil])
    }

    @Test func routeChurnNeverGrowsTheNameTablePastTheBudget() {
        var history = PageHistory(capacity: 4, maxRoutes: 2)
        for index in 0..<1000 {
            history.append(time: Double(index), [Self.observation("GET /r\(2 * index)", rate: 2), Self.observation("GET /r\(2 * index + 1)", rate: 1)])
            #expect(history.namesHeld <= 4 * 2)
        }
        // What is left is exactly the last four points' routes, still named right.
        #expect(Set(history.series(limit: 100).map(\.route)) == Set((1992..<2000).map { "GET /r\($0)" }))
        #expect(history.budgetBytes < 10_000)
    }

    @Test func longNamesAreCutToTheLimit() {
        var history = PageHistory(capacity: 2, maxRoutes: 1)
        history.append(time: 0, [Self.observation("GET /" + String(repeating: "x", count: 1000), rate: 1)])
        #expect((history.series(limit: 1).first?.route.utf8.count ?? 0) <= PageHistory.maxNameLength)
    }

    @Test func theDefaultBudgetIsAboutAMegabyte() {
        // An hour at 15 s with 20 routes per point: 240 × 20 samples, and as many names at worst.
        let history = PageHistory(capacity: 240, maxRoutes: 20)
        #expect(history.budgetBytes > 500_000 && history.budgetBytes < 2_000_000)
    }
}

@Suite struct PageSummaryTests {
    static let bounds: [Double] = [0.01, 0.05, 0.1, 0.2, 0.5, 1]

    static func frame(_ time: Double, routes: [String: HistogramCounts] = [:], scalars: [String: [MetricFrame.Scalar]] = [:]) -> MetricFrame {
        var frame = MetricFrame(time: time)
        frame.routes = routes
        frame.scalars = scalars
        return frame
    }

    static func counts(fast: UInt64, slow: UInt64) -> HistogramCounts {
        HistogramCounts(bounds: bounds, counts: [0, fast, 0, 0, 0, slow], sum: Double(fast) * 0.03 + Double(slow) * 0.8, count: fast + slow)
    }

    @Test func routesOverTheWindowAgainstTheTarget() {
        let earliest = Self.frame(0, routes: ["GET /slow": Self.counts(fast: 100, slow: 0), "GET /fast": Self.counts(fast: 50, slow: 0)])
        let latest = Self.frame(
            60, routes: ["GET /slow": Self.counts(fast: 190, slow: 10 + 100 * 0), "GET /fast": Self.counts(fast: 650, slow: 0), "GET /new": Self.counts(fast: 3, slow: 0)])
        let summary = PageSummary(earliest: earliest, latest: latest, settings: FindingSettings())
        #expect(summary.routes.map(\.name) == ["GET /fast", "GET /slow", "GET /new"])
        let slow = summary.routes[1]
        #expect(slow.requests == 200)
        #expect(slow.windowRequests == 100)
        #expect(abs(slow.ratePerSecond - 100.0 / 60) < 1e-9)
        // 90 fast and 10 slow in the window: the p95 is in the slow bucket, over 200 ms.
        #expect((slow.p95 ?? 0) > 0.5)
        #expect(slow.overTarget)
        #expect(!summary.routes[0].overTarget)
        #expect(!summary.routes[2].overTarget, "3 requests are too few to call it")
    }

    @Test func cacheConnectionsAndCounterResets() {
        func scalar(_ value: Double, _ labels: [String: String] = [:]) -> MetricFrame.Scalar { MetricFrame.Scalar(labels: labels, value: value) }
        let earliest = Self.frame(0, scalars: ["redis_keyspace_hits_total": [scalar(1000)], "redis_keyspace_misses_total": [scalar(500)]])
        let latest = Self.frame(
            10,
            scalars: [
                // Redis restarted: hits went down, so the increase counts from zero.
                "redis_keyspace_hits_total": [scalar(30)], "redis_keyspace_misses_total": [scalar(570)],
                "pg_connections_used": [scalar(12)], "pg_connections_max": [scalar(100)],
                "pg_stat_activity_count": [
                    scalar(5, ["datname": "app", "state": "idle"]), scalar(2, ["datname": "other", "state": "idle"]),
                    scalar(3, ["datname": "app", "state": "active"]),
                ],
            ])
        let summary = PageSummary(earliest: earliest, latest: latest, settings: FindingSettings())
        #expect(summary.cache?.hitRatio == 0.3)
        #expect(summary.cache?.low == true)
        #expect(summary.cache?.missesPerSecond == 7)
        #expect(summary.connections?.used == 12)
        #expect(summary.connections?.byState.map(\.state) == ["idle", "active"])
        #expect(summary.connections?.byState.map(\.sessions) == [7, 3])
        #expect(summary.eventLoop == nil, "no event-loop source: no card")
    }

    @Test func theJSONParsesAndCarriesTheNumbers() throws {
        let earliest = Self.frame(0, routes: ["GET /a": Self.counts(fast: 0, slow: 0)])
        let latest = Self.frame(30, routes: ["GET /a": Self.counts(fast: 30, slow: 0)])
        var history = PageHistory(capacity: 10, maxRoutes: 5)
        history.append(time: 30, PageSummary.observations(from: earliest, to: latest))
        let finding = Finding(kind: .nPlusOne, subject: "fp1", evidence: [.init("bursts", 3, unit: "count", window: 300)], action: "batch", impactSecondsPerMinute: 1.5)
        let summary = PageSummary(earliest: earliest, latest: latest, settings: FindingSettings(), findings: [finding], findingsEvaluatedAt: 30, history: history)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(summary.json().utf8)) as? [String: Any])
        let routes = try #require(object["routes"] as? [[String: Any]])
        #expect(routes.first?["route"] as? String == "GET /a")
        #expect(routes.first?["requests"] as? Int == 30)
        #expect(routes.first?["rate_per_second"] as? Double == 1)
        let findings = try #require((object["findings"] as? [String: Any])?["findings"] as? [[String: Any]])
        #expect(findings.first?["kind"] as? String == "n_plus_one")
        let charted = try #require((object["history"] as? [String: Any])?["routes"] as? [[String: Any]])
        #expect((charted.first?["rate_per_second"] as? [Double]) == [1])
        #expect(object["cache"] is NSNull)
    }
}

@Suite struct PageHTMLTests {
    @Test(arguments: [
        (0.000_42, "0.42 ms"), (0.0042, "4.2 ms"), (0.182, "182 ms"), (1.25, "1.25 s"), (12.3, "12.3 s"), (nil, "–"), (Double.nan, "–"),
    ] as [(Double?, String)])
    func durationsAreForPeople(seconds: Double?, text: String) {
        #expect(HumanUnits.duration(seconds) == text)
    }

    @Test func rates() {
        #expect(HumanUnits.rate(0) == "0/s")
        #expect(HumanUnits.rate(0.05) == "3.0/min")
        #expect(HumanUnits.rate(2.5) == "2.5/s")
        #expect(HumanUnits.rate(340.4) == "340/s")
    }

    static func summary(routes: [String: HistogramCounts], findings: [Finding] = []) -> PageSummary {
        let earliest = PageSummaryTests.frame(0)
        let latest = PageSummaryTests.frame(60, routes: routes)
        var history = PageHistory(capacity: 10, maxRoutes: 5)
        history.append(time: 30, PageSummary.observations(from: earliest, to: PageSummaryTests.frame(30, routes: routes.mapValues { _ in PageSummaryTests.counts(fast: 10, slow: 0) })))
        history.append(time: 60, PageSummary.observations(from: PageSummaryTests.frame(30, routes: routes.mapValues { _ in PageSummaryTests.counts(fast: 10, slow: 0) }), to: latest))
        return PageSummary(earliest: earliest, latest: latest, settings: FindingSettings(), findings: findings, findingsEvaluatedAt: 60, history: history)
    }

    @Test func hostileNamesAreEscapedEverywhere() {
        let hostile = "GET /<script>alert(1)</script>\"'&"
        let finding = Finding(kind: .routeOverTarget, subject: hostile, evidence: [], action: "<img src=x onerror=alert(1)>", impactSecondsPerMinute: nil)
        let html = PageHTML(summary: Self.summary(routes: [hostile: PageSummaryTests.counts(fast: 100, slow: 0)], findings: [finding]), refreshSeconds: 15, links: [("/metrics", "metrics")]).render()
        #expect(!html.contains("<script>alert"))
        #expect(!html.contains("<img"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"))
        #expect(html.components(separatedBy: "<script>").count == 2, "only the page's own script")
    }

    @Test func redOnlyWhereSomethingIsWrong() throws {
        let healthy = PageHTML(summary: Self.summary(routes: ["GET /ok": PageSummaryTests.counts(fast: 100, slow: 0)]), refreshSeconds: 15, links: []).render()
        #expect(!healthy.contains("class=\"bad\""))
        #expect(!healthy.contains("p95 over"))
        let slow = PageHTML(summary: Self.summary(routes: ["GET /slow": PageSummaryTests.counts(fast: 50, slow: 50)]), refreshSeconds: 15, links: []).render()
        #expect(slow.components(separatedBy: "class=\"bad\"").count - 1 == 1, "the one p95 over target")
        #expect(slow.contains("p95 over"), "and its chart line")
        // The red copy is clipped to the band above the target line: only the stretches over it
        // are red, and the whole line is still drawn in its own colour.
        #expect(slow.contains("<path class=\"p95\" d=\"M"))
        let targetY = try #require(slow.firstRange(of: "<line class=\"target\" x1=\"44.0\" y1=\"").map { slow[$0.upperBound...].prefix { $0 != "\"" } })
        #expect(slow.contains("<clipPath id=\"over0\"><rect x=\"0\" y=\"0\" width=\"\(Int(PageHTML.chartWidth))\" height=\"\(targetY)\"/></clipPath>"))
        #expect(slow.contains("<path class=\"p95 over\" clip-path=\"url(#over0)\" d=\"M"))
    }

    @Test func chartsHavePointsAndTheTargetLine() throws {
        let html = PageHTML(summary: Self.summary(routes: ["GET /a": PageSummaryTests.counts(fast: 100, slow: 0)]), refreshSeconds: 15, links: []).render()
        #expect(html.contains("<line class=\"target\""))
        let p95 = try #require(html.firstRange(of: "<path class=\"p95\" d=\""))
        let d = html[p95.upperBound...].prefix { $0 != "\"" }
        #expect(d.hasPrefix("M") && d.contains("L"), "two points joined: \(d)")
    }
}

/// With findings on, the page takes each findings evaluation's frame: one gather serves both, and
/// the page shows the findings of the very evaluation its numbers come from.
@Suite struct PageFedByFindingsTests {
    static func defaults() throws -> ConfigurationValues {
        try ConfigurationLoader(keys: VitalsConfiguration.allKeys).load(flags: [], environment: [:], file: nil)
    }

    /// A page with the default settings (findings on), and the request counter its frames read.
    static func page() throws -> (PageService, SourceContext, CounterFamily) {
        let values = try defaults()
        let registry = MetricRegistry()
        let context = SourceContext(
            registry: registry, health: SourceHealthBoard(), logger: Logger(label: "test"), eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
        let requests = try registry.counter("http_requests_total", help: "test", labels: ["method", "route"])
        let page = PageService(
            configuration: try PageConfiguration(values: values), findings: try FindingsConfiguration(values: values), context: context,
            telemetryPath: "/metrics")
        return (page, context, requests)
    }

    @Test func eachFindingsEvaluationGivesThePageItsFrame() throws {
        let (page, context, requests) = try Self.page()
        let findings = FindingsService(configuration: try FindingsConfiguration(values: try Self.defaults()), context: context)
        for (index, time) in [1000.0, 1015, 1030].enumerated() {
            requests.increment(["GET", "/a"], by: Double(index + 1))
            findings.evaluate(now: time)
        }
        let summary = page.summary()
        // Three frames from the three evaluations: two history points between them, the last at
        // the last evaluation's time, and the findings' time is that same evaluation's.
        #expect(summary.historyTimes == [1015, 1030])
        #expect(summary.findingsEvaluatedAt == 1030)
    }

    /// A frame only extends the history; the summary is built by the first request after it, so a
    /// page nobody opens costs no summary each interval, and it is kept until the next frame.
    @Test func theSummaryIsBuiltWhenAskedAndKeptUntilTheNextFrame() throws {
        let (page, context, requests) = try Self.page()
        let registry = context.registry
        requests.increment(["GET", "/a"])
        page.collect(MetricFrame.gathered(from: registry, time: 1000), now: 1000)
        // Made after the frame: a summary built with the frame would not know it.
        _ = context.health.makeStatus(source: "late")
        let first = page.summary()
        #expect(first.generatedAt == 1000)
        #expect(first.sources.contains { $0.source == "late" })
        _ = context.health.makeStatus(source: "later")
        #expect(!page.summary().sources.contains { $0.source == "later" }, "kept until the next frame")
        requests.increment(["GET", "/a"])
        page.collect(MetricFrame.gathered(from: registry, time: 1015), now: 1015)
        let next = page.summary()
        #expect(next.generatedAt == 1015)
        #expect(next.historyTimes == [1015])
        #expect(next.sources.contains { $0.source == "later" })
    }
}
