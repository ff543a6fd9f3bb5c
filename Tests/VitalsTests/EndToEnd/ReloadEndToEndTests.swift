import Foundation
import Testing

@testable import Vitals

/// SIGHUP re-reads the secret files, as systemd's `ExecReload=kill -HUP` expects: a rotated
/// password reaches the sources without a restart, and a down target comes back on the new one.
@Suite(.serialized) struct ReloadEndToEndTests {
    @Test func sighupRereadsTheDSNAndRedisPasswordFiles() async throws {
        guard let postgres = PostgresTestServer.require(), let redis = RedisTestServer.fromEnvironment() else { return }
        let directory = try TemporaryDirectory()
        let wrong = "wrong\(UInt32.random(in: 0...UInt32.max))"
        let dsnFile = directory.path + "/dsn"
        let passwordFile = directory.path + "/redis-password"
        // Both start with a password the servers refuse.
        try postgres.dsn(user: "vitals", password: wrong, database: "app").write(toFile: dsnFile, atomically: true, encoding: .utf8)
        try "\(wrong)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)

        let port = TestEnvironment.freePort()
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
            "DATA_SOURCE_NAME_FILE": dsnFile, "REDIS_PASSWORD_FILE": passwordFile,
        ]
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            [
                "--web.listen-address", "127.0.0.1:\(port)", "--redis.addr", "redis://127.0.0.1:\(redis.port)",
                "--postgres.interval", "300ms", "--redis.interval", "300ms",
            ], environment: environment)
        let metricsURL = "http://127.0.0.1:\(port)/metrics"
        let refused = await HTTPGet.waitFor(metricsURL, timeout: .seconds(60)) { status, body in
            let metrics = ScrapedMetrics(body)
            return status == 200
                && metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "reason": "auth"]) >= 1
                && metrics.sum("vitals_source_errors_total", where: ["source": "redis", "reason": "auth"]) >= 1
        }
        try #require(refused != nil, "the wrong passwords were never refused; output: \(daemon.output.suffix(3000))")
        #expect(ScrapedMetrics(refused!.body).sum("pg_up") == 0)
        #expect(ScrapedMetrics(refused!.body).sum("redis_up") == 0)

        // Rotate both files, then SIGHUP.
        try postgres.dsn.write(toFile: dsnFile, atomically: true, encoding: .utf8)
        try "\(redis.password)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        let recovered = await HTTPGet.waitFor(metricsURL, timeout: .seconds(60)) { status, body in
            let metrics = ScrapedMetrics(body)
            return status == 200 && metrics.sum("pg_up") == 1 && metrics.sum("redis_up") == 1
        }
        #expect(recovered != nil, "SIGHUP did not bring the sources up on the new passwords; output: \(daemon.output.suffix(3000))")
        #expect(daemon.output.contains("SIGHUP"))
        for secret in [postgres.password, redis.password, wrong] {
            #expect(!daemon.output.contains(secret), "a password reached the log")
        }
        daemon.signal(SIGTERM)
        #expect(await daemon.wait() == 0)
    }
}
