import Foundation
import Testing

@testable import Vitals

/// vitals' Postgres connections through TLS, against a private server from
/// `scripts/test-servers.sh start DIR --tls`: its certificate names `localhost` only, and its
/// pg_hba refuses the vitals role without TLS, so `pg_up 1` there is a TLS connection.
@Suite(.serialized) struct PostgresTLSIntegrationTests {
    /// `verify-full` by host name: vitals resolves `localhost` itself and passes the address as
    /// `hostaddr`, and the certificate (no address in it) verifies only because libpq still checks
    /// the name. Every collector works through TLS, the pipelined passes included.
    @Test func verifyFullByNameCollectsEverythingOverTLS() async throws {
        try await PostgresTLSTestServer.with { tls in
            let dsn = tls.dsn("sslmode=verify-full&sslrootcert=\(tls.ca)")
            #expect(try PostgresConnectionInfo(dsn).hostToResolve == "localhost")
            let logs = PostgresLogCapture()
            let app = try makePostgresTestApplication([("postgres.dsn", dsn), ("postgres.interval", "300ms")], logs: logs)
            try await app.test(.router) { client in
                _ = try await postgresScrapeUntil(client) { metrics, _ in metrics.sum("pg_up") == 1 }
                // Several more passes: from the second on, a pass is one pipeline, read through TLS.
                try await Task.sleep(for: .seconds(2))
                let body = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                let metrics = ScrapedMetrics(body)
                #expect(metrics.sum("pg_up") == 1)
                #expect(metrics.sum("pg_scrape_collector_success") == Double(PostgresCollectorName.allCases.count), "\(metrics.values("pg_scrape_collector_success"))")
                #expect(metrics.sum("vitals_source_errors_total", where: ["source": "postgres"]) == 0)
                #expect(!metrics.values("pg_stat_statements_calls_total").isEmpty)
                // vitals' connections with TLS / all of them; a slow pass may reconnect in between, so
                // wait for one to be there.
                var encrypted = ""
                for _ in 0..<50 where encrypted.hasSuffix("/0") || encrypted.isEmpty {
                    encrypted = try await tls.server.superuser(
                        "SELECT count(*) FILTER (WHERE s.ssl) || '/' || count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) "
                            + "WHERE a.application_name = 'vitals'")
                    if encrypted.hasSuffix("/0") { try await Task.sleep(for: .milliseconds(100)) }
                }
                #expect(encrypted == "1/1", "vitals' connections with TLS / all of them")
                #expect(!body.contains(tls.server.password) && !logs.text.contains(tls.server.password))
            }
        }
    }

    /// Each way TLS fails is `pg_up 0` for its target alone, with reason `tls` and a sentence that
    /// says what to change; a server that refuses the role without TLS is `auth`. No password
    /// reaches `/metrics`, `/ready` or the log.
    @Test func tlsFailuresAreDownWithReasonTLSAndASentence() async throws {
        guard let plain = PostgresTestServer.require() else { return }
        try await PostgresTLSTestServer.with { tls in
            let port = tls.server.port
            let targets: [(dsn: String, label: String, reason: String, sentence: String)] = [
                (tls.dsn(database: "a", "sslmode=verify-full&sslrootcert=\(tls.otherCA)"), "localhost:\(port)/a", "tls", "did not verify"),
                // The certificate names localhost; an address is not a name it has.
                (tls.dsn(host: "127.0.0.1", database: "b", "sslmode=verify-full&sslrootcert=\(tls.ca)"), "127.0.0.1:\(port)/b", "tls",
                    "does not name the DSN's host"),
                (tls.dsn(database: "c", "sslmode=verify-full&sslrootcert=/nonexistent/root.crt"), "localhost:\(port)/c", "tls",
                    "need the CA's certificate"),
                (tls.dsn(database: "d", "sslmode=disable"), "localhost:\(port)/d", "auth", "rejected the credentials"),
                (plain.dsn.replacingOccurrences(of: "sslmode=disable", with: "sslmode=require"), "127.0.0.1:\(plain.port)/app", "tls",
                    "does not offer TLS"),
            ]
            let logs = PostgresLogCapture()
            let app = try makePostgresTestApplication(targets.map { ("postgres.dsn", $0.dsn) } + [("postgres.interval", "300ms")], logs: logs)
            try await app.test(.router) { client in
                let body = try await postgresScrapeUntil(client) { metrics, _ in
                    targets.allSatisfy { metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "instance": $0.label, "reason": $0.reason]) >= 1 }
                }
                let metrics = ScrapedMetrics(body)
                for target in targets {
                    #expect(metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "instance": target.label, "reason": target.reason]) >= 1, "\(target.label)")
                    #expect(metrics.values("pg_up").first { $0.labels["target"] == target.label }?.value == 0, "\(target.label)")
                }
                let ready = try await client.execute(uri: "/ready", method: .get) { String(buffer: $0.body) }
                for target in targets { #expect(ready.contains(target.sentence), "\(target.label): \(ready)") }
                #expect(ready.contains("\"reason\":\"tls\""))
                // libpq's own words, with paths and hosts, are for the log only.
                #expect(logs.text.contains("certificate verify failed"))
                #expect(!ready.contains("/nonexistent"))
                for secret in [tls.server.password, plain.password] {
                    #expect(!body.contains(secret) && !ready.contains(secret) && !logs.text.contains(secret))
                }
            }
        }
    }
}
