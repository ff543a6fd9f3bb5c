import Foundation
import Testing

@testable import Vitals

/// `--findings.hypopg` against the real PostgreSQL 15 of `scripts/test-servers.sh`, with the
/// Debian `postgresql-15-hypopg` package: the estimate runs on the target's own pass, in vitals'
/// session, and writes nothing. Serialized: both tests use the database `hypopg_test`.
@Suite(.serialized) struct HypopgIntegrationTests {
    static let database = "hypopg_test"
    static let statement = "SELECT id, name FROM hypo_vendors WHERE category_id = 7 AND name <> 'secret-literal'"

    /// A fresh database with 20,000 vendors and no index on `category_id`; hypopg only when asked.
    static func prepare(_ server: PostgresTestServer, hypopg: Bool) async throws {
        try await server.superuser("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", database: "postgres")
        try await server.superuser("CREATE DATABASE \(database) OWNER vitals", database: "postgres")
        try await server.superuser(
            """
            CREATE TABLE hypo_vendors (id bigint PRIMARY KEY, category_id int NOT NULL, name text NOT NULL);
            INSERT INTO hypo_vendors SELECT g, g % 2000, 'vendor ' || g FROM generate_series(1, 20000) g;
            ANALYZE hypo_vendors;
            GRANT SELECT ON hypo_vendors TO vitals;
            """, database: database)
        if hypopg { try await server.superuser("CREATE EXTENSION hypopg", database: database) }
    }

    /// The candidate and its sample as the slow-query source finds them: from the statement's
    /// analysed plan, in auto_explain's JSON shape.
    static func publishCandidate(_ server: PostgresTestServer, into evidence: FindingEvidence, statement: String = statement) async throws {
        let plan = try await server.superuser("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + statement, database: database)
        // EXPLAIN's `[{"Plan": …}]` as auto_explain logs it: `{"Query Text": …, "Plan": …}`.
        var object = Substring(plan.trimmingCharacters(in: .whitespacesAndNewlines)).dropFirst().dropLast()
        object = object.drop { $0 != "{" }.dropFirst()
        let parsed = PlanParser.parse("{\"Query Text\": \(JSONText.quote(statement)), " + object)
        var candidates = IndexCandidates(keepsSamples: true)
        let bytes = Array(statement.utf8)
        let observed = candidates.observe(
            parsed.summary, seconds: 0.2,
            sample: { StatementSample(statement: bytes, fingerprint: StatementNormalizer().fingerprint(bytes), database: database) })
        try #require(observed, "the plan is not an index candidate: \(parsed.summary.line)")
        evidence.publish(indexCandidates: candidates.totals, samples: candidates.samples, from: "test.log")
    }

    static func passes(_ server: PostgresTestServer, evidence: FindingEvidence, registry: MetricRegistry) throws -> PostgresPasses {
        let dsn = server.dsn(user: "vitals", password: server.password, database: database)
        let values = try ConfigurationValues.make(
            keys: PostgresConfiguration.keys + FindingsConfiguration.keys, ["postgres.dsn": dsn, "findings.hypopg": "true"])
        let configuration = try PostgresConfiguration(values: values)
        #expect(configuration.hypopgEnabled)
        let info = try #require(configuration.targets.first)
        return PostgresPasses(
            configuration: configuration, info: info, statements: PostgresStatementsBoard(),
            hypopg: HypopgEstimates(evidence: evidence, metrics: try HypopgMetrics(registry: registry), instance: info.targetLabel))
    }

    /// A pass whose slow part visits the other databases ends without the main connection, and an
    /// estimate never opens one: the first pass only warms up.
    static func collect(_ passes: PostgresPasses, warmUp: Bool = false) -> CollectedPass {
        if warmUp { _ = passes.collect(CollectionPass(deadline: .now + .seconds(10))) }
        return passes.collect(CollectionPass(deadline: .now + .seconds(10)))
    }

    static func counter(_ registry: MetricRegistry, _ name: String, _ labels: [String: String] = [:]) -> Double? {
        let samples = ScrapedMetrics(String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self)).values(name, where: labels)
        return samples.isEmpty ? nil : samples.reduce(0) { $0 + $1.value }
    }

