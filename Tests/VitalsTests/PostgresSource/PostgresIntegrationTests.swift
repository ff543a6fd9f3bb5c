import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import Vitals

/// Against the real PostgreSQL 15 of `scripts/test-servers.sh`. Serialized: one test stops and
/// restarts the server, and connection counts must not see another test's daemon.
@Suite(.serialized) struct PostgresIntegrationTests {
    /// Every metric dashboard 9628 ("PostgreSQL Database") and the postgres-mixin (dashboard and
    /// alerts) query, except the process_* ones the foundation provides (checked too).
    static let dashboardMetrics = [
        // 9628
        "pg_static", "pg_postmaster_start_time_seconds", "pg_settings_max_connections", "pg_settings_shared_buffers_bytes",
        "pg_settings_effective_cache_size_bytes", "pg_settings_maintenance_work_mem_bytes", "pg_settings_work_mem_bytes",
        "pg_settings_max_wal_size_bytes", "pg_settings_random_page_cost", "pg_settings_seq_page_cost", "pg_settings_max_worker_processes",
        "pg_settings_max_parallel_workers", "pg_stat_activity_count", "pg_stat_database_xact_commit", "pg_stat_database_xact_rollback",
        "pg_stat_database_tup_fetched", "pg_stat_database_tup_inserted", "pg_stat_database_tup_updated", "pg_stat_database_tup_returned",
        "pg_stat_database_tup_deleted", "pg_locks_count", "pg_stat_database_blks_hit", "pg_stat_database_blks_read",
        "pg_stat_bgwriter_buffers_backend_total", "pg_stat_bgwriter_buffers_alloc_total", "pg_stat_bgwriter_buffers_backend_fsync_total",
        "pg_stat_bgwriter_buffers_checkpoint_total", "pg_stat_bgwriter_buffers_clean_total", "pg_stat_database_conflicts",
        "pg_stat_database_deadlocks", "pg_stat_database_temp_bytes", "pg_stat_bgwriter_checkpoint_write_time_total",
        "pg_stat_bgwriter_checkpoint_sync_time_total",
        "process_cpu_seconds_total", "process_resident_memory_bytes", "process_virtual_memory_bytes", "process_open_fds",
        // postgres-mixin dashboard and alerts
        "pg_up", "pg_stat_database_numbackends", "pg_settings_superuser_reserved_connections", "pg_stat_activity_max_tx_duration",
        "pg_settings_max_locks_per_transaction", "pg_xlog_position_bytes", "pg_replication_is_replica", "pg_replication_lag",
        "pg_exporter_last_scrape_error", "pg_stat_user_tables_n_dead_tup", "pg_stat_user_tables_n_live_tup",
        "pg_settings_autovacuum_vacuum_scale_factor", "pg_settings_autovacuum_vacuum_threshold", "pg_stat_bgwriter_checkpoints_timed_total",
        "pg_stat_bgwriter_checkpoints_req_total",
    ]
    /// Queried by the mixin's alerts but only with a standby or a replication slot: the family is
    /// declared (HELP and TYPE) with no series on a lone primary.
    static let replicationFamilies = [
        "pg_stat_replication_pg_xlog_location_diff", "pg_replication_slots_active", "pg_replication_slots_xmin_age",
        "pg_stat_replication_pg_wal_lsn_diff",
    ]

    /// postgres_exporter's own names, kept as they are so that existing dashboards and alerts work:
    /// the only ones promtool may complain about.
    static var legacyNames: [String] {
        StatDatabaseCollector.counters.map(\.metric.name) + StatDatabaseCollector.conflictCounters.map(\.metric.name)
            + StatUserTablesCollector.tableCounters.map(\.metric.name) + StatUserTablesCollector.indexCounters.map(\.name)
            + StatArchiverCollector().metrics.filter { $0.type == .counter }.map(\.name)
            + StatioUserTablesCollector.tableCounters.map(\.metric.name)
            // Settings are named after the server's (wal_summary_keep_time: PostgreSQL 17+).
            + ["pg_locks_count", "pg_stat_activity_count", "pg_settings_tcp_keepalives_count", "pg_settings_wal_summary_keep_time_seconds"]
    }

