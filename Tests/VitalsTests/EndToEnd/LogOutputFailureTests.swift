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

    private func checkDaemonSurvives(output: FileHandle) async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        func lines(_ range: Range<Int>) -> String {
            range.map { "2026-11-24 12:00:00,000 INFO t GET /markets/\($0) completed in 3.5ms\n" }.joined()
        }
        try lines(0..<10).write(toFile: log, atomically: false, encoding: .utf8)
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
        try handle.write(contentsOf: Data(lines(10..<510).utf8))
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
