import Foundation
import Testing

@testable import Vitals

/// One test across everything: the real binary with every source configured with secrets (a DSN
/// file, a Redis password file, a Redis URL with a password, a YAML file), one Postgres target and
/// one Redis target failing authentication, and those secrets also fed through the data it reads
/// (`ALTER ROLE … PASSWORD` in pg_stat_statements and in the slow-statement log, a token in a
/// request's query string). Every endpoint, `check-config` and the debug log must be free of them.
/// The per-source tests (PostgresIntegrationTests.thePasswordAppearsNowhere,
/// RedisIntegrationTests.wrongPasswordIsDownWithReasonAuthAndNoSecretAnywhere) check in-process;
/// this one checks the process from outside, as an operator sees it.
@Suite(.serialized) struct SecretsEndToEndTests {
    @Test func noSecretInAnyEndpointCheckConfigOrTheDebugLog() async throws {
        guard let postgres = PostgresTestServer.require(), let redis = RedisTestServer.fromEnvironment() else { return }
        let directory = try TemporaryDirectory()
        let nonce = UInt32.random(in: 0...UInt32.max)
        let wrongPostgres = "wrongpg\(nonce)x\(UInt32.random(in: 0...UInt32.max))"
        let wrongRedis = "wrongredis\(nonce)y\(UInt32.random(in: 0...UInt32.max))"

        // Postgres through DATA_SOURCE_NAME_FILE: the good DSN and one with a wrong password.
        let wrongDSN = postgres.dsn(user: "vitals", password: wrongPostgres, database: "postgres")
        let dsnFileContents = "\(postgres.dsn),\n\(wrongDSN)\n"
        let dsnFile = directory.path + "/dsn"
        try dsnFileContents.write(toFile: dsnFile, atomically: true, encoding: .utf8)
        // Redis through REDIS_PASSWORD_FILE, and a second target whose URL carries a wrong password
        // ("localhost" so that its host:port label differs from the first one's).
        let redisPasswordFileContents = "\(redis.password)\n"
        let redisPasswordFile = directory.path + "/redis-password"
        try redisPasswordFileContents.write(toFile: redisPasswordFile, atomically: true, encoding: .utf8)
        let wrongRedisURL = "redis://:\(wrongRedis)@localhost:\(redis.port)"

        // The timing log: parsed lines, one carrying a secret in its query string.
        let timingLog = directory.path + "/app.log"
        let timingLines = (0..<20).map { "2026-11-24 12:00:00,000 INFO t GET /markets/\($0) completed in \($0 + 1).5ms" }
            + ["2026-11-24 12:00:00,000 INFO t GET /login?password=\(redis.password)&token=\(wrongPostgres) completed in 7.0ms"]
        try (timingLines.joined(separator: "\n") + "\n").write(toFile: timingLog, atomically: true, encoding: .utf8)
        // The slow-statement log: a password rotation as Postgres logs it, and an ordinary statement.
        let slowLog = directory.path + "/postgresql.log"
        let slowLines = [
            "2026-11-24 16:46:25.639 UTC [6102] postgres@app LOG:  duration: 61.021 ms  statement: ALTER ROLE vitals PASSWORD '\(postgres.password)';",
            "2026-11-24 16:46:25.700 UTC [6102] postgres@app LOG:  duration: 75.500 ms  statement: SELECT pg_sleep(0.07), '\(redis.password)' AS token, '\(wrongRedis)';",
            "2026-11-24 16:46:25.800 UTC [6102] postgres@app LOG:  duration: 90.000 ms  statement: SELECT * FROM secrets_probe WHERE id = 42;",
        ]
        try (slowLines.joined(separator: "\n") + "\n").write(toFile: slowLog, atomically: true, encoding: .utf8)

        // pg_stat_statements: a utility statement keeps its text, literals and all.
        let role = "vitals_secrets_probe_\(nonce)"
        try await postgres.superuser(
            """
            DROP ROLE IF EXISTS \(role); CREATE ROLE \(role) PASSWORD '\(postgres.password)';
            DO $$ BEGIN PERFORM pg_sleep(0.317); PERFORM '\(postgres.password)'::text; END $$;
            """)

        let port = TestEnvironment.freePort()
        let configFile = directory.path + "/vitals.yml"
        try """
        web:
          listen-address: 127.0.0.1:\(port)
        log:
          level: debug
        timing-log:
          path: [\(timingLog)]
          from-beginning: true
          poll-interval: 50ms
        slow-query.log-path: [\(slowLog)]
        slow-query.log-line-prefix: '%m [%p] %q%u@%d '
        slow-query.from-beginning: true
        slow-query.poll-interval: 50ms
        slow-query.output: log
        postgres.interval: 300ms
        postgres.statements.limit: 10000
        redis:
          addr: ['\(redis.address)', '\(wrongRedisURL)']
          interval: 300ms

        """.write(toFile: configFile, atomically: true, encoding: .utf8)
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "DATA_SOURCE_NAME_FILE": dsnFile, "REDIS_PASSWORD_FILE": redisPasswordFile,
        ]

