import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

@testable import Vitals

/// Against the real PostgreSQL 16 and 18 of `scripts/test-servers.sh start-versions` (binaries
/// from the pgserver wheels, started by `scripts/test.sh`). A version whose `VITALS_TEST_PGNN_DSN`
/// is not set is skipped. Neither server preloads pg_stat_statements, so the missing-extension
/// path is what they show for statements.
@Suite(.serialized) struct PostgresVersionsIntegrationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let versions: [Int] = [16, 18].filter { environment["VITALS_TEST_PG\($0)_DSN"] != nil }

    static func superuser(_ version: Int, _ sql: String) async throws {
        let dsn = try #require(environment["VITALS_TEST_PG\(version)_SUPERUSER_DSN"])
        let (status, output) = try await ChildProcess.run("/usr/bin/psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql], timeout: .seconds(60))
        try #require(status == 0, "psql failed: \(output)")
    }

    @Test(arguments: versions)
    func everyCollectorRunsAndAMissingPgStatStatementsSaysHowToEnableIt(version: Int) async throws {
        let dsn = try #require(Self.environment["VITALS_TEST_PG\(version)_DSN"])
        try await Self.superuser(
            version,
            """
            DROP TABLE IF EXISTS vitals_versions; CREATE TABLE vitals_versions (id int PRIMARY KEY, v int);
            CREATE INDEX vitals_versions_v ON vitals_versions (v);
            INSERT INTO vitals_versions SELECT g, g % 10 FROM generate_series(1, 1000) g; ANALYZE vitals_versions;
            """)
        let logs = PostgresLogCapture()
        let app = try makePostgresTestApplication(
            [("postgres.dsn", dsn), ("postgres.interval", "300ms"), ("postgres.slow-interval", "300ms")], logs: logs)
        try await app.test(.router) { client in
            let body = try await postgresScrapeUntil(client) { metrics, _ in
                metrics.sum("pg_up") == 1 && !metrics.values("pg_stat_user_indexes_idx_scan", where: ["relname": "vitals_versions"]).isEmpty
                    && !metrics.values("pg_settings_max_connections").isEmpty
            }
            let metrics = ScrapedMetrics(body)
            #expect(metrics.values("pg_static").first?.labels["short_version"]?.hasPrefix("\(version).") == true)
            for name in PostgresIntegrationTests.dashboardMetrics {
                #expect(!metrics.values(name).isEmpty, "PostgreSQL \(version): \(name) is missing")
            }
            for collector in PostgresCollectorName.allCases where collector != .statStatements {
                #expect(
                    metrics.sum("pg_scrape_collector_success", where: ["collector": collector.rawValue]) == 1,
                    "PostgreSQL \(version): \(collector.rawValue) failed")
            }
            #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": "stat_statements"]) == 0)
            // Not a scrape error: postgres-mixin alerts on it, and the server is healthy.
            #expect(metrics.sum("pg_exporter_last_scrape_error") == 0)
            #expect(metrics.values("pg_stat_user_indexes_idx_scan_total").isEmpty)
            #expect(!metrics.values("pg_stat_user_indexes_idx_tup_fetch", where: ["indexrelname": "vitals_versions_v"]).isEmpty)

            // The views added for 14–18, from the server itself.
            #expect(!metrics.values("pg_stat_io_reads_total", where: ["backend_type": "client backend"]).isEmpty)
            // Bytes from op_bytes (16) or from 18's own byte columns: some were read either way.
            #expect(metrics.sum("pg_stat_io_read_bytes_total") + metrics.sum("pg_stat_io_write_bytes_total") > 0, "PostgreSQL \(version): no pg_stat_io bytes")
            #expect(!metrics.values("pg_stat_database_sessions_total", where: ["datname": "app"]).isEmpty)
            #expect(!metrics.values("pg_database_wraparound_age_datfrozenxid_seconds", where: ["datname": "app"]).isEmpty)
            #expect((metrics.values("pg_database_wraparound_freeze_max_age_ratio", where: ["datname": "app"]).first?.value ?? 1) < 1)
            #expect(!metrics.values("pg_stat_archiver_archived_count").isEmpty)
            #expect(!metrics.values("pg_statio_user_tables_heap_blocks_hit", where: ["relname": "vitals_versions"]).isEmpty)
            #expect(!metrics.values("pg_statio_user_indexes_idx_blks_hit_total", where: ["indexrelname": "vitals_versions_v"]).isEmpty)
            #expect(body.contains("# TYPE pg_stat_progress_vacuum_phase gauge\n"), "declared even with no vacuum running")

            let command = "CREATE EXTENSION pg_stat_statements;"
            // Read until both say it: a pass that overran its deadline on a loaded machine (seen once)
            // marks the target down for a moment, and down has no collector to explain.
            var ready = ""
            var statements = ""
            try await PostgresProbeIntegrationTests.waitUntil(timeout: .seconds(60)) {
                ready = try await client.execute(uri: "/ready", method: .get) { String(buffer: $0.body) }
                statements = try await client.execute(uri: "/statements", method: .get) { String(buffer: $0.body) }
                return ready.contains(command) && statements.contains("\"unavailable\":[")
            }
            #expect(ready.contains(command) && ready.contains("shared_preload_libraries"), "/ready: \(ready)")
            #expect(statements.contains("\"unavailable\":[") && statements.contains(command), "/statements: \(statements)")
            #expect(logs.text.contains(command), "the log says how to enable it")

            let promtool = try #require(TestEnvironment.tool("promtool", variable: "VITALS_TEST_PROMTOOL"), "promtool not installed")
            let (_, lint) = try await ChildProcess.run(promtool, ["check", "metrics"], stdin: Data(body.utf8))
            let legacy = Set(PostgresIntegrationTests.legacyNames)
            let complaints = lint.split(separator: "\n").filter { line in
                guard let name = line.split(separator: " ").first else { return false }
                return !legacy.contains(String(name))
            }
            #expect(complaints.isEmpty, "PostgreSQL \(version) promtool: \(complaints.joined(separator: "; "))")
        }
        try await Self.superuser(version, "DROP TABLE IF EXISTS vitals_versions")
    }
}
