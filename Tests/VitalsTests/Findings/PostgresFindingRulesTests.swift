import Testing

@testable import Vitals

/// The Postgres-side rules from tables of frames, and what their collectors publish for them.
@Suite struct PostgresFindingRulesTests {
    typealias Rules = FindingRulesTests

    static func evaluate(_ frames: [MetricFrame], settings: FindingSettings = FindingSettings()) -> [Finding] {
        FindingRules.evaluate(
            FindingInputs(earliest: frames[0], previous: frames[frames.count - 2], latest: frames[frames.count - 1], frames: frames), settings: settings)
    }

    // MARK: lookups by key

    struct LookupRow: Sendable, CustomTestStringConvertible {
        let text: String
        let lookup: Bool
        var testDescription: String { text }
    }

    @Test(arguments: [
        LookupRow(text: "SELECT * FROM users WHERE id = $1", lookup: true),
        LookupRow(text: "select name from users u where u.id = $1 limit $2", lookup: true),
        LookupRow(text: "SELECT o.* FROM orders o JOIN users u ON u.id = o.user_id WHERE o.id = $1 AND o.tenant = $2::int", lookup: true),
        LookupRow(text: "SELECT * FROM kv WHERE key = $1 AND deleted_at IS NULL FOR UPDATE", lookup: true),
        LookupRow(text: "SELECT * FROM \"Users\" WHERE \"Id\" = $1 /*route='%2Fusers'*/", lookup: true),
        LookupRow(text: "SELECT * FROM users WHERE id = $1;", lookup: true),
        LookupRow(text: "SELECT * FROM users WHERE id IN ($1, $2)", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE id = ANY($1)", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE id > $1", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE id = $1 OR email = $2", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE deleted_at IS NULL", lookup: false),
        LookupRow(text: "SELECT * FROM users", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE id = (SELECT max(id) FROM users)", lookup: false),
        LookupRow(text: "SELECT a FROM t WHERE id = $1 UNION SELECT a FROM u WHERE id = $2", lookup: false),
        LookupRow(text: "UPDATE users SET name = $1 WHERE id = $2", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE id = $1; DROP TABLE users", lookup: false),
        LookupRow(text: "SELECT * FROM (SELECT * FROM users WHERE id = $1) s", lookup: false),
        LookupRow(text: "SELECT * FROM users WHERE name = 'o''brien'", lookup: true),
        LookupRow(text: "SELECT * FROM users WHERE", lookup: false),
        LookupRow(text: "", lookup: false),
    ])
    func lookupsAreToldFromTheNormalisedText(_ row: LookupRow) {
        #expect(SingleRowLookup.matches(row.text) == row.lookup)
    }

    @Test func theStatementsCollectorFlagsLookupsWithoutTheirText() {
        var sink = PostgresMetricSink(target: nil)
        PostgresMappingTests.mapStatements([
            ["queryid": "1", "datname": "app", "user": "web", "calls": "4", "seconds": "1", "rows": "4", "query": "SELECT * FROM users WHERE id = $1"],
            ["queryid": "2", "datname": "app", "user": "web", "calls": "4", "seconds": "1", "rows": "4", "query": "SELECT * FROM users WHERE id > $1"],
        ], into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        #expect(samples["pg_stat_statements_single_row_lookup{queryid=\"1\",datname=\"app\",user=\"web\"}"] == 1)
        #expect(samples["pg_stat_statements_single_row_lookup{queryid=\"2\",datname=\"app\",user=\"web\"}"] == nil)
        #expect(samples.keys.allSatisfy { !$0.contains("users") })
    }

    struct CallsRow: Sendable, CustomTestStringConvertible {
        let name: String
        let calls: Double
        let requests: UInt64
        let lookup: Bool
        var before: Double? = 1000
        let found: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        CallsRow(name: "20 lookups per request", calls: 20_000, requests: 1000, lookup: true, found: true),
        CallsRow(name: "exactly the threshold", calls: 10_000, requests: 1000, lookup: true, found: true),
        CallsRow(name: "5 per request", calls: 5000, requests: 1000, lookup: true, found: false),
        CallsRow(name: "not a lookup", calls: 20_000, requests: 1000, lookup: false, found: false),
        CallsRow(name: "too few requests to trust", calls: 400, requests: 19, lookup: true, found: false),
        CallsRow(name: "new to the top list: no start in the window", calls: 20_000, requests: 1000, lookup: true, before: nil, found: false),
    ])
    func callsPerRequest(_ row: CallsRow) throws {
        let labels = ["queryid": "-42", "datname": "app", "user": "web"]
        func frame(_ time: Double, calls: Double?, seconds: Double, requests: UInt64) -> MetricFrame {
            var scalars: [String: [MetricFrame.Scalar]] = [:]
            if let calls {
                scalars["pg_stat_statements_calls_total"] = [Rules.scalar(calls, labels)]
                scalars["pg_stat_statements_seconds_total"] = [Rules.scalar(seconds, labels)]
                if row.lookup { scalars["pg_stat_statements_single_row_lookup"] = [Rules.scalar(1, labels)] }
            }
            return Rules.frame(time, routes: ["GET /markets/{id}": Rules.route(fast: requests, slow: 0)], scalars: scalars)
        }
        let findings = Self.evaluate([
            frame(0, calls: row.before, seconds: 10, requests: 500),
            frame(300, calls: (row.before ?? 0) + row.calls, seconds: 40, requests: 500 + row.requests),
        ])
        let finding = findings.first { $0.kind == .callsPerRequest }
        #expect((finding != nil) == row.found)
        if let finding {
            #expect(finding.subject == "-42 in app")
            #expect(finding.evidence.first { $0.name == "calls_per_request" }?.value == row.calls / Double(row.requests))
            #expect(finding.impactSecondsPerMinute == 6, "30 s of the statement in 5 minutes")
            #expect(finding.action.contains("-42"))
        }
        #expect(!findings.contains { $0.kind == .routeOverTarget })
    }

    @Test func theCallsThresholdIsASetting() throws {
        let values = try ConfigurationLoader(keys: FindingsConfiguration.keys).load(
            flags: [("findings.calls-per-request", "25")], environment: [:], file: nil)
        #expect(try FindingsConfiguration(values: values).rules.callsPerRequest == 25)
        let bad = try ConfigurationLoader(keys: FindingsConfiguration.keys).load(flags: [("findings.calls-per-request", "0")], environment: [:], file: nil)
        #expect(throws: ConfigurationError.self) { try FindingsConfiguration(values: bad) }
    }

    // MARK: unused indexes

    @Test func unusedIndexesAreDropCandidatesWithTheirSizeAndStatisticsAge() throws {
        let index = ["datname": "app", "schemaname": "public", "relname": "orders", "indexrelname": "orders_note_idx"]
        let used = ["datname": "app", "schemaname": "public", "relname": "orders", "indexrelname": "orders_user_idx"]
        let latest = Rules.frame(
            300 + 86_400 * 30,
            scalars: [
                "pg_index_unused": [Rules.scalar(1, index)],
                "pg_stat_user_indexes_size_bytes": [Rules.scalar(8_192_000, index), Rules.scalar(1, used)],
                "pg_stat_database_stats_reset": [Rules.scalar(300, ["datname": "app"])],
            ])
        let finding = try #require(Self.evaluate([Rules.frame(0), latest]).first { $0.kind == .unusedIndex })
        #expect(finding.subject == "public.orders_note_idx on public.orders in app")
        #expect(finding.impactSecondsPerMinute == nil)
        #expect(finding.evidence.first { $0.name == "index_size_bytes" }?.value == 8_192_000)
        #expect(finding.evidence.first { $0.name == "statistics_age_seconds" }?.value == 2_592_000, "30 days")
        #expect(finding.action.contains("DROP INDEX CONCURRENTLY public.orders_note_idx;"))
        #expect(finding.action.contains("30 days") && finding.action.contains("replica"))
        // A quoted name stays quoted in the DDL; a database never reset says so.
        let odd = ["datname": "app", "schemaname": "public", "relname": "Orders", "indexrelname": "Orders Note"]
        let quoted = try #require(Self.evaluate([Rules.frame(0), Rules.frame(300, scalars: ["pg_index_unused": [Rules.scalar(1, odd)]])]).first)
        #expect(quoted.action.contains("DROP INDEX CONCURRENTLY public.\"Orders Note\";"))
        #expect(quoted.action.contains("never reset"))
    }

    @Test func theFrameKeepsIndexSizesAndStatementCountersOnlyForWhatIsFlagged() {
        func family(_ metric: PostgresMetric, _ series: [([String], Double)]) -> [FamilySnapshot] {
            var sink = PostgresMetricSink(target: nil)
            for (labels, value) in series { sink.add(metric, value, labels) }
            return sink.build()
        }
        let families =
            family(StatUserTablesCollector.indexUnused, [(["app", "public", "t", "a"], 1)])
            + family(StatUserTablesCollector.indexSize, [(["app", "public", "t", "a"], 10), (["app", "public", "t", "b"], 20)])
            + family(StatStatementsCollector.singleRowLookup, [(["1", "app", "web"], 1), (["3", "app", "web"], 0)])
            + family(StatStatementsCollector.calls, [(["1", "app", "web"], 5), (["2", "app", "web"], 6), (["3", "app", "web"], 7)])
        let frame = MetricFrame(families: families, time: 0)
        #expect(frame.scalars("pg_stat_user_indexes_size_bytes").map(\.value) == [10])
        #expect(frame.scalars("pg_stat_statements_calls_total").map(\.value) == [5])
        #expect(frame.scalars("pg_stat_statements_calls_total").first?.labels == ["queryid": "1", "datname": "app", "user": "web"])
        // No flag family at all: nothing of the flagged one is kept.
        let unflagged = MetricFrame(families: family(StatStatementsCollector.calls, [(["1", "app", "web"], 5)]), time: 0)
        #expect(unflagged.scalars("pg_stat_statements_calls_total").isEmpty)
        // The frame compares a flag's label values with its family's as they are.
        let metrics = [StatUserTablesCollector.indexUnused, StatUserTablesCollector.indexSize, StatStatementsCollector.singleRowLookup,
                       StatStatementsCollector.calls, StatStatementsCollector.seconds]
        for (name, flag) in MetricFrame.flaggedNames {
            let labels = metrics.first { $0.name == name }?.labels, flagLabels = metrics.first { $0.name == flag }?.labels
            #expect(labels != nil && labels == flagLabels, "\(name) and its flag \(flag)")
        }
    }

    // MARK: lock waits

    @Test func lockWaitsNameTheRelationWaitedOn() throws {
        let app = ["datname": "app"]
        func frame(_ time: Double, waiting: Double, relations: [(String, Double)]) -> MetricFrame {
            Rules.frame(
                time,
                scalars: [
                    "pg_stat_activity_lock_waiting_sessions": [Rules.scalar(waiting, app)],
                    "pg_locks_waiting_relation": relations.map { Rules.scalar($0.1, ["datname": "app", "relation": $0.0]) }
                        + [Rules.scalar(4, ["datname": "other", "relation": "public.elsewhere"])],
                ])
        }
        let findings = Self.evaluate([
            Rules.frame(0), frame(285, waiting: 1, relations: []), frame(300, waiting: 3, relations: [("public.orders", 2), ("__other__", 1)]),
        ]).filter { $0.kind == .lockWaits }
        #expect(Set(findings.map(\.subject)) == ["public.orders in app", "__other__ in app"])
        let orders = try #require(findings.first { $0.subject.hasPrefix("public.orders") })
        #expect(orders.evidence.map(\.value) == [3, 2])
        #expect(orders.action.contains("lock on public.orders"))
        // No relation known (an advisory lock): the database, as before.
        let bare = Self.evaluate([Rules.frame(0), frame(285, waiting: 1, relations: []), frame(300, waiting: 1, relations: [])])
        #expect(bare.filter { $0.kind == .lockWaits }.map(\.subject) == ["app"])
        // One frame of waiting is a blip.
        #expect(!Self.evaluate([Rules.frame(0), frame(285, waiting: 0, relations: []), frame(300, waiting: 3, relations: [("public.orders", 3)])])
            .contains { $0.kind == .lockWaits })
    }

    @Test func locksCollectorCapsRelationsMostWaitersFirst() {
        let main = PostgresRows([["datname": "app", "mode": nil, "count": "0", "waiting": "0"]])
        let relations = PostgresRows(
            (0..<25).map { ["datname": "app", "relation": "public.t\($0)", "waiting": "\($0 + 1)"] }
                + [["datname": "excluded", "relation": "public.x", "waiting": "9"]])
        var context = PostgresMappingTests.pg15
        context.databases = PostgresDatabaseFilter(exclude: ["excluded"])
        var sink = PostgresMetricSink(target: nil)
        LocksCollector.map(main, relations: relations, context: context, into: &sink)
        let samples = PostgresMappingTests.samples(sink).filter { $0.key.hasPrefix("pg_locks_waiting_relation{") }
        #expect(samples.count == LocksCollector.maxRelations + 1)
        #expect(samples["pg_locks_waiting_relation{datname=\"app\",relation=\"public.t24\"}"] == 25)
        #expect(samples["pg_locks_waiting_relation{datname=\"app\",relation=\"public.t4\"}"] == nil)
        #expect(samples["pg_locks_waiting_relation{datname=\"app\",relation=\"__other__\"}"] == 15, "t0…t4: 1+2+3+4+5")
    }

    // MARK: pool plateau

    struct PoolRow: Sendable, CustomTestStringConvertible {
        let name: String
        /// Sessions of the application in each frame, oldest first.
        let sessions: [Double]
        /// Slow requests added per frame in the earlier and the later half (fast ones: 100 per frame).
        let slowBefore: UInt64
        let slowAfter: UInt64
        let found: Bool
        var testDescription: String { name }
    }

    @Test(arguments: [
        PoolRow(name: "flat at 10 while p95 rises over the target", sessions: [6, 8, 10, 10, 10, 10, 10, 10, 10], slowBefore: 0, slowAfter: 20, found: true),
        PoolRow(name: "sessions still moving", sessions: [6, 8, 10, 10, 9, 10, 10, 10, 10], slowBefore: 0, slowAfter: 20, found: false),
        PoolRow(name: "flat but latency fine", sessions: [10, 10, 10, 10, 10, 10, 10, 10, 10], slowBefore: 0, slowAfter: 0, found: false),
        PoolRow(name: "flat, slow all along: not rising", sessions: [10, 10, 10, 10, 10, 10, 10, 10, 10], slowBefore: 20, slowAfter: 20, found: false),
        PoolRow(name: "flat at 2: too few to be a pool", sessions: [2, 2, 2, 2, 2, 2, 2, 2, 2], slowBefore: 0, slowAfter: 20, found: false),
        PoolRow(name: "too short a window", sessions: [10, 10, 10, 10, 10], slowBefore: 0, slowAfter: 20, found: false),
    ])
    func poolPlateau(_ row: PoolRow) throws {
        let labels = ["datname": "app", "application_name": "api"]
        var counts = Rules.route(fast: 0, slow: 0)
        var frames: [MetricFrame] = []
        let middle = (row.sessions.count - 1) / 2
        for (index, sessions) in row.sessions.enumerated() {
            if index > 0 { counts.add(Rules.route(fast: 100, slow: index <= middle ? row.slowBefore : row.slowAfter)) }
            frames.append(
                Rules.frame(
                    Double(index) * 15, routes: ["GET /markets/{id}": counts],
                    scalars: [
                        "pg_stat_activity_application_sessions": [
                            Rules.scalar(sessions, labels), Rules.scalar(12, ["datname": "app", "application_name": "__other__"]),
                        ]
                    ]))
        }
        let finding = Self.evaluate(frames).first { $0.kind == .poolSaturated }
        #expect((finding != nil) == row.found)
        if let finding {
            #expect(finding.subject == "api in app")
            #expect(finding.evidence.first { $0.name == "sessions" }?.value == 10)
            #expect(finding.evidence.first { $0.name == "flat_frames" }?.value == 5)
            #expect(finding.action.contains("GET /markets/{id}"))
            #expect(finding.impactSecondsPerMinute == nil)
        }
    }

    @Test func activityCollectorCapsApplicationsLargestFirst() {
        let activity = PostgresRows([["datname": "app", "state": "idle", "count": "0", "max_tx_duration": "0", "max_state_duration": "0", "lock_waiting": "0"]])
        let applications = PostgresRows(
            (0..<22).map { ["datname": "app", "application_name": "pool\($0)", "count": "\($0 + 1)"] }
                + [["datname": "app", "application_name": "", "count": "50"], ["datname": "nope", "application_name": "x", "count": "1"]])
        var sink = PostgresMetricSink(target: nil)
        StatActivityCollector.map(
            activity: activity, connections: PostgresRows([]), applications: applications, context: PostgresMappingTests.pg15, into: &sink)
        let samples = PostgresMappingTests.samples(sink).filter { $0.key.hasPrefix("pg_stat_activity_application_sessions{") }
        #expect(samples.count == StatActivityCollector.maxApplications + 1)
        #expect(samples["pg_stat_activity_application_sessions{datname=\"app\",application_name=\"\"}"] == 50)
        #expect(samples["pg_stat_activity_application_sessions{datname=\"app\",application_name=\"pool21\"}"] == 22)
        #expect(samples["pg_stat_activity_application_sessions{datname=\"app\",application_name=\"__other__\"}"] == 6, "pool0…pool2: 1+2+3")
    }

    @Test func everyKindHasARunbookEntryAndAREADMERow() throws {
        let runbook = try DeploymentFiles.text("docs/runbook.md")
        let readme = try DeploymentFiles.text("README.md")
        for kind in Finding.Kind.allCases {
            #expect(runbook.contains("\n### \(kind.rawValue)\n"), "docs/runbook.md has no '### \(kind.rawValue)'")
            #expect(readme.contains("\n| `\(kind.rawValue)` |"), "README's findings table has no row for \(kind.rawValue)")
        }
    }
}
