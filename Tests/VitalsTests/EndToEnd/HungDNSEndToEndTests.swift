import Foundation
import Testing

/// A DNS server that never answers must cost each pass its deadline, not the resolver's timeouts.
/// The real binary runs in a private mount namespace whose /etc/resolv.conf names a UDP listener on
/// loopback that reads queries and never replies, with a 30 s resolver timeout. Its Postgres and
/// Redis targets are host names: without vitals' own bounded lookup, libpq and hiredis would each
/// sit in getaddrinfo for 30 s a pass; with it, every pass ends at its 2 s deadline, so failed
/// passes keep coming and the scrape reports them. The application probe asks for a host name too,
/// every 100 ms: each probe fails at its 1 s timeout, and the lookups it abandoned wait in vitals'
/// resolver (two threads, a bounded queue), not on a thread each.
///
/// Needs CAP_SYS_ADMIN for `unshare --mount`; cancelled (not failed) without it.
@Suite struct HungDNSEndToEndTests {
    static let script = #"""
        mount --bind "$RESOLV_CONF" /etc/resolv.conf || exit 99
        exec "$VITALS_BIN" "$@"
        """#

    @Test func passesEndAtTheirDeadlineWhileDNSNeverAnswers() async throws {
        let unshare = try await TestEnvironment.unshareWithMountNamespace()
        let directory = try TemporaryDirectory()
        // Any 127/8 address is loopback: one of its own, so no local resolver is in the way.
        let silentAddress = "127.0.0.\(Int.random(in: 60...250))"
        let dns = try ChildProcess(
            "/usr/bin/python3",
            [
                "-c",
                "import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.bind((sys.argv[1],53))\nprint('listening',flush=True)\nwhile True: s.recv(4096)",
                silentAddress,
            ])
        defer { dns.signal(SIGKILL) }
        let resolvConf = directory.path + "/resolv.conf"
        try "nameserver \(silentAddress)\noptions timeout:30 attempts:1\n".write(toFile: resolvConf, atomically: true, encoding: .utf8)
        let started = ContinuousClock.now
        while !dns.output.contains("listening"), ContinuousClock.now - started < .seconds(30), dns.process.isRunning {
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(dns.output.contains("listening"), "the silent DNS listener did not start: \(dns.output)")

        let port = TestEnvironment.freePort()
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "VITALS_BIN": TestEnvironment.vitalsBinary,
            "RESOLV_CONF": resolvConf,
        ]
        let daemon = try ChildProcess(
            unshare,
            [
                "--mount", "--propagation", "private", "/bin/sh", "-c", Self.script, "vitals",
                "--web.listen-address", "127.0.0.1:\(port)", "--log.level", "warn",
                "--postgres.dsn", "host=db.vitals-hung-dns.test port=5432 dbname=app user=vitals sslmode=disable",
                "--postgres.interval", "1s", "--postgres.timeout", "2s",
                "--redis.addr", "redis://cache.vitals-hung-dns.test:6379", "--redis.interval", "1s", "--redis.timeout", "2s",
                "--app-probe.url", "http://app.vitals-hung-dns.test:8000/health",
            ], environment: environment)
        defer { daemon.signal(SIGKILL) }

        let base = "http://127.0.0.1:\(port)"
        _ = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(60))
        if !daemon.process.isRunning, await daemon.wait(timeout: .seconds(5)) == 99 {
            try Test.cancel("cannot bind-mount resolv.conf here: \(daemon.output)")
        }
        // 25 s: a 30 s lookup could not have failed a single pass; bounded passes fail every ~3 s.
        try await Task.sleep(for: .seconds(25))
        let answer = try #require(await HTTPGet.fetch(base + "/metrics", timeout: 10), "vitals did not answer: \(daemon.output.suffix(2000))")
        let metrics = ScrapedMetrics(answer.body)
        #expect(metrics.sum("pg_up") == 0 && metrics.sum("redis_up") == 0)
        let postgresFailures = metrics.sum("vitals_source_errors_total", where: ["source": "postgres"])
        let redisFailures = metrics.sum("vitals_source_errors_total", where: ["source": "redis"])
        #expect(postgresFailures >= 3, "Postgres passes waited on DNS: \(postgresFailures) failed in 25 s; \(daemon.output.suffix(2000))")
        #expect(redisFailures >= 3, "Redis passes waited on DNS: \(redisFailures) failed in 25 s; \(daemon.output.suffix(2000))")
        #expect(metrics.sum("vitals_source_errors_total", where: ["source": "postgres", "reason": "timeout"]) == postgresFailures)
        let ready = await HTTPGet.fetch(base + "/ready", timeout: 10)
        #expect(ready?.body.contains("\"reason\":\"timeout\"") == true, "\(ready?.body ?? "no answer")")
        #expect(daemon.output.contains("cannot resolve 'db.vitals-hung-dns.test' before the deadline"), "\(daemon.output.suffix(2000))")
        // About 22 probes in 25 s, each at its 1 s timeout.
        let probeFailures = metrics.sum("vitals_source_errors_total", where: ["source": "app_probe"])
        #expect(metrics.sum("app_probe_up") == 0 && probeFailures >= 10, "\(probeFailures) probes failed in 25 s")
        // The daemon's own threads (about a dozen), not one per abandoned lookup.
        let threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.process.processIdentifier)/task").count) ?? 0
        #expect(threads > 0 && threads <= 20, "\(threads) threads")
    }
}
