import Foundation
import Testing

/// `--timing-log.path -`: the real binary reads a pipe, as behind `docker logs -f app | vitals …`
/// or `journalctl -fu app -o cat | vitals …`.
@Suite(.serialized) struct StandardInputEndToEndTests {
    static func line(_ path: String, _ status: Int, _ seconds: String) -> String {
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET \#(path) HTTP/1.1" \#(status) 5 "-" "curl/7.88.1" \#(seconds)"# + "\n"
    }

    @Test func readsAPipeWhileItIsOpenAndKeepsServingAfterItsEnd() async throws {
        let port = TestEnvironment.freePort()
        let pipe = Pipe()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            ["--web.listen-address", "127.0.0.1:\(port)", "--timing-log.path", "-", "--timing-log.format", "nginx", "--timing-log.poll-interval", "20ms"],
            input: pipe)
        let url = "http://127.0.0.1:\(port)/metrics"
        let writer = pipe.fileHandleForWriting

        // Lines written before vitals is up, then more while it runs: a pipe has no "end" to
        // start from, so all of them count.
        try writer.write(contentsOf: Data((Self.line("/a", 200, "0.010") + Self.line("/a", 200, "0.020")).utf8))
        let first = await HTTPGet.waitFor(url, timeout: .seconds(60)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 2
        }
        #expect(first != nil, "the first two lines were not counted: \(daemon.output)")

        // A line split across two writes is one line; a malformed one is counted as unparsed.
        let split = Self.line("/b", 500, "1.500")
        let middle = split.index(split.startIndex, offsetBy: 30)
        try writer.write(contentsOf: Data(split[..<middle].utf8))
        try await Task.sleep(for: .milliseconds(200))
        try writer.write(contentsOf: Data((String(split[middle...]) + "not an access log line\n").utf8))
        // The last line has no newline: the end of the input completes it.
        try writer.write(contentsOf: Data(Self.line("/c", 404, "0.003").dropLast().utf8))
        try writer.close()

        let answer = await HTTPGet.waitFor(url, timeout: .seconds(30)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 4
        }
        let body = try #require(answer?.body, "vitals did not count the rest: \(daemon.output)")
        let metrics = ScrapedMetrics(body)
        #expect(metrics.sum("http_requests_total", where: ["route": "/a", "status_class": "2xx"]) == 2)
        #expect(metrics.sum("http_requests_total", where: ["route": "/b", "status_class": "5xx"]) == 1)
        #expect(metrics.sum("http_requests_total", where: ["route": "/c", "status_class": "4xx"]) == 1)
        #expect(metrics.sum("vitals_log_lines_total", where: ["result": "unparsed"]) == 1)

        // The end of the input is not an error: vitals says so once, stays up and ready, and
        // still serves what it counted.
        try await Task.sleep(for: .milliseconds(300))
        #expect(daemon.process.isRunning)
        #expect(daemon.output.contains("standard input ended"), "\(daemon.output)")
        #expect(!daemon.output.contains("level=error"), "\(daemon.output)")
        let ready = await HTTPGet.fetch("http://127.0.0.1:\(port)/ready")
        #expect(ready?.status == 200, "\(ready?.body ?? "no answer")")
        let again = await HTTPGet.fetch(url)
        #expect(ScrapedMetrics(again?.body ?? "").sum("http_requests_total") == 4)

        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0, "\(daemon.output)")
    }

    /// vitals grows the pipe to 1 MiB (or the system's limit), so a writer can put most of a
    /// second of a busy log into it without waiting for the next read (64 KiB by default): a burst
    /// of 800 KB, written without blocking, fits whole, and every line of it is counted.
    @Test func thePipeHoldsABurstOfABusyLogWithoutHoldingItsWriter() async throws {
        let port = TestEnvironment.freePort()
        let pipe = Pipe()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:\(port)", "--timing-log.path", "-", "--timing-log.format", "nginx"],
            input: pipe)
        defer { daemon.signal(SIGKILL) }
        let url = "http://127.0.0.1:\(port)/metrics"
        let writer = pipe.fileHandleForWriting.fileDescriptor
        let limit = Int((try? String(contentsOfFile: "/proc/sys/fs/pipe-max-size", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 1 << 20
        let expected = geteuid() == 0 ? 1 << 20 : min(1 << 20, limit)
        try #require(await HTTPGet.waitFor(url, timeout: .seconds(60)) != nil, "vitals did not start: \(daemon.output)")
        var size = 0
        for _ in 0..<200 where size < expected {
            size = Int(fcntl(writer, 1032))  // F_GETPIPE_SZ
            if size < expected { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(size >= expected, "the pipe holds \(size) bytes")

        let line = Self.line("/burst", 200, "0.010")
        let count = 800_000 / line.utf8.count
        let burst = Array(String(repeating: line, count: count).utf8)
        _ = fcntl(writer, F_SETFL, fcntl(writer, F_GETFL) | O_NONBLOCK)
        var written = 0
        while written < burst.count {
            let result = burst.withUnsafeBytes { write(writer, $0.baseAddress! + written, burst.count - written) }
            if result <= 0 { break }
            written += result
        }
        #expect(written == burst.count, "the pipe took \(written) of \(burst.count) bytes before its writer would wait")
        let answer = await HTTPGet.waitFor(url, timeout: .seconds(30)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == Double(written / line.utf8.count)
        }
        #expect(answer != nil, "vitals did not count the burst's \(count) lines: \(daemon.output.suffix(2000))")
    }

    /// `zcat access.log.*.gz | vitals replay -`: replay reads the pipe to its end, across pauses.
    @Test func replayReadsAPipeToItsEnd() async throws {
        let pipe = Pipe()
        let replay = try ChildProcess(TestEnvironment.vitalsBinary, ["replay", "--timing-log.format", "nginx", "-"], input: pipe)
        try pipe.fileHandleForWriting.write(contentsOf: Data(Self.line("/a", 200, "0.010").utf8))
        try await Task.sleep(for: .milliseconds(300))
        #expect(replay.process.isRunning, "replay ended before its input did: \(replay.output)")
        try pipe.fileHandleForWriting.write(contentsOf: Data((Self.line("/b", 404, "0.020") + Self.line("/b", 500, "0.030")).utf8))
        try pipe.fileHandleForWriting.close()
        #expect(await replay.wait(timeout: .seconds(30)) == 0, "\(replay.output)")
        let metrics = ScrapedMetrics(replay.output)
        #expect(metrics.sum("http_requests_total") == 3)
        #expect(metrics.sum("http_requests_total", where: ["route": "/b"]) == 2)
    }
}