    @Test func theEstimateShowsTheIndexPaysAndNothingIsWritten() async throws {
        guard let server = PostgresTestServer.require() else { return }
        try await Self.prepare(server, hypopg: true)
        let indexesBefore = try await server.superuser("SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes", database: Self.database)
        let evidence = FindingEvidence()
        try await Self.publishCandidate(server, into: evidence)
        let registry = MetricRegistry()
        let passes = try Self.passes(server, evidence: evidence, registry: registry)
        defer { passes.close() }

        _ = passes.collect(CollectionPass(deadline: .now + .seconds(10)))
        #expect(evidence.indexEstimates.isEmpty, "the first pass's slow part leaves no main connection to estimate on")
        let started = ContinuousClock.now
        let collected = passes.collect(CollectionPass(deadline: .now + .seconds(10)))
        let elapsed = ContinuousClock.now - started
        #expect(collected.outcome.failure == nil)
        #expect(collected.outcome.partFailures["hypopg"] == nil, "\(collected.outcome.partFailures)")
        let estimate = try #require(evidence.indexEstimates.values.first)
        #expect(estimate.costAfter < estimate.costBefore)
        #expect(estimate.usesIndex)
        #expect(Self.counter(registry, "vitals_hypopg_estimates_total") == 1)
        print("hypopg estimate: cost \(estimate.costBefore) → \(estimate.costAfter), pass with estimate \(elapsed)")

        // Nothing written: no index, and the session holds no hypothetical one either.
        let indexesAfter = try await server.superuser("SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes", database: Self.database)
        #expect(indexesAfter == indexesBefore)
        #expect(!indexesAfter.contains("category_id"))
        let left = passes.withMainConnectionForTesting { try? $0.query("SELECT count(*) AS n FROM hypopg()").first?["n"] }
        #expect(left == "0")
        let inTransaction = passes.withMainConnectionForTesting { try? $0.query("SELECT now() = statement_timestamp() AS fresh").first?["fresh"] }
        #expect(inTransaction == "t", "the session must not be left inside the estimate's transaction")

        // Rate-limited: the next pass does not estimate the same candidate again.
        _ = passes.collect(CollectionPass(deadline: .now + .seconds(10)))
        #expect(Self.counter(registry, "vitals_hypopg_estimates_total") == 1)

        // The finding the rule makes from it.
        var latest = MetricFrame(time: 300)
        latest.indexCandidates = evidence.indexCandidates
        latest.indexEstimates = evidence.indexEstimates
        let finding = try #require(
            FindingRules.evaluate(FindingInputs(earliest: MetricFrame(time: 0), previous: MetricFrame(time: 285), latest: latest), settings: FindingSettings())
                .first { $0.kind == .missingIndex })
        #expect(finding.action.contains("CREATE INDEX CONCURRENTLY ON hypo_vendors (category_id);"))
        #expect(finding.action.contains("hypopg estimates the plan cost falls from"))
        #expect(!finding.action.contains("secret"))
        try await server.superuser("DROP DATABASE IF EXISTS \(Self.database) WITH (FORCE)", database: "postgres")
    }

    @Test func aStatementThatNoLongerPlansIsCountedWithoutItsText() async throws {
        guard let server = PostgresTestServer.require() else { return }
        try await Self.prepare(server, hypopg: true)
        let evidence = FindingEvidence()
        try await Self.publishCandidate(server, into: evidence)
        // The column is gone since the statement was logged.
        try await server.superuser("ALTER TABLE hypo_vendors DROP COLUMN name", database: Self.database)
        let registry = MetricRegistry()
        let passes = try Self.passes(server, evidence: evidence, registry: registry)
        defer { passes.close() }
        let collected = Self.collect(passes, warmUp: true)
        #expect(collected.outcome.failure == nil)
        let failure = try #require(collected.outcome.partFailures["hypopg"])
        #expect(failure.reason == .query)
        #expect(!failure.message.contains("secret") && !failure.detail.contains("secret") && !failure.message.contains("name"))
        #expect(Self.counter(registry, "vitals_hypopg_estimate_failures_total", ["reason": "statement"]) == 1)
        #expect(evidence.indexEstimates.isEmpty)
        // The session was cleaned up, not dropped: the next pass still collects on it.
        let left = passes.withMainConnectionForTesting { try? $0.query("SELECT count(*) AS n FROM hypopg()").first?["n"] }
        #expect(left == "0")
        #expect(passes.collect(CollectionPass(deadline: .now + .seconds(10))).outcome.failure == nil)
        try await server.superuser("DROP DATABASE IF EXISTS \(Self.database) WITH (FORCE)", database: "postgres")
    }

    @Test func withoutHypopgTheEstimateIsSkippedQuietly() async throws {
        guard let server = PostgresTestServer.require() else { return }
        try await Self.prepare(server, hypopg: false)
        let evidence = FindingEvidence()
        try await Self.publishCandidate(server, into: evidence)
        let registry = MetricRegistry()
        let passes = try Self.passes(server, evidence: evidence, registry: registry)
        defer { passes.close() }
        for _ in 0..<3 {
            let collected = passes.collect(CollectionPass(deadline: .now + .seconds(10)))
            #expect(collected.outcome.failure == nil)
            // This test database has no pg_stat_statements, which the statements collector now says;
            // no other part may fail, hypopg above all.
            #expect(collected.outcome.partFailures.keys.allSatisfy { $0 == "stat_statements" }, "\(collected.outcome.partFailures)")
        }
        #expect(evidence.indexEstimates.isEmpty)
        #expect(Self.counter(registry, "vitals_hypopg_estimates_total") == 0)
        for code in HypopgError.Code.allCases {
            #expect(Self.counter(registry, "vitals_hypopg_estimate_failures_total", ["reason": code.description]) == 0)
        }
        try await server.superuser("DROP DATABASE IF EXISTS \(Self.database) WITH (FORCE)", database: "postgres")
    }
}

