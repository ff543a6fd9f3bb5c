import Testing

@testable import Vitals

/// The rules from tables of frames: no sources, no clock.
@Suite struct FindingRulesTests {
    static let bounds: [Double] = [0.01, 0.05, 0.1, 0.2, 0.5, 1]

    /// A route histogram with `fast` requests in the 10–50 ms bucket and `slow` in 0.5–1 s.
    static func route(fast: UInt64, slow: UInt64) -> HistogramCounts {
        HistogramCounts(bounds: bounds, counts: [0, fast, 0, 0, 0, slow], sum: Double(fast) * 0.03 + Double(slow) * 0.8, count: fast + slow)
    }

    static func frame(_ time: Double, routes: [String: HistogramCounts] = [:], scalars: [String: [MetricFrame.Scalar]] = [:]) -> MetricFrame {
        var frame = MetricFrame(time: time)
        frame.routes = routes
        frame.scalars = scalars
        return frame
    }

    static func scalar(_ value: Double, _ labels: [String: String] = [:]) -> MetricFrame.Scalar {
        MetricFrame.Scalar(labels: labels, value: value)
    }

    static func evaluate(_ earliest: MetricFrame, _ latest: MetricFrame, previous: MetricFrame? = nil, settings: FindingSettings = FindingSettings()) -> [Finding] {
        FindingRules.evaluate(FindingInputs(earliest: earliest, previous: previous ?? earliest, latest: latest), settings: settings)
    }