        let daemon = try ChildProcess(TestEnvironment.vitalsBinary, ["--config.file", configFile], environment: environment)
        let base = "http://127.0.0.1:\(port)"
        // Everything has happened: all timing lines and slow statements counted, the good targets
        // up, both bad ones down with reason auth, the probe statement collected.
        let settled = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(90)) { status, body in
            let metrics = ScrapedMetrics(body)
            return status == 200 && metrics.sum("http_requests_total") == Double(timingLines.count)
                && metrics.sum("pg_slow_queries_total") == Double(slowLines.count) && metrics.sum("pg_up") == 1
                && metrics.sum("redis_up") == 1
                && metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "reason": "auth"]) >= 1
                && metrics.sum("vitals_source_errors_total", where: ["source": "redis", "reason": "auth"]) >= 1
        }
        try #require(settled != nil, "vitals never collected everything; output: \(daemon.output.suffix(4000))")
        let statementsAnswer = await HTTPGet.waitFor(base + "/statements", timeout: .seconds(30)) { status, body in
            status == 200 && body.contains("CREATE role \(role) password $1") && body.contains("\"DO $1\"")
        }
        #expect(statementsAnswer != nil, "the probe statements never reached /statements")

        var bodies: [(what: String, text: String)] = []
        func get(_ path: String, headers: [String: String] = [:], expect status: Int = 200) async -> String {
            let answer = await HTTPGet.fetch(base + path, headers: headers)
            #expect(answer?.status == status, "GET \(path): \(String(describing: answer?.status))")
            let text = answer?.body ?? ""
            bodies.append(("GET \(path) \(headers)", text))
            return text
        }
        let text = await get("/metrics")
        let openMetrics = await get("/metrics", headers: ["Accept": "application/openmetrics-text; version=1.0.0"])
        let ready = await get("/ready", expect: 503)
        let health = await get("/health")
        let index = await get("/")
        let statements = await get("/statements")
        let slowQueries = await get("/slow-queries?limit=100")
        let slowByCount = await get("/slow-queries?order=count&limit=100")
        _ = await get("/no-such-page", expect: 404)

        // The test saw real content, so that it can fail.
        #expect(text.contains("pg_up{target=\"127.0.0.1:\(postgres.port)/app\"} 1"))
        #expect(text.contains("redis_up{target=\"localhost:\(redis.port)\"} 0"))
        #expect(openMetrics.hasSuffix("# EOF\n"))
        #expect(ready.contains("\"source\":\"postgres\"") && ready.contains("\"source\":\"redis\"") && ready.contains("\"reason\":\"auth\""))
        #expect(!health.isEmpty)
        #expect(index.contains("/metrics"))
        // Served normalised: the DO body, password and all, is one placeholder.
        #expect(statements.contains("CREATE role \(role) password $1") && statements.contains("\"DO $1\""))
        // The password rotation is there, normalised ("ALTER role vitals password $1"): literal gone.
        #expect(slowQueries.contains("secrets_probe") && slowQueries.contains("ALTER role vitals password $"), "\(slowQueries)")
        #expect(slowByCount.contains("\"order\":\"count\""))

        // check-config with the same file and environment, and once with a DSN it cannot parse.
        let check = try ChildProcess(TestEnvironment.vitalsBinary, ["check-config", "--config.file", configFile], environment: environment)
        #expect(await check.wait(timeout: .seconds(60)) == 0, "check-config: \(check.output)")
        #expect(check.output.contains("configuration OK") && check.output.contains("redis.addr"))
        let badDSN = "postgresql://vitals:\(postgres.password)@127.0.0.1/app?no_such_option=1"
        let badCheck = try ChildProcess(
            TestEnvironment.vitalsBinary, ["check-config", "--config.file", configFile, "--postgres.dsn", badDSN], environment: environment)
        #expect(await badCheck.wait(timeout: .seconds(60)) == 2, "check-config with a bad DSN: \(badCheck.output)")
        #expect(badCheck.output.contains("postgres.dsn"))

        // Stop the daemon so that its log is complete.
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
        let log = daemon.output
        #expect(log.contains("level=debug"), "not logging at debug level")
        #expect(log.contains("redis collection failed") && log.contains("reason=auth"))
        #expect(log.contains("postgres down"))
        #expect(log.contains("slow query"))

        let secrets = [
            ("the Postgres password", postgres.password), ("the Redis password", redis.password),
            ("the wrong Postgres password", wrongPostgres), ("the wrong Redis password", wrongRedis),
            ("the DSN file's contents", dsnFileContents.trimmingCharacters(in: .whitespacesAndNewlines)),
            ("the good DSN", postgres.dsn), ("the wrong DSN", wrongDSN), ("the wrong Redis URL", wrongRedisURL),
            ("the Redis password file's contents", redisPasswordFileContents),
        ]
        let outputs =
            bodies + [
                ("check-config", check.output), ("check-config with a bad DSN", badCheck.output), ("the daemon's log (stdout and stderr)", log),
            ]
        for (secretName, secret) in secrets {
            for (what, output) in outputs {
                #expect(!output.contains(secret), "\(secretName) appears in \(what)")
            }
        }
        try await postgres.superuser("DROP ROLE IF EXISTS \(role)")
    }

    /// Issue 21: a password in every quoting form PostgreSQL accepts, set on a throwaway role of
    /// the real server, reaches vitals twice — through pg_stat_statements (utility statements keep
    /// their text) and through the server log the slow-query plugin tails — and leaves through
    /// neither: not on any endpoint, not in the slow-query lines of vitals' log.
    @Test func aPasswordInAnyQuotingFormStaysInside() async throws {
        guard let postgres = PostgresTestServer.require() else { return }
        let nonce = UInt32.random(in: 0...UInt32.max)
        let role = "vitals_quoting_probe_\(nonce)"
        func secret(_ form: String) -> String { "Qp\(form)\(nonce)x\(UInt32.random(in: 0...UInt32.max))" }
        let secrets = ["plain", "escape", "unicode", "dollar", "tagged", "continued", "encrypted", "backslash"].map { ($0, secret($0)) }
        let value = Dictionary(uniqueKeysWithValues: secrets)
        let forms = [
            "ALTER ROLE \(role) PASSWORD 'it''s \(value["plain"]!)';",
            "ALTER ROLE \(role) PASSWORD E'it\\'s \\\\ \(value["escape"]!)';",
            "ALTER ROLE \(role) PASSWORD U&'!0041\(value["unicode"]!)!0042' UESCAPE '!';",
            "ALTER ROLE \(role) PASSWORD $$\(value["dollar"]!)$$;",
            "ALTER ROLE \(role) PASSWORD $pw$ $$ it's \(value["tagged"]!) $pw$ VALID UNTIL 'infinity';",
            "ALTER ROLE \(role) PASSWORD 'first half '\n    '\(value["continued"]!)';",
            "ALTER ROLE \(role) WITH LOGIN ENCRYPTED PASSWORD '\(value["encrypted"]!)';",
            // A backslash in a plain literal: a quote after it would end it or not depending on
            // standard_conforming_strings; either way the whole value is redacted.
            "ALTER ROLE \(role) PASSWORD 'C:\\dir\\\(value["backslash"]!)';",
        ]
        try await postgres.superuser("DROP ROLE IF EXISTS \(role); CREATE ROLE \(role) NOLOGIN")

        let directory = try TemporaryDirectory()
        let port = TestEnvironment.freePort()
        let configFile = directory.path + "/vitals.yml"
        try """
        web:
          listen-address: 127.0.0.1:\(port)
        log:
          level: debug
        slow-query.log-path: ['\(postgres.logFile)']
        slow-query.log-line-prefix: '%m [%p] %q%u@%d '
        slow-query.poll-interval: 50ms
        slow-query.output: log
        postgres.interval: 300ms
        postgres.statements.limit: 10000

        """.write(toFile: configFile, atomically: true, encoding: .utf8)
        let environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "DATA_SOURCE_NAME": postgres.dsn]
        let daemon = try ChildProcess(TestEnvironment.vitalsBinary, ["--config.file", configFile], environment: environment)
        let base = "http://127.0.0.1:\(port)"
        // Up, and tailing the server log from its end, before the statements run.
        let up = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(60)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("pg_up") == 1
        }
        try #require(up != nil, "vitals never came up; output: \(daemon.output.suffix(4000))")
        try await Task.sleep(for: .milliseconds(500))

        // Each statement on its own (psql sends each -c separately), logged whatever its duration.
        let arguments = ["-X", "-q", "-v", "ON_ERROR_STOP=1", postgres.superuserDSN, "-c", "SET log_min_duration_statement = 0"]
            + forms.flatMap { ["-c", $0] }
        let (status, output) = try await ChildProcess.run("/usr/bin/psql", arguments, timeout: .seconds(60))
        try #require(status == 0, "psql failed: \(output)")

        // pg_stat_statements keeps each form as its own entry; vitals serves them normalised, so
        // they all read the same.
        let listed = "ALTER role \(role) password $1"
        let listedEncrypted = "ALTER role \(role) WITH login encrypted password $1"
        let statements = await HTTPGet.waitFor(base + "/statements", timeout: .seconds(30)) { status, body in
            status == 200 && body.components(separatedBy: listed).count - 1 >= forms.count - 1 && body.contains(listedEncrypted)
        }
        #expect(statements != nil, "/statements never listed every form as \(listed)")
        let slowQueries = await HTTPGet.waitFor(base + "/slow-queries?order=count&limit=1000", timeout: .seconds(30)) { status, body in
            status == 200 && body.contains(listed)
        }
        #expect(slowQueries != nil, "/slow-queries never listed \(listed)")

        var bodies: [(what: String, text: String)] = []
        for path in ["/metrics", "/statements", "/slow-queries?limit=1000", "/slow-queries?order=count&limit=1000", "/ready", "/"] {
            let answer = await HTTPGet.fetch(base + path)
            #expect(answer?.status == 200 || (path == "/ready" && answer?.status == 503), "GET \(path): \(String(describing: answer?.status))")
            bodies.append(("GET \(path)", answer?.body ?? ""))
        }
        #expect(bodies[0].text.contains("pg_slow_queries_total"))
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
        let log = daemon.output
        // The slow-query lines name the statement, normalised: the log is checked with content.
        #expect(log.contains("slow query") && log.contains(listed), "no slow-query line for the probe in: \(log.suffix(4000))")
        try await postgres.superuser("DROP ROLE IF EXISTS \(role)")

        for (form, secret) in secrets {
            for (what, text) in bodies + [("the daemon's log", log)] {
                #expect(!text.contains(secret), "the \(form) password appears in \(what)")
            }
        }
    }
}