    @Test func pgMonitorRoleServesEveryDashboardMetricWithEveryCollectorSucceeding() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let password = "monitor-\(UInt32.random(in: 0...UInt32.max))"
        try await server.superuser(
            """
            DROP ROLE IF EXISTS vitals_monitor_only; CREATE ROLE vitals_monitor_only LOGIN PASSWORD '\(password)' IN ROLE pg_monitor;
            CREATE TABLE IF NOT EXISTS vitals_probe (id int PRIMARY KEY); INSERT INTO vitals_probe VALUES (1) ON CONFLICT DO NOTHING;
            """)
        let app = try makePostgresTestApplication([
            ("postgres.dsn", server.dsn(user: "vitals_monitor_only", password: password)), ("postgres.interval", "300ms"),
            ("postgres.slow-interval", "300ms"),
            // Its own database only: tests running beside it create and drop theirs `WITH (FORCE)`,
            // and a full run once saw stat_user_tables fail one pass while they did.
            ("postgres.include-databases", "app"),
        ])
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client) { metrics, _ in
                metrics.sum("pg_up") == 1 && !metrics.values("pg_stat_user_tables_n_live_tup").isEmpty
                    && !metrics.values("pg_settings_max_connections").isEmpty
            }
            let metrics = ScrapedMetrics(body)
            for name in Self.dashboardMetrics {
                #expect(!metrics.values(name).isEmpty, "\(name) is missing")
            }
            for name in Self.replicationFamilies {
                #expect(body.contains("# TYPE \(name) gauge\n"), "\(name) is not declared")
            }
            for collector in PostgresCollectorName.allCases {
                #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": collector.rawValue]) == 1, "\(collector.rawValue) failed")
            }
            #expect(metrics.sum("pg_exporter_last_scrape_error") == 0)
            #expect(metrics.values("pg_up").first?.labels.isEmpty == true, "one target: no target label")
            #expect(metrics.sum("pg_settings_statement_timeout_seconds") == 0, "vitals' own session timeout must not show as the server's")
            #expect(metrics.values("pg_static").first?.labels["short_version"]?.hasPrefix("15.") == true)
            // The views added for other versions, as a pg_monitor role sees them on 15.
            #expect(!metrics.values("pg_database_wraparound_freeze_max_age_ratio", where: ["datname": "app"]).isEmpty)
            #expect(!metrics.values("pg_statio_user_tables_heap_blocks_hit", where: ["relname": "vitals_probe"]).isEmpty)
            #expect(!metrics.values("pg_stat_user_indexes_idx_scan", where: ["indexrelname": "vitals_probe_pkey"]).isEmpty)
            #expect(!metrics.values("pg_stat_database_sessions_total", where: ["datname": "app"]).isEmpty)
            #expect(metrics.values("pg_stat_io_reads_total").isEmpty && body.contains("# TYPE pg_stat_io_reads_total counter\n") == false)

            // promtool's linter: the only complaints allowed are about postgres_exporter's own
            // names, kept as they are so that existing dashboards work.
            let promtool = try #require(TestEnvironment.tool("promtool", variable: "VITALS_TEST_PROMTOOL"), "promtool not installed")
            let (_, lint) = try await ChildProcess.run(promtool, ["check", "metrics"], stdin: Data(body.utf8))
            let legacy = Set(Self.legacyNames)
            let complaints = lint.split(separator: "\n").filter { line in
                guard let name = line.split(separator: " ").first else { return false }
                return !legacy.contains(String(name))
            }
            #expect(complaints.isEmpty, "promtool: \(complaints.joined(separator: "; "))")
        }
        try await server.superuser("DROP ROLE IF EXISTS vitals_monitor_only")
    }

    @Test func workloadMovesSeqScansStatementsIdleInTransactionAndLocks() async throws {
        guard let server = PostgresTestServer.require() else { return }
        try await server.superuser(
            """
            DROP TABLE IF EXISTS vitals_big, vitals_small;
            CREATE TABLE vitals_big (id int, note text);
            INSERT INTO vitals_big SELECT g, md5(g::text) FROM generate_series(1, 100000) g;
            CREATE TABLE vitals_small (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false);
            CREATE INDEX vitals_small_v ON vitals_small (v);
            INSERT INTO vitals_small SELECT g, g FROM generate_series(1, 5000) g;
            DELETE FROM vitals_small WHERE id <= 2500;
            GRANT SELECT ON vitals_big, vitals_small TO vitals;
            ANALYZE vitals_big;
            """)
        // The unindexed lookups a missing index causes: five sequential scans of 100k rows.
        for _ in 0..<5 { try await server.superuser("SELECT count(*) FROM vitals_big WHERE note = 'nothing'") }

        let app = try makePostgresTestApplication([
            ("postgres.dsn", server.dsn), ("postgres.interval", "300ms"), ("postgres.slow-interval", "300ms"),
        ])
        try await app.test(.router) { client in
            // A session idle in a transaction that holds an ACCESS EXCLUSIVE lock, and one waiting for it.
            let holder = try PostgresTestSession(dsn: server.superuserDSN)
            try holder.run("BEGIN; LOCK TABLE vitals_small IN ACCESS EXCLUSIVE MODE")
            let waiter = Task.detached { try? PostgresTestSession(dsn: server.superuserDSN).run("SELECT count(*) FROM vitals_small", timeout: .seconds(8)) }
            defer { waiter.cancel() }

            let big = ["datname": "app", "schemaname": "public", "relname": "vitals_big"]
            let body = try await postgresScrapeUntil(client) { metrics, _ in
                metrics.sum("pg_stat_user_tables_seq_tup_read", where: big) >= 500_000
                    && metrics.sum("pg_stat_activity_count", where: ["datname": "app", "state": "idle in transaction"]) >= 1
                    && metrics.sum("pg_stat_activity_lock_waiting_sessions", where: ["datname": "app"]) >= 1
                    // pg_locks is read by another statement of the pass than pg_stat_activity: the
                    // waiter can start waiting between the two (CI saw the one without the other).
                    && metrics.sum("pg_locks_waiting", where: ["datname": "app"]) >= 1
            }
            let metrics = ScrapedMetrics(body)
            #expect(metrics.sum("pg_stat_user_tables_seq_scan", where: big) >= 5)
            #expect(metrics.sum("pg_stat_user_tables_seq_tup_read", where: big) >= 500_000)
            #expect(metrics.sum("pg_stat_user_tables_table_size_bytes", where: big) > 1_000_000)
            #expect(metrics.sum("pg_stat_activity_count", where: ["datname": "app", "state": "idle in transaction"]) >= 1)
            #expect(metrics.sum("pg_stat_activity_idle_in_transaction_sessions", where: ["datname": "app"]) >= 1)
            #expect(metrics.sum("pg_stat_activity_lock_waiting_sessions", where: ["datname": "app"]) >= 1)
            #expect(metrics.sum("pg_locks_count", where: ["datname": "app", "mode": "accessexclusivelock"]) >= 1)
            #expect(metrics.sum("pg_locks_waiting", where: ["datname": "app"]) >= 1)

            // Statements: the scan query is among the top ones, its text only on /statements.
            let statements = try await client.execute(uri: "/statements", method: .get) { String(buffer: $0.body) }
            let decoded = try JSONSerialization.jsonObject(with: Data(statements.utf8)) as? [String: Any]
            let entries = decoded?["statements"] as? [[String: Any]] ?? []
            let scan = try #require(entries.first { ($0["query"] as? String)?.contains("vitals_big WHERE note") == true }, "no statement for the scan")
            let queryid = try #require(scan["queryid"] as? String)
            #expect(metrics.sum("pg_stat_statements_calls_total", where: ["queryid": queryid, "datname": "app", "user": "postgres"]) >= 5)
            #expect(metrics.sum("pg_stat_statements_seconds_total", where: ["queryid": queryid]) > 0)
            #expect(!body.contains("vitals_big WHERE"), "query text never becomes a label")

            // Per-table and index health, after the slow pass saw the deleted rows and the unused index.
            // (Autovacuum is off for the table: it would otherwise clear the dead rows at any moment.)
            let small = try await postgresScrapeUntil(client) { metrics, _ in
                !metrics.values("pg_index_unused", where: ["relname": "vitals_small", "indexrelname": "vitals_small_v"]).isEmpty
                    && metrics.sum("pg_stat_user_tables_dead_tuple_ratio", where: ["relname": "vitals_small"]) > 0
            }
            let smallMetrics = ScrapedMetrics(small)
            #expect(smallMetrics.sum("pg_index_unused", where: ["indexrelname": "vitals_small_v"]) == 1)
            #expect(smallMetrics.values("pg_index_unused", where: ["indexrelname": "vitals_small_pkey"]).isEmpty, "primary keys are never 'unused'")
            #expect(smallMetrics.sum("pg_stat_user_tables_dead_tuple_ratio", where: ["relname": "vitals_small"]) > 0)
            try holder.run("ROLLBACK")
        }
        try await server.superuser("DROP TABLE IF EXISTS vitals_big, vitals_small")
    }

    /// A real row-lock wait between two sessions names its relation, in the metric and in the
    /// finding; an unused index becomes a drop candidate; a lookup by key is flagged; the test's
    /// sessions count under their application_name.
    @Test func lockWaitRelationUnusedIndexLookupsAndApplicationsReachTheFindings() async throws {
        guard let server = PostgresTestServer.require() else { return }
        try await server.superuser(
            """
            DROP TABLE IF EXISTS vitals_locked;
            CREATE TABLE vitals_locked (id int PRIMARY KEY, v int);
            CREATE INDEX vitals_locked_v_unused ON vitals_locked (v);
            INSERT INTO vitals_locked SELECT g, g FROM generate_series(1, 100) g;
            GRANT SELECT ON vitals_locked TO vitals;
            """)
        for id in 1...3 { try await server.superuser("SELECT v FROM vitals_locked WHERE id = \(id)") }

        let app = try makePostgresTestApplication([
            ("postgres.dsn", server.dsn), ("postgres.interval", "300ms"), ("postgres.slow-interval", "300ms"),
            ("findings.interval", "1s"), ("findings.window", "2s"), ("postgres.statements.limit", "5000"),
        ])
        try await app.test(.router) { client in
            let holder = try PostgresTestSession(dsn: server.superuserDSN)
            try holder.run("BEGIN; UPDATE vitals_locked SET v = -1 WHERE id = 7")
            // Two waiters: the first waits on the holder's transaction id (holding the row's tuple
            // lock), the second on that tuple lock; both are on vitals_locked. On threads of their own:
            // two blocked tasks would take every thread of the cooperative pool on a 2-core machine.
            for _ in 0..<2 {
                Thread { _ = try? PostgresTestSession(dsn: server.superuserDSN).run("UPDATE vitals_locked SET v = -2 WHERE id = 7", timeout: .seconds(15)) }.start()
            }

            let relation = ["datname": "app", "relation": "public.vitals_locked"]
            let body = try await postgresScrapeUntil(client) { metrics, _ in
                // Each family comes from its own query of a pass: wait until one pass saw them all.
                metrics.sum("pg_locks_waiting_relation", where: relation) >= 2
                    && metrics.sum("pg_stat_activity_application_sessions", where: ["datname": "app", "application_name": "vitals-test"]) >= 3
                    && metrics.sum("pg_index_unused", where: ["indexrelname": "vitals_locked_v_unused"]) == 1
                    && !metrics.values("pg_stat_statements_single_row_lookup").isEmpty
            }
            let metrics = ScrapedMetrics(body)
            #expect(metrics.sum("pg_locks_waiting_relation", where: relation) >= 2)
            #expect(metrics.sum("pg_stat_activity_application_sessions", where: ["datname": "app", "application_name": "vitals-test"]) >= 3)

            // The lookup is flagged under its queryid; its text stays on /statements.
            let statements = try await client.execute(uri: "/statements", method: .get) { String(buffer: $0.body) }
            let decoded = try JSONSerialization.jsonObject(with: Data(statements.utf8)) as? [String: Any]
            let entries = decoded?["statements"] as? [[String: Any]] ?? []
            let lookup = try #require(entries.first { ($0["query"] as? String)?.contains("FROM vitals_locked WHERE id = $1") == true })
            let queryid = try #require(lookup["queryid"] as? String)
            #expect(metrics.sum("pg_stat_statements_single_row_lookup", where: ["queryid": queryid]) == 1)
            let update = entries.first { ($0["query"] as? String)?.hasPrefix("UPDATE vitals_locked") == true }
            #expect(update.map { metrics.values("pg_stat_statements_single_row_lookup", where: ["queryid": $0["queryid"] as? String ?? ""]).isEmpty } ?? true)

            let findings = try await postgresScrapeUntil(client, uri: "/findings") { _, body in
                body.contains("\"subject\":\"public.vitals_locked in app\"") && body.contains("vitals_locked_v_unused")
            }
            #expect(findings.contains("\"kind\":\"lock_waits\",\"subject\":\"public.vitals_locked in app\""))
            #expect(findings.contains("\"kind\":\"unused_index\",\"subject\":\"public.vitals_locked_v_unused on public.vitals_locked in app\""))
            #expect(findings.contains("DROP INDEX CONCURRENTLY public.vitals_locked_v_unused;"))
            #expect(!findings.contains("vitals_locked_pkey"), "a primary key is never a drop candidate")
            try holder.run("ROLLBACK")
        }
        try await server.superuser("DROP TABLE IF EXISTS vitals_locked")
    }

    /// A host name is resolved by vitals within the deadline and handed to libpq as `hostaddr`
    /// (the server listens on 127.0.0.1 only, so libpq may also meet a refused ::1 first).
    /// One pipeline on the real server: each statement gets its own answer, a failing one makes
    /// the server skip only what follows it, and the connection serves the next query.
    @Test func aPipelineAnswersEachStatementAndAFailureSkipsWhatFollows() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let session = try PostgresTestSession(dsn: server.dsn)
        session.connection.deadline = .now + .seconds(10)
        let answers = try session.connection.pipeline(["SELECT 1 AS one", "SELECT 2 AS two, 3 AS three", "SELECT 1/0 AS boom", "SELECT 4 AS four"])
        #expect(answers.count == 4)
        guard case .rows(let one, _) = answers[0], case .rows(let two, _) = answers[1] else {
            Issue.record("the first two statements should have rows: \(answers)")
            return
        }
        #expect(one.first?["one"] == "1")
        #expect(two.first?["two"] == "2" && two.first?["three"] == "3")
        guard case .failed(let error, _) = answers[2] else {
            Issue.record("the division by zero should fail: \(answers[2])")
            return
        }
        #expect(error.sqlState == "22012" && !error.breaksConnection)
        guard case .aborted = answers[3] else {
            Issue.record("the statement after the failure should be skipped: \(answers[3])")
            return
        }
        #expect(try session.value("SELECT 5") == "5", "the connection is usable after the pipeline")
    }

    /// The fast collectors on the real server: a first pass asks each statement, the second sends
    /// them all at once and asks the connection nothing (the top statements' texts included), with
    /// the same collectors succeeding and the same families published.
    @Test func theSecondPassIsOnePipelineWithTheSameResults() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let session = try PostgresTestSession(dsn: server.dsn)
        let live = CountingSession(session.connection)
        let context = PostgresCollectionContext(serverVersion: session.connection.serverVersion)
        let collectors = PostgresSource.collectors(.fast, disabled: [])
        session.connection.deadline = .now + .seconds(10)

        var first = PostgresPassResult()
        let firstSession = PostgresReplaySession(live: live, plan: [], answers: [])
        PostgresTargetWorker.run(collectors, on: firstSession, context: context, into: &first)
        let plan = firstSession.nextPlan
        #expect(plan.count >= collectors.count - 1, "about one statement per collector: \(plan.count)")

        #expect(live.asked.contains { $0.contains("pg_stat_statements(true)") }, "the first pass asks the top statements' texts")
        #expect(!plan.contains { $0.contains("pg_stat_statements(true)") }, "and does not plan to ask them again")

        let asked = live.asked.count
        var second = PostgresPassResult()
        // As the worker does: the texts are carried on, so the second pass asks for none.
        var carried = context
        carried.statementTexts = try #require(first.outcomes[.statStatements]?.statementTexts)
        #expect(carried.statementTexts.count > 0)
        let secondSession = PostgresReplaySession(live: live, plan: plan, answers: try session.connection.pipeline(plan))
        PostgresTargetWorker.run(collectors, on: secondSession, context: carried, into: &second)
        // Other tests share the server: a statement of theirs new in the top has its text asked,
        // and only such a one.
        let again = live.asked.dropFirst(asked)
        #expect(again.allSatisfy { $0.contains("pg_stat_statements(true)") }, "asked live in the second pass: \(again)")
        let known = Set(carried.statementTexts.keys.map { String($0.queryid) })
        for sql in again {
            let queryids = sql.components(separatedBy: "'{").last?.components(separatedBy: "}'::bigint[]").first?.split(separator: ",") ?? []
            #expect(!queryids.isEmpty && queryids.allSatisfy { !known.contains(String($0)) }, "a text asked again: \(sql)")
        }
        #expect(second.connectionError == nil)
        func succeeded(_ result: PostgresPassResult) -> [PostgresCollectorName] { result.outcomes.filter(\.value.success).keys.sorted() }
        #expect(succeeded(second) == succeeded(first))
        #expect(succeeded(second).count >= collectors.count - 1, "failed: \(second.outcomes.filter { !$0.value.success })")
        func families(_ result: PostgresPassResult) -> [String] {
            var sink = PostgresMetricSink()
            for outcome in result.outcomes.values { sink.append(outcome.metrics) }
            return sink.build().map(\.descriptor.name).sorted()
        }
        #expect(families(second) == families(first))
        #expect(secondSession.nextPlan == plan)
    }

    /// At rest the settings, and the other statistics nobody moves, come back as the same rows
    /// pass after pass, so the second pass hands back the first pass's samples
    /// (``PostgresMappedRows``), and what is published is what mapping them again gives.
    @Test func unchangedRowsOnARealServerAreNotMappedAgain() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let session = try PostgresTestSession(dsn: server.dsn)
        session.connection.deadline = .now + .seconds(10)
        var context = PostgresCollectionContext(serverVersion: session.connection.serverVersion)
        let collectors = PostgresSource.collectors(.slow, disabled: []) + [PostmasterCollector()]
        var first = PostgresPassResult()
        PostgresTargetWorker.run(collectors, on: session.connection, context: context, into: &first)
        for collector in collectors { context.mappedRows[collector.name] = first.outcomes[collector.name]?.mappedRows }
        var second = PostgresPassResult()
        PostgresTargetWorker.run(collectors, on: session.connection, context: context, into: &second)

        for name in [PostgresCollectorName.settings, .postmaster] {
            let before = try #require(first.outcomes[name]?.mappedRows, "\(name)")
            let after = try #require(second.outcomes[name]?.mappedRows, "\(name)")
            #expect(after.rows == before.rows, "\(name)'s rows changed between two passes at rest")
            #expect(second.outcomes[name]?.metrics == first.outcomes[name]?.metrics)
        }
        let settings = try #require(second.outcomes[.settings]?.mappedRows?.rows.first)
        #expect(settings.count > 100)
        var fresh = PostgresMetricSink()
        SettingsCollector.map(settings, into: &fresh)
        #expect(second.outcomes[.settings]?.metrics == fresh)
    }

    /// The worker carries what each collector mapped from pass to pass: at rest the second slow
    /// and fast passes hand back the first ones' samples, and new credentials start over.
    @Test func theWorkerHandsBackUnchangedSamplesUntilTheCredentialsChange() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let info = try PostgresConnectionInfo(server.dsn)
        let worker = PostgresTargetWorker(
            settings: .init(
                info: info, timeout: .seconds(10), statementTimeout: .seconds(5), lockTimeout: .seconds(1),
                context: PostgresCollectionContext(serverVersion: 0), fastCollectors: PostgresSource.collectors(.fast, disabled: []),
                slowCollectors: PostgresSource.collectors(.slow, disabled: []), tablesEnabled: true),
            cancellation: PostgresCancellation())
        defer { worker.close() }
        func pass() -> CollectionPass { CollectionPass(deadline: .now + .seconds(20)) }
        func samples(_ result: PostgresPassResult, _ name: PostgresCollectorName) throws -> PostgresMetricSink {
            #expect(result.connectionError == nil)
            let outcome = try #require(result.outcomes[name], "\(name)")
            #expect(outcome.success, "\(name): \(String(describing: outcome.error))")
            return outcome.metrics
        }

        let firstSlow = try samples(worker.slowPass(pass()), .settings)
        let secondSlow = try samples(worker.slowPass(pass()), .settings)
        #expect(secondSlow.sharesSamples(with: firstSlow), "the settings were mapped again")
        let firstFast = try samples(worker.fastPass(pass()), .postmaster)
        let secondFast = try samples(worker.fastPass(pass()), .postmaster)
        #expect(secondFast.sharesSamples(with: firstFast), "the postmaster's start time was mapped again")

        worker.replace(info)
        let afterReplace = try samples(worker.slowPass(pass()), .settings)
        #expect(afterReplace == secondSlow)
        #expect(!afterReplace.sharesSamples(with: secondSlow), "new credentials keep nothing mapped with the old ones")
    }

    @Test func aHostNameConnectsThroughTheBoundedResolver() async throws {
        guard let server = PostgresTestServer.require() else { return }
        #expect(server.dsn.contains("@127.0.0.1:"))
        let byName = server.dsn.replacingOccurrences(of: "@127.0.0.1:", with: "@localhost:")
        #expect(try PostgresConnectionInfo(byName).hostToResolve == "localhost")
        let app = try makePostgresTestApplication([("postgres.dsn", byName), ("postgres.interval", "1s")])
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client) { metrics, _ in metrics.sum("pg_up") == 1 }
            #expect(ScrapedMetrics(body).sum("pg_up") == 1)
        }
    }

    @Test func refusedConnectionIsDownOnTheFirstPassAndReadySaysWhy() async throws {
        let port = TestEnvironment.freePort()
        let app = try makePostgresTestApplication([
            ("postgres.dsn", "postgresql://vitals:pw-refused@127.0.0.1:\(port)/app"), ("postgres.interval", "1s"),
        ])
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client, timeout: .seconds(5)) { metrics, _ in metrics.values("pg_up").first?.value == 0 }
            let metrics = ScrapedMetrics(body)
            #expect(metrics.values("pg_up").first?.value == 0)
            #expect(metrics.sum("pg_scrape_collector_success") == 0)
            #expect(metrics.values("pg_scrape_collector_success").count == PostgresCollectorName.allCases.count)
            #expect(metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "reason": "connect"]) >= 1)
            let ready = try await postgresScrapeUntil(client, uri: "/ready") { _, body in body.contains("\"reason\":\"connect\"") }
            #expect(ready.contains("\"state\":\"down\""))
        }
    }

    /// Another database without user tables is visited by one slow pass in ten, not every one (each
    /// visit is two connection setups); once it has a table, by every pass again.
    @Test func anEmptyOtherDatabaseIsVisitedRarelyUntilItHasATable() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let database = "vitals_visits_\(UInt32.random(in: 0...UInt32.max))"
        try await server.superuser("CREATE DATABASE \(database)", database: "postgres")
        @Sendable func sessions() async throws -> Int {
            Int(try await server.superuser("SELECT sessions FROM pg_stat_database WHERE datname = '\(database)'")) ?? -1
        }
        do {
            let app = try makePostgresTestApplication([
                ("postgres.dsn", server.dsn), ("postgres.interval", "100ms"), ("postgres.slow-interval", "200ms"),
                ("postgres.include-databases", "app,\(database)"),
            ])
            try await app.test(.router) { client in
                // The first slow pass visits it.
                let deadline = ContinuousClock.now + .seconds(30)
                while try await sessions() < 1, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
                let first = try await sessions()
                #expect(first >= 1, "never visited")
                // 4 s is 20 slow intervals: every pass would visit it 10 times or more even on a loaded
                // machine; one in ten visits it at most 3 times.
                try await Task.sleep(for: .seconds(4))
                let later = try await sessions()
                #expect(later - first <= 3, "visited \(later - first) times in 20 slow intervals")

                try await server.superuser(
                    "CREATE TABLE visited (id int PRIMARY KEY); INSERT INTO visited VALUES (1); ALTER TABLE visited OWNER TO vitals; ANALYZE visited",
                    database: database)
                let table = ["datname": database, "relname": "visited"]
                let body = try await postgresScrapeUntil(client, timeout: .seconds(30)) { metrics, _ in
                    !metrics.values("pg_stat_user_tables_n_live_tup", where: table).isEmpty
                }
                #expect(!ScrapedMetrics(body).values("pg_stat_user_tables_n_live_tup", where: table).isEmpty, "the new table never showed")
                // 8 visits within 10 s: one visit in ten would make at most 6 in 10 s (50 slow
                // intervals), every pass makes 8 in under 2 s, and still within 10 s when a loaded
                // machine slows each pass fivefold or fails most visits (fixed windows of 2 s and
                // 5 s both failed in loaded full-suite runs).
                let seen = try await sessions()
                let visitDeadline = ContinuousClock.now + .seconds(10)
                var visits = 0
                while visits < 8, ContinuousClock.now < visitDeadline {
                    try await Task.sleep(for: .milliseconds(100))
                    visits = try await sessions() - seen
                }
                #expect(visits >= 8, "a database with a table is visited by every slow pass: \(visits) visits in 10 s")
            }
        } catch {
            Issue.record(error)
        }
        try await server.superuser("DROP DATABASE IF EXISTS \(database) WITH (FORCE)", database: "postgres")
    }

    @Test func hungServerIsDownWithinTheDeadlineWhileScrapesStayFast() async throws {
        let listener = try SilentListener()
        let app = try makePostgresTestApplication([
            ("postgres.dsn", "host=127.0.0.1 port=\(listener.port) dbname=app user=vitals password=pw-hung sslmode=disable"),
            // A 6 s deadline, so that a scrape that waited on the hung pass would take seconds longer
            // than the 4 s bound below, itself a generous margin for the whole suite on two cores.
            ("postgres.interval", "1s"), ("postgres.timeout", "6s"),
        ])
        try await app.test(.router) { client in
            let start = ContinuousClock.now
            var down: Duration?
            var slowest = Duration.zero
            while ContinuousClock.now - start < .seconds(30) {
                let scrapeStart = ContinuousClock.now
                let body = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                slowest = max(slowest, ContinuousClock.now - scrapeStart)
                if ScrapedMetrics(body).values("pg_up").first?.value == 0, listener.acceptedCount > 0, down == nil {
                    down = ContinuousClock.now - start
                }
                if let down, ContinuousClock.now - start > down + .seconds(2) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let seen = try #require(down, "pg_up never became 0")
            #expect(seen < .seconds(30))
            #expect(slowest < .seconds(4), "a scrape waited on the hung server")
            let ready = try await client.execute(uri: "/ready", method: .get) { String(buffer: $0.body) }
            #expect(ready.contains("\"reason\":\"timeout\""))
        }
        #expect(listener.acceptedCount >= 1)
        #expect(listener.closedByClient == listener.acceptedCount, "every abandoned connection was closed (PQfinish)")
    }

    @Test func connectionsNeverExceedOnePerTarget() async throws {
        guard let server = PostgresTestServer.require() else { return }
        // A name of its own (vitals keeps a user-set application_name), so that no other test's
        // daemon can be counted; short intervals, so that many fast passes and per-database slow
        // passes (which switch databases) happen while sampling.
        let name = "vitals_conn_\(UInt32.random(in: 0...UInt32.max))"
        // A second database with a table, so that every slow pass visits it (one without tables is
        // visited every tenth pass, too rarely to be seen while sampling).
        let other = "vitals_other_\(UInt32.random(in: 0...UInt32.max))"
        try await server.superuser("CREATE DATABASE \(other)", database: "postgres")
        try await server.superuser("CREATE TABLE visited (id int PRIMARY KEY); ALTER TABLE visited OWNER TO vitals", database: other)
        defer { _ = try? PostgresTestSession(dsn: server.superuserDSN).run("DROP DATABASE IF EXISTS \(other) WITH (FORCE)") }
        let app = try makePostgresTestApplication([
            ("postgres.dsn", server.dsn + "&application_name=\(name)"), ("postgres.interval", "200ms"), ("postgres.slow-interval", "200ms"),
            ("postgres.include-databases", "app,\(other)"),
        ])
        let observer = try PostgresTestSession(dsn: server.superuserDSN)
        let count = "SELECT count(*) FROM pg_stat_activity WHERE application_name = '\(name)'"
        try await app.test(.router) { client in
            _ = try await postgresScrapeUntil(client) { metrics, _ in metrics.sum("pg_up") == 1 }
            var most = 0
            var samples = 0
            var databases = Set<String>()
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(4) {
                let rows = try observer.run("SELECT datname FROM pg_stat_activity WHERE application_name = '\(name)'")
                most = max(most, rows.count)
                databases.formUnion(rows.rows.compactMap { $0["datname"] })
                samples += 1
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(samples > 50)
            #expect(most == 1, "at most one vitals connection at a time, saw \(most)")
            #expect(databases == ["app", other], "the slow passes switched databases one connection at a time")
        }
        // After shutdown the connection is gone: closed, not leaked.
        var remaining = "1"
        for _ in 0..<50 {
            remaining = try observer.value(count)
            if remaining == "0" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(remaining == "0")
    }

    @Test func serverStopAndRestartAreFollowed() async throws {
        let directory = try TemporaryDirectory()
        let server = try await PostgresTestServer.startPrivate(in: directory.path + "/servers")
        let app = try makePostgresTestApplication([("postgres.dsn", server.dsn), ("postgres.interval", "500ms")])
        do {
            try await app.test(.router) { client in
                var body = try await postgresScrapeUntil(client) { metrics, _ in metrics.sum("pg_up") == 1 }
                #expect(ScrapedMetrics(body).sum("pg_up") == 1)
                try await server.pgctl("stop")
                do {
                    body = try await postgresScrapeUntil(client, timeout: .seconds(5)) { metrics, _ in metrics.values("pg_up").first?.value == 0 }
                    #expect(ScrapedMetrics(body).values("pg_up").first?.value == 0)
                } catch {
                    Issue.record(error)
                }
                try await server.pgctl("start")
                let started = ContinuousClock.now
                body = try await postgresScrapeUntil(client, timeout: .seconds(20)) { metrics, _ in metrics.sum("pg_up") == 1 }
                #expect(ScrapedMetrics(body).sum("pg_up") == 1)
                // Backoff is capped at the 500 ms interval: recovery within about one interval of the
                // restart; 8 s is a generous margin for a loaded machine, and uncapped doubling over the
                // stop would wait longer.
                #expect(ContinuousClock.now - started < .seconds(8))
            }
        } catch {
            Issue.record(error)
        }
        await PostgresTestServer.stopPrivate(in: directory.path + "/servers")
    }

    @Test func severalTargetsCarryATargetLabel() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let other = server.dsn.replacingOccurrences(of: "/app?", with: "/postgres?")
        let app = try makePostgresTestApplication([
            ("postgres.dsn", server.dsn), ("postgres.dsn", other), ("postgres.interval", "300ms"),
        ])
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client) { metrics, _ in metrics.sum("pg_up") == 2 }
            let metrics = ScrapedMetrics(body)
            let targets = Set(metrics.values("pg_up").compactMap { $0.labels["target"] })
            #expect(targets == ["127.0.0.1:\(server.port)/app", "127.0.0.1:\(server.port)/postgres"])
            #expect(metrics.samples.filter { $0.name.hasPrefix("pg_") }.allSatisfy { $0.labels["target"] != nil })
            #expect(!body.contains(server.password))
        }
    }

    @Test func thePasswordAppearsNowhere() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let wrong = "wrong-\(UInt32.random(in: 0...UInt32.max))"
        let logs = PostgresLogCapture()
        let app = try makePostgresTestApplication(
            [
                ("postgres.dsn", server.dsn),
                ("postgres.dsn", server.dsn(user: "vitals", password: wrong, database: "postgres")),
                ("postgres.dsn", "host=127.0.0.1 port=\(TestEnvironment.freePort()) dbname=x user=vitals password=\(wrong)"),
                ("postgres.interval", "300ms"),
            ], logs: logs)
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client) { metrics, _ in
                metrics.sum("pg_up") == 1 && metrics.sum("vitals_source_errors_total", where: ["reason": "auth"]) >= 1
                    && metrics.sum("vitals_source_errors_total", where: ["reason": "connect"]) >= 1
            }
            let ready = try await client.execute(uri: "/ready", method: .get) { String(buffer: $0.body) }
            let statements = try await client.execute(uri: "/statements", method: .get) { String(buffer: $0.body) }
            #expect(ready.contains("\"reason\":\"auth\""))
            #expect(logs.text.contains("postgres down"))
            for secret in [server.password, wrong] {
                #expect(!body.contains(secret), "password in /metrics")
                #expect(!ready.contains(secret), "password in /ready")
                #expect(!statements.contains(secret), "password in /statements (e.g. from a CREATE ROLE … PASSWORD statement)")
                #expect(!logs.text.contains(secret), "password in the logs")
            }
        }
    }

    /// `--postgres.statements.interval` at three fast passes: the two passes after a read keep its
    /// statement series though a statement ran meanwhile, and the next read counts its calls.
    @Test func statementsAreReadOnTheirIntervalAndKeptInBetween() async throws {
        guard let server = PostgresTestServer.require() else { return }
        // A shape no other statement has, so its queryid is its own: an alias alone would not do
        // (`SELECT 1 AS x` is one statement whatever x is), and a table of its own would make a new
        // queryid each time it was created. The alias finds it on /statements. The limit is
        // pg_stat_statements.max, so it is read however many statements the suites beside it made.
        let probe = "SELECT count(*) AS vitals_statements_schedule FROM generate_series(1, 7) AS g WHERE g IN (1, 2, 3, 5, 8, 13, 21, 34)"
        try await server.superuser(probe)
        let values = try ConfigurationValues.make(
            keys: PostgresConfiguration.keys, [
                "postgres.dsn": server.dsn, "postgres.interval": "1s", "postgres.statements.interval": "3s",
                "postgres.statements.limit": "5000", "postgres.disable-collector": "stat_user_tables",
            ])
        let configuration = try PostgresConfiguration(values: values)
        #expect(configuration.statementsEveryPasses == 3)
        let info = try #require(configuration.targets.first)
        let board = PostgresStatementsBoard()
        let passes = PostgresPasses(configuration: configuration, info: info, statements: board)
        defer { passes.close() }
        func collect() throws -> FamilySnapshot {
            let collected = passes.collect(CollectionPass(deadline: .now + .seconds(20)))
            #expect(collected.outcome.failure == nil)
            #expect(collected.outcome.partFailures["stat_statements"] == nil)
            return try #require(collected.families.first { $0.descriptor.name == "pg_stat_statements_calls_total" })
        }
        func calls(_ family: FamilySnapshot, _ queryid: String) -> Double? {
            guard case .scalar(let value) = family.series.first(where: { $0.labelValues.first == queryid })?.value else { return nil }
            return value
        }

        let read = try collect()
        let queryid = try #require(
            board.all.first { $0.query.contains("vitals_statements_schedule") }?.queryid, "the probe is not among the top statements")
        let before = try #require(calls(read, queryid))
        try await server.superuser(probe)
        try await server.superuser(probe)
        for pass in 2...3 {
            let kept = try collect()
            // A Bool: on failure, the families' dump would be thousands of characters.
            let unchanged = kept == read
            #expect(unchanged, "pass \(pass) read the statements again")
            #expect(calls(kept, queryid) == before)
        }
        let next = try collect()
        #expect(calls(next, queryid) == before + 2)
        #expect(board.all.first { $0.queryid == queryid }?.calls == before + 2)
    }
}

/// A plain libpq session for the tests' own SQL (holding locks, counting connections).
final class PostgresTestSession: @unchecked Sendable {
    let connection: PostgresConnection

    init(dsn: String) throws {
        let info = try PostgresConnectionInfo(dsn)
        // Not "vitals": these sessions must not count as the daemon's connections.
        let parameters = [("application_name", "vitals-test"), ("dbname", dsn)]
        connection = try PostgresConnection.connect(
            parameters: parameters, redactor: info.redactor, cancellation: PostgresCancellation(), deadline: .now + .seconds(5))
    }

    @discardableResult
    func run(_ sql: String, timeout: Duration = .seconds(10)) throws -> PostgresRows {
        connection.deadline = .now + timeout
        return try connection.query(sql)
    }

    func value(_ sql: String) throws -> String {
        let rows = try run(sql)
        return rows.values.first?.first.flatMap { $0 } ?? ""
    }
}