    struct RouteRow: Sendable, CustomTestStringConvertible {
        let name: String
        /// Requests added in the window: fast (30 ms) and slow (0.8 s).
        let fast: UInt64
        let slow: UInt64
        let found: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        RouteRow(name: "all fast", fast: 1000, slow: 0, found: false),
        RouteRow(name: "4 % slow: p95 still fast", fast: 960, slow: 40, found: false),
        RouteRow(name: "10 % slow: p95 over 200 ms", fast: 900, slow: 100, found: true),
        RouteRow(name: "all slow but too few requests to trust", fast: 0, slow: 19, found: false),
        RouteRow(name: "all slow, enough requests", fast: 0, slow: 20, found: true),
    ])
    func routeOverTarget(_ row: RouteRow) throws {
        // The window's own requests count, not what came before it.
        let before = Self.route(fast: 0, slow: 5000)
        var after = before
        after.add(Self.route(fast: row.fast, slow: row.slow))
        let findings = Self.evaluate(Self.frame(0, routes: ["GET /markets/{id}": before]), Self.frame(300, routes: ["GET /markets/{id}": after]))
        let route = findings.first { $0.kind == .routeOverTarget }
        #expect((route != nil) == row.found)
        if let route {
            #expect(route.subject == "GET /markets/{id}")
            let p95 = try #require(route.evidence.first { $0.name == "p95_seconds" })
            #expect(p95.value > 0.5 && p95.value <= 1)
            // Excess × traffic: (p95 − 0.2 s) × requests per minute.
            let perMinute = Double(row.fast + row.slow) / 5
            #expect(abs((route.impactSecondsPerMinute ?? 0) - (p95.value - 0.2) * perMinute) < 1e-9)
        }
    }

    @Test func aSlowRouteSaysWhereItsTimeGoesInTheDatabase() throws {
        // 100 requests on two methods of one path, 0.8 s each; sqlcommenter tagged 2,100 statements
        // worth 48 s with the path: 21 statements and 0.48 s (60 %) per request.
        let routes = ["GET /markets/{id}": Self.route(fast: 0, slow: 80), "POST /markets/{id}": Self.route(fast: 0, slow: 20)]
        let before = [
            "pg_route_statements_total": [Self.scalar(900, ["route": "/markets/{id}"])],
            "pg_route_statement_seconds_total": [Self.scalar(2, ["route": "/markets/{id}"])],
        ]
        let after = [
            "pg_route_statements_total": [Self.scalar(3000, ["route": "/markets/{id}"]), Self.scalar(50, ["route": "/health"])],
            "pg_route_statement_seconds_total": [Self.scalar(50, ["route": "/markets/{id}"]), Self.scalar(1, ["route": "/health"])],
        ]
        let found = Self.evaluate(Self.frame(0, scalars: before), Self.frame(300, routes: routes, scalars: after))
        let route = try #require(found.first { $0.subject == "GET /markets/{id}" })
        func evidence(_ name: String) -> Double? { route.evidence.first { $0.name == name }?.value }
        #expect(evidence("statements_per_request") == 21)
        #expect(abs((evidence("database_seconds_per_request") ?? 0) - 0.48) < 1e-9)
        #expect(abs((evidence("database_share") ?? 0) - 0.6) < 1e-9)
        #expect(route.action.contains("60 % of its time in the database, in about 21 statements per request"))
        // Without tags, nothing is guessed.
        let untagged = Self.evaluate(Self.frame(0), Self.frame(300, routes: routes)).first { $0.subject == "GET /markets/{id}" }
        #expect(untagged?.evidence.contains { $0.name == "statements_per_request" } == false)
    }

    /// Misses that rise and fall with a slow route's latency, interval by interval, are a cache
    /// finding on that route even when the hit ratio over the window is fine.
    @Test(arguments: [(true, true), (false, false)])
    func cacheMissesThatTrackARouteAreAFinding(correlated: Bool, found: Bool) throws {
        var frames: [MetricFrame] = []
        var route = Self.route(fast: 0, slow: 0)
        var hits = 0.0
        var misses = 0.0
        for index in 0..<13 {
            let bad = index % 3 == 0
            // Every interval: 40 requests; bad ones are slow. Misses go with them, or against them.
            if index > 0 { route.add(bad ? Self.route(fast: 30, slow: 10) : Self.route(fast: 38, slow: 2)) }
            if index > 0 { misses += (bad == correlated) ? 300 : 20 }
            hits += 5000
            frames.append(
                Self.frame(
                    Double(index) * 15, routes: ["GET /markets/{id}": route],
                    scalars: [
                        "redis_keyspace_hits_total": [Self.scalar(hits, ["target": "cache:6379"])],
                        "redis_keyspace_misses_total": [Self.scalar(misses, ["target": "cache:6379"])],
                    ]))
        }
        let inputs = FindingInputs(earliest: frames[0], previous: frames[frames.count - 2], latest: frames[frames.count - 1], frames: frames)
        let findings = FindingRules.evaluate(inputs, settings: FindingSettings())
        #expect(findings.contains { $0.kind == .routeOverTarget && $0.subject == "GET /markets/{id}" })
        #expect(!findings.contains { $0.kind == .cacheIneffective && $0.route == nil }, "the hit ratio over the window is fine")
        let tracked = findings.first { $0.kind == .cacheIneffective && $0.route == "GET /markets/{id}" }
        #expect((tracked != nil) == found)
        if let tracked {
            #expect(tracked.subject == "cache:6379 for GET /markets/{id}")
            #expect((tracked.evidence.first { $0.name == "misses_latency_correlation" }?.value ?? 0) > 0.99)
        }
    }

    @Test func pearsonOfFlatSeriesIsNothing() {
        #expect(FindingRules.pearson([(1, 2), (1, 3), (1, 4)]) == nil)
        #expect(FindingRules.pearson([(1, 2), (2, 4), (3, 6)]).map { abs($0 - 1) < 1e-12 } == true)
        #expect(FindingRules.pearson([(1, 6), (2, 4), (3, 2)]).map { abs($0 + 1) < 1e-12 } == true)
    }

    @Test func theTargetAndQuantileAreSettings() {
        var settings = FindingSettings()
        settings.targetLatency = 1.5
        let latest = Self.frame(300, routes: ["GET /a": Self.route(fast: 0, slow: 100)])
        #expect(Self.evaluate(Self.frame(0), latest, settings: settings).isEmpty)
        settings.targetLatency = 0.02
        settings.targetQuantile = 0.5
        let found = Self.evaluate(Self.frame(0), Self.frame(300, routes: ["GET /a": Self.route(fast: 100, slow: 0)]), settings: settings)
        #expect(found.first?.evidence.first?.name == "p50_seconds")
    }

    @Test func theOverflowRouteIsNeverAFinding() {
        let latest = Self.frame(300, routes: ["GET __other__": Self.route(fast: 0, slow: 100)])
        #expect(Self.evaluate(Self.frame(0), latest).isEmpty)
    }

    struct CacheRow: Sendable, CustomTestStringConvertible {
        let name: String
        let hits: Double
        let misses: Double
        let found: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        CacheRow(name: "90 % hits", hits: 900, misses: 100, found: false),
        CacheRow(name: "20 % hits with volume", hits: 200, misses: 800, found: true),
        CacheRow(name: "20 % hits, but 50 lookups in 5 minutes", hits: 10, misses: 40, found: false),
    ])
    func cacheHitRatio(_ row: CacheRow) {
        let earliest = Self.frame(0, scalars: ["redis_keyspace_hits_total": [Self.scalar(1000)], "redis_keyspace_misses_total": [Self.scalar(10)]])
        let latest = Self.frame(
            300, scalars: ["redis_keyspace_hits_total": [Self.scalar(1000 + row.hits)], "redis_keyspace_misses_total": [Self.scalar(10 + row.misses)]])
        let finding = Self.evaluate(earliest, latest).first { $0.kind == .cacheIneffective }
        #expect((finding != nil) == row.found)
        #expect(finding.map { abs($0.evidence[0].value - row.hits / (row.hits + row.misses)) < 1e-12 } ?? true)
    }

    @Test func evictionsCountOnlyUnderMaxmemory() {
        let target = ["target": "cache:6379"]
        func frames(maxmemory: Double) -> [Finding] {
            Self.evaluate(
                Self.frame(0, scalars: ["redis_evicted_keys_total": [Self.scalar(5, target)]]),
                Self.frame(300, scalars: ["redis_evicted_keys_total": [Self.scalar(65, target)], "redis_memory_max_bytes": [Self.scalar(maxmemory, target)]]))
        }
        let found = frames(maxmemory: 1_048_576).first { $0.kind == .cacheEvictions }
        #expect(found?.subject == "cache:6379")
        #expect(found?.evidence.first?.value == 12)
        #expect(frames(maxmemory: 0).isEmpty)
    }

    @Test func connectionsIdleTransactionsAndLocks() {
        let app = ["datname": "app"]
        let latest = Self.frame(
            300,
            scalars: [
                "pg_connections_used_ratio": [Self.scalar(0.9)], "pg_connections_used": [Self.scalar(90)], "pg_connections_max": [Self.scalar(100)],
                "pg_stat_activity_idle_in_transaction_max_seconds": [Self.scalar(120, app), Self.scalar(5, ["datname": "other"])],
                "pg_stat_activity_lock_waiting_sessions": [Self.scalar(2, app)],
            ])
        let waitingBefore = Self.frame(285, scalars: ["pg_stat_activity_lock_waiting_sessions": [Self.scalar(1, app)]])
        let calm = Self.frame(285, scalars: ["pg_stat_activity_lock_waiting_sessions": [Self.scalar(0, app)]])
        let kinds = Self.evaluate(Self.frame(0), latest, previous: waitingBefore).map(\.kind)
        #expect(Set(kinds) == [.connectionsNearLimit, .idleInTransaction, .lockWaits])
        #expect(Self.evaluate(Self.frame(0), latest, previous: waitingBefore).filter { $0.kind == .idleInTransaction }.map(\.subject) == ["app"])
        // A single frame of lock waits is a blip, not a finding.
        #expect(!Self.evaluate(Self.frame(0), latest, previous: calm).contains { $0.kind == .lockWaits })
    }

    @Test func eventLoopNamesTheSlowRoutesOfTheSameWindow() throws {
        var earliest = Self.frame(0)
        earliest.blocked = HistogramCounts(bounds: [0.1, 1], counts: [0, 0], sum: 0, count: 0)
        var latest = Self.frame(300, routes: ["GET /reports/{id}": Self.route(fast: 0, slow: 50)])
        latest.blocked = HistogramCounts(bounds: [0.1, 1], counts: [0, 3], sum: 1.5, count: 3)
        let finding = try #require(Self.evaluate(earliest, latest).first { $0.kind == .eventLoopBlocked })
        #expect(finding.evidence.first { $0.name == "asyncio_warnings" }?.value == 3)
        #expect(finding.impactSecondsPerMinute == 0.3)
        #expect(finding.action.contains("GET /reports/{id}"))
        // A probe that answers fast and no warnings: nothing.
        var quiet = Self.frame(300)
        quiet.probe = HistogramCounts(bounds: [0.01, 0.1, 1], counts: [100, 0, 0], sum: 0.1, count: 100)
        #expect(Self.evaluate(Self.frame(0), quiet).isEmpty)
        quiet.probe = HistogramCounts(bounds: [0.01, 0.1, 1], counts: [90, 0, 10], sum: 5, count: 100)
        #expect(Self.evaluate(Self.frame(0), quiet).first?.kind == .eventLoopBlocked)
    }

    @Test func nPlusOneWithAndWithoutARoute() throws {
        let tagged = NPlusOneKey(fingerprint: "abc", route: "/markets/{id}")
        let untagged = NPlusOneKey(fingerprint: "def", route: nil)
        var earliest = Self.frame(0)
        earliest.nPlusOne = [tagged: NPlusOneTotals(bursts: 10, statements: 200, seconds: 1, shape: "SELECT * FROM outcomes WHERE id = $1")]
        var latest = Self.frame(300)
        latest.nPlusOne = [
            tagged: NPlusOneTotals(bursts: 110, statements: 2200, seconds: 16, shape: "SELECT * FROM outcomes WHERE id = $1"),
            untagged: NPlusOneTotals(bursts: 5, statements: 30, seconds: 0.5, shape: "SELECT name FROM users WHERE id = $1"),
        ]
        let findings = Self.evaluate(earliest, latest).filter { $0.kind == .nPlusOne }
        let routed = try #require(findings.first { $0.route == "/markets/{id}" })
        #expect(routed.evidence.first { $0.name == "statements_per_burst" }?.value == 20)
        #expect(routed.impactSecondsPerMinute == 3)
        #expect(routed.action.contains("Route /markets/{id}"))
        let unknown = try #require(findings.first { $0.route == nil })
        #expect(unknown.action.contains("unknown route"))
        #expect(unknown.subject == "def")
    }

    @Test func quantilesInterpolateAsHistogramQuantileDoes() {
        let counts = HistogramCounts(bounds: [0.1, 0.2, 0.4], counts: [50, 30, 20], sum: 15, count: 100)
        #expect(counts.quantile(0.5) == 0.1)
        #expect(abs((counts.quantile(0.65) ?? 0) - 0.15) < 1e-12)
        #expect(abs((counts.quantile(0.9) ?? 0) - 0.3) < 1e-12)
        let overflow = HistogramCounts(bounds: [0.1], counts: [1], sum: 10, count: 10)
        #expect(overflow.quantile(0.95) == 0.1, "above the last bound: the highest finite bound")
        #expect(HistogramCounts(bounds: [0.1], counts: [0], sum: 0, count: 0).quantile(0.5) == nil)
        // A reset (the count went down) counts what is there now.
        #expect(counts.since(HistogramCounts(bounds: [0.1, 0.2, 0.4], counts: [500, 0, 0], sum: 50, count: 500)) == counts)
    }
}