/// The PostgreSQL 16+ path, against a server named by `VITALS_TEST_PG16_DSN` (skipped without
/// one). A 16 without hypopg will do: `scripts/test.sh` starts one from the `pgserver` wheel
/// (`scripts/test-servers.sh start-versions DIR 16`, which writes the variable to DIR/env-versions.sh).
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["VITALS_TEST_PG16_DSN"] != nil))
struct HypopgGenericPlanTests {
    static var dsn: String { ProcessInfo.processInfo.environment["VITALS_TEST_PG16_DSN"] ?? "" }

    static func connect() throws -> PostgresConnection {
        let info = try PostgresConnectionInfo(dsn)
        return try PostgresConnection.connect(
            parameters: [("application_name", "vitals-test"), ("dbname", dsn)], redactor: info.redactor, cancellation: PostgresCancellation(),
            deadline: .now + .seconds(5))
    }

    static func prepare() throws {
        let session = try connect()
        defer { session.close() }
        session.deadline = .now + .seconds(30)
        _ = try session.query(
            """
            DROP TABLE IF EXISTS hypo_vendors;
            CREATE TABLE hypo_vendors (id bigint PRIMARY KEY, category_id int NOT NULL, name text NOT NULL);
            INSERT INTO hypo_vendors SELECT g, g % 2000, 'vendor ' || g FROM generate_series(1, 20000) g;
            ANALYZE hypo_vendors;
            """)
    }

    @Test func theNormalisedStatementPlansGenericallyInOneExtendedProtocolStatement() throws {
        try Self.prepare()
        let session = try Self.connect()
        defer { session.close() }
        #expect(session.serverVersion >= HypopgStatements.genericPlanVersion)
        let bytes = Array("SELECT id, name FROM hypo_vendors WHERE category_id = 7 AND name <> 'secret-literal'".utf8)
        let sample = try #require(StatementSample(statement: bytes, fingerprint: StatementNormalizer().fingerprint(bytes), database: nil))
        let (sql, generic) = try #require(sample.text(serverVersion: session.serverVersion))
        #expect(generic && sql == "SELECT id, name FROM hypo_vendors WHERE category_id = $1 AND name <> $2")
        session.deadline = .now + .seconds(5)
        let explain = HypopgStatements.explain(sql, generic: true)
        let cost = try #require(HypopgEstimator.cost(try HypopgEstimator.explainQuery(explain, generic: true, on: session)))
        #expect(cost.totalCost > 400, "a generic plan scans: \(cost)")
        // Why not the extended protocol: unbound it is refused, bound (even to NULL) the values are planned.
        #expect(throws: PostgresError.self) { try session.query(explain, parameters: []) }
        #expect(HypopgEstimator.cost(try session.query(explain, parameters: [nil, nil]))?.totalCost == 0)
        // The extended protocol (the literal path) takes one statement: a second one is refused, not run.
        #expect(throws: PostgresError.self) { try session.query("SELECT 1; SELECT 2", parameters: []) }
    }

    @Test func withoutHypopgNothingIsTriedOrReported() throws {
        try Self.prepare()
        let evidence = FindingEvidence()
        let key = IndexCandidateKey(relation: "hypo_vendors", filter: try #require(FilterShape.parse("(category_id = 7)")))
        let bytes = Array("SELECT id FROM hypo_vendors WHERE category_id = $1".utf8)
        let sample = try #require(StatementSample(statement: bytes, fingerprint: StatementNormalizer().fingerprint(bytes), database: nil))
        evidence.publish(indexCandidates: [key: IndexCandidateTotals(statements: 3, seconds: 2)], samples: [key: sample], from: "test.log")
        let values = try ConfigurationValues.make(
            keys: PostgresConfiguration.keys + FindingsConfiguration.keys, ["postgres.dsn": Self.dsn, "findings.hypopg": "true"])
        let configuration = try PostgresConfiguration(values: values)
        let info = try #require(configuration.targets.first)
        let registry = MetricRegistry()
        let passes = PostgresPasses(
            configuration: configuration, info: info, statements: PostgresStatementsBoard(),
            hypopg: HypopgEstimates(evidence: evidence, metrics: try HypopgMetrics(registry: registry), instance: info.targetLabel))
        defer { passes.close() }
        for _ in 0..<3 {
            let collected = passes.collect(CollectionPass(deadline: .now + .seconds(10)))
            #expect(collected.outcome.failure == nil)
            #expect(collected.outcome.partFailures["hypopg"] == nil)
        }
        #expect(evidence.indexEstimates.isEmpty)
        #expect(HypopgIntegrationTests.counter(registry, "vitals_hypopg_estimates_total") == 0)
        #expect(HypopgIntegrationTests.counter(registry, "vitals_hypopg_estimate_failures_total")  == 0)
    }
}

/// The whole path in the daemon: the statement log's analysed plan makes the candidate and keeps
/// its statement, the Postgres source's pass estimates it, `/findings` shows the costs, and the
/// statement's literal reaches no endpoint and no log line. On a private server that logs every
/// statement with analysed plans (`--log-all-statements`), so the shared one's log stays as it is.
@Suite(.serialized) struct HypopgDaemonEndToEndTests {
    static let literal = "hypo-secret-5521"

