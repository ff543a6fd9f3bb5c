import Foundation
import Testing

/// vitals logs to stderr. When that write fails — a full disk (/dev/full: ENOSPC) or a log reader
/// that went away (a pipe with no reader: EPIPE, and SIGPIPE unless ignored) — the daemon must keep
/// running and counting, drop the line and count it in `vitals_log_messages_dropped_total`.
@Suite struct LogOutputFailureTests {
    @Test func stderrOnAFullDiskDropsLinesAndKeepsServing() async throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"), "/dev/full is not available")
        try await checkDaemonSurvives(output: full)
    }

    @Test func stdoutAndStderrToAPipeWithNoReaderDoNotKillTheDaemon() async throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        try await checkDaemonSurvives(output: pipe.fileHandleForWriting)
    }

    /// A reader that stopped reading: once the pipe is full, a blocking write would hang the thread
    /// that logs. Each slow query is logged (`--slow-query.output log`), so the slow-query source
    /// would stop at the first line that does not fit; it must count every record instead.
    @Test func aPipeNobodyReadsDoesNotStallTheSources() async throws {
        let pipe = Pipe()  // the read end stays open and is never read
        let directory = try TemporaryDirectory()
        let slowLog = directory.path + "/postgresql.log"
        try "".write(toFile: slowLog, atomically: false, encoding: .utf8)
        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            [
                "--web.listen-address", "127.0.0.1:\(port)", "--slow-query.log-path", slowLog, "--slow-query.log-line-prefix", "%m [%p] %q%u@%d ",
                "--slow-query.poll-interval", "50ms", "--slow-query.output", "log",
            ], output: pipe.fileHandleForWriting)
        let base = "http://127.0.0.1:\(port)"
        try #require(await HTTPGet.waitFor(base + "/ready", timeout: .seconds(60)) != nil, "vitals did not start")
        // About 250 bytes of log per record: 2,000 records are eight times what a pipe holds.
        let records = (0..<2000).map {
            "2026-11-24 12:00:00.000 UTC [1] app@app LOG:  duration: 60.0 ms  statement: SELECT col_\($0) FROM stall_\($0) WHERE id = 1;\n"
        }
        let handle = try #require(FileHandle(forWritingAtPath: slowLog))
        try handle.write(contentsOf: Data(records.joined().utf8))
        try handle.close()
        let answer = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(90)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("pg_slow_queries_total") == Double(records.count)
        }
        let body = try #require(answer?.body, "the slow-query source stalled on its log")
        #expect(ScrapedMetrics(body).sum("vitals_log_messages_dropped_total") > 0)
        #expect(await HTTPGet.fetch(base + "/ready")?.status == 200)
        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0)
        _ = pipe.fileHandleForReading
    }

    private func checkDaemonSurvives(output: FileHandle) async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        try StarletteLog.requests(0..<10).write(toFile: log, atomically: false, encoding: .utf8)
        let port = TestEnvironment.freePort()
        // Debug level: service start-up alone writes a dozen lines, every one of which fails.
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            [
                "--web.listen-address", "127.0.0.1:\(port)", "--timing-log.path", log, "--timing-log.from-beginning",
                "--timing-log.poll-interval", "50ms", "--log.level", "debug",
            ], output: output)
        let base = "http://127.0.0.1:\(port)"
        let first = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(60)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 10
        }
        try #require(first != nil, "vitals did not serve the first lines; running: \(daemon.process.isRunning)")

        // It keeps following the log while every log write fails.
        let handle = try #require(FileHandle(forWritingAtPath: log))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(StarletteLog.requests(10..<510).utf8))
        try handle.close()
        let later = await HTTPGet.waitFor(base + "/metrics", timeout: .seconds(60)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 510
        }
        let body = try #require(later?.body, "vitals stopped counting; running: \(daemon.process.isRunning)")
        #expect(ScrapedMetrics(body).sum("vitals_log_messages_dropped_total") > 0, "dropped log lines are not counted")
        #expect(await HTTPGet.fetch(base + "/ready")?.status == 200)
        #expect(await HTTPGet.fetch(base + "/health")?.status == 200)
        #expect(daemon.process.isRunning)

        daemon.signal(SIGTERM)
        let status = try #require(await daemon.wait(timeout: .seconds(30)), "vitals did not stop on SIGTERM")
        #expect(daemon.process.terminationReason == .exit, "killed by signal \(status)")
        #expect(status == 0)
    }
}