@Suite struct FindingsBoardTests {
    static func finding(_ kind: Finding.Kind, _ subject: String, impact: Double?) -> Finding {
        Finding(kind: kind, subject: subject, evidence: [], action: "", impactSecondsPerMinute: impact)
    }

    /// Without an impact, a kind's findings are kept by rank (an unused index's size), not by name.
    @Test func unestimatedFindingsAreKeptByRank() {
        var board = FindingsBoard(maxPerKind: 2)
        let sizes = ["a_idx": 1.0, "b_idx": 900.0, "c_idx": 50.0, "d_idx": nil]
        board.update(
            with: sizes.map { Finding(kind: .unusedIndex, subject: $0.key, evidence: [], action: "", impactSecondsPerMinute: nil, rank: $0.value) },
            now: 1)
        #expect(board.current.map(\.subject) == ["b_idx", "c_idx"])
    }

    @Test func firstSeenIsKeptAndAFixedProblemDisappears() {
        var board = FindingsBoard(maxPerKind: 10)
        board.update(with: [Self.finding(.nPlusOne, "a", impact: 1), Self.finding(.cacheIneffective, "redis", impact: nil)], now: 100)
        board.update(with: [Self.finding(.nPlusOne, "a", impact: 2)], now: 115)
        #expect(board.current.count == 1)
        #expect(board.current[0].firstSeen == 100)
        #expect(board.current[0].lastSeen == 115)
        board.update(with: [Self.finding(.cacheIneffective, "redis", impact: nil)], now: 130)
        #expect(board.current.map(\.subject) == ["redis"])
        #expect(board.current[0].firstSeen == 130, "gone and back: a new finding")
    }

    @Test func eachKindKeepsItsTopByImpactAndTheListIsOrdered() {
        var board = FindingsBoard(maxPerKind: 3)
        let many = (0..<1000).map { Self.finding(.nPlusOne, "f\($0)", impact: Double($0)) }
        board.update(with: many + [Self.finding(.routeOverTarget, "GET /a", impact: 500.5), Self.finding(.lockWaits, "app", impact: nil)], now: 1)
        #expect(board.current.map(\.subject) == ["f999", "f998", "f997", "GET /a", "app"])
        #expect(board.current.count <= Finding.Kind.allCases.count * 3)
    }

    @Test func duplicatesKeepTheFirst() {
        var board = FindingsBoard(maxPerKind: 3)
        board.update(with: [Self.finding(.lockWaits, "app", impact: 1), Self.finding(.lockWaits, "app", impact: 9)], now: 1)
        #expect(board.current.map(\.impactSecondsPerMinute) == [1])
    }
}