    @Test func theFindingCarriesTheEstimateAndNoLiteral() async throws {
        let directory = try TemporaryDirectory()
        let servers = directory.path + "/servers"
        let server = try await PostgresTestServer.startPrivate(in: servers, options: ["--log-all-statements"])
        do {
            try await Self.run(server, servers: servers)
        } catch {
            await PostgresTestServer.stopPrivate(in: servers)
            throw error
        }
        await PostgresTestServer.stopPrivate(in: servers)
    }

    static func run(_ server: PostgresTestServer, servers: String) async throws {
        let env = try TestServersEnvironment(directory: servers)
        try await server.superuser(
            """
            CREATE EXTENSION hypopg;
            CREATE TABLE hypo_orders (id bigint PRIMARY KEY, customer_id int NOT NULL, note text NOT NULL);
            INSERT INTO hypo_orders SELECT g, g % 5000, 'order ' || g FROM generate_series(1, 300000) g;
            ANALYZE hypo_orders;
            GRANT SELECT ON hypo_orders TO vitals;
            """)
        let indexesBefore = try await server.superuser("SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes")
        let logs = PostgresLogCapture()
        let app = try makePostgresTestApplication(
            [
                ("postgres.dsn", server.dsn), ("postgres.interval", "500ms"),
                ("slow-query.log-path", try env.require("VITALS_TEST_PG_LOG")),
                ("slow-query.log-line-prefix", try env.require("VITALS_TEST_PG_LOG_LINE_PREFIX")), ("slow-query.poll-interval", "50ms"),
                ("findings.interval", "1s"), ("findings.window", "20s"), ("findings.hypopg", "true"),
            ], logs: logs)
        try await app.test(.router) { client in
            var finding: [String: Any]?
            var body = ""
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline, finding == nil {
                try await server.superuser("SELECT count(*) FROM hypo_orders WHERE customer_id = 42 AND note <> '\(Self.literal)'")
                try await Task.sleep(for: .milliseconds(500))
                body = try await client.execute(uri: "/findings", method: .get) { String(buffer: $0.body) }
                let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
                finding = (json?["findings"] as? [[String: Any]] ?? []).first { entry in
                    entry["kind"] as? String == "missing_index"
                        && (entry["evidence"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "estimated_cost_after" }
                }
            }
            let found = try #require(finding, "no missing_index finding with an estimate: \(body)")
            let evidence = found["evidence"] as? [[String: Any]] ?? []
            let before = try #require(evidence.first { $0["name"] as? String == "estimated_cost_before" }?["value"] as? Double)
            let after = try #require(evidence.first { $0["name"] as? String == "estimated_cost_after" }?["value"] as? Double)
            #expect(after < before)
            #expect(evidence.first { $0["name"] as? String == "estimated_cost_after" }?["unit"] as? String == "cost")
            let action = found["action"] as? String ?? ""
            #expect(action.contains("CREATE INDEX CONCURRENTLY ON hypo_orders (customer_id);"))
            #expect(action.contains("hypopg estimates the plan cost falls from"))
            print("hypopg end to end: \(found["subject"] ?? "") cost \(before) → \(after)")

            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(ScrapedMetrics(metrics).sum("vitals_hypopg_estimates_total") >= 1)
            var everything = body + metrics + logs.text
            for uri in ["/slow-queries", "/statements", "/ready", "/"] {
                everything += try await client.execute(uri: uri, method: .get) { String(buffer: $0.body) }
            }
            #expect(!everything.contains(Self.literal), "the statement's literal must stay in memory")
        }
        #expect(try await server.superuser("SELECT string_agg(indexdef, ';' ORDER BY indexdef) FROM pg_indexes") == indexesBefore)
    }
}
