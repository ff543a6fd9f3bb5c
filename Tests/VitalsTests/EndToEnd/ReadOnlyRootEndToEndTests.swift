import Foundation
import Testing

/// The Kubernetes manifest sets `readOnlyRootFilesystem: true`: vitals must need no writable
/// filesystem. The real binary runs in a private mount namespace where every mount is remounted
/// read-only (the files it reads are written from outside, through the test's own namespace),
/// with every source on, and must serve and collect as usual.
///
/// Needs CAP_SYS_ADMIN for `unshare --mount` and the remounts; cancelled (not failed) without it.
@Suite struct ReadOnlyRootEndToEndTests {
    static let script = #"""
        for target in $(findmnt -rn -o TARGET | sort -u); do
          case $target in /proc|/proc/*|/sys|/sys/*) continue ;; esac
          mount -o remount,bind,ro "$target" 2>/dev/null
        done
        for directory in / /tmp "$PROBE_DIR" /dev/shm; do
          [ -d "$directory" ] || continue
          if touch "$directory/.vitals-rw-probe" 2>/dev/null; then
            rm -f "$directory/.vitals-rw-probe"
            echo "read-only remount did not take: $directory is writable"
            exit 99
          fi
        done
        echo "every mount read-only"
        exec "$VITALS_BIN" "$@"
        """#

    @Test func servesAndCollectsWithEveryMountReadOnly() async throws {
        guard let postgres = PostgresTestServer.require(), let redis = RedisTestServer.fromEnvironment() else { return }
        let unshare = try await TestEnvironment.unshareWithMountNamespace()

        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        try StarletteLog.requests(0..<1).write(toFile: log, atomically: false, encoding: .utf8)
        let port = TestEnvironment.freePort()
        let environment = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "VITALS_BIN": TestEnvironment.vitalsBinary,
            "PROBE_DIR": directory.path, "DATA_SOURCE_NAME": postgres.dsn, "REDIS_ADDR": redis.address, "REDIS_PASSWORD": redis.password,
        ]
        let daemon = try ChildProcess(
            unshare,
            [
                "--mount", "--propagation", "private", "/bin/sh", "-c", Self.script, "vitals",
                "--web.listen-address", "127.0.0.1:\(port)", "--log.level", "debug",
                "--timing-log.path", log, "--timing-log.from-beginning", "--timing-log.poll-interval", "50ms",
                "--slow-query.log-path", postgres.logFile, "--slow-query.log-line-prefix", "%m [%p] %q%u@%d ",
                "--postgres.interval", "500ms", "--redis.interval", "500ms",
            ], environment: environment)

        let base = "http://127.0.0.1:\(port)"
        let deadline = ContinuousClock.now + .seconds(60)
        var ready: (status: Int, body: String)?
        while ContinuousClock.now < deadline, daemon.process.isRunning {
            ready = await HTTPGet.fetch(base + "/ready", timeout: 5)
            if ready?.status == 200 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if !daemon.process.isRunning {
            let status = await daemon.wait(timeout: .seconds(5))
            if status == 99 { try Test.cancel("cannot remount read-only here: \(daemon.output)") }
            Issue.record("vitals exited with \(String(describing: status)) on a read-only filesystem: \(daemon.output)")
            return
        }
        #expect(daemon.output.contains("every mount read-only"))
        #expect(ready?.status == 200, "not ready: \(ready?.body ?? "no answer"); output: \(daemon.output.suffix(3000))")
        for source in ["timing_log", "postgres", "redis", "slow_query"] {
            #expect(ready?.body.contains("\"source\":\"\(source)\",\"state\":\"up\"") == true, "\(source) is not up: \(ready?.body ?? "")")
        }

        // The timing log keeps being followed; every endpoint answers.
        let handle = try #require(FileHandle(forWritingAtPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(StarletteLog.requests(1..<50).utf8))
        try handle.close()
        let metrics = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(30)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 50
        }
        let scraped = ScrapedMetrics(try #require(metrics?.body, "lines appended later were not counted"))
        #expect(scraped.sum("pg_up") == 1)
        #expect(scraped.sum("redis_up") == 1)
        #expect(await HTTPGet.fetch(base + "/metrics", headers: ["Accept": "application/openmetrics-text; version=1.0.0"])?.status == 200)
        #expect(await HTTPGet.fetch(base + "/statements")?.status == 200)
        #expect(await HTTPGet.fetch(base + "/slow-queries")?.status == 200)
        #expect(!daemon.output.contains("Read-only file system"), "something tried to write: \(daemon.output.suffix(3000))")

        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
    }
}
