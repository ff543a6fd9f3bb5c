import Foundation
import HummingbirdTesting
import Testing

@testable import Vitals

/// The timing-log source when its file is wrong: what `/ready` and the log say, and recovery.
/// A directory that appears later is EndpointsTests.missingLogIsReportedInReadyWithoutFailingMetrics;
/// an unreadable file is LogTailerTests.permissionDeniedIsReportedAndRetried (tailer level: as root
/// only a thread with a dropped fsuid is refused, and the source reads on pool threads).
@Suite struct TimingLogSourceFailureTests {
    @Test func aDirectoryInPlaceOfTheLogAndADeletedLogAreReportedAndRecoverWhenFixed() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        try FileManager.default.createDirectory(atPath: log, withIntermediateDirectories: false)
        let logs = PostgresLogCapture()
        let app = try makePostgresTestApplication([("timing-log.path", log), ("timing-log.poll-interval", "20ms")], logs: logs)
        let line = "2026-11-22 12:00:00,003 INFO x GET /a completed in 1.0ms\n"
        try await app.test(.router) { client in
            // 1. The path is a directory (the "unreadable" case that holds as root too).
            var ready = try await postgresScrapeUntil(client, uri: "/ready") { _, body in body.contains("is a directory") }
            #expect(ready.contains("\"status\":\"not ready\""))
            #expect(ready.contains("\"source\":\"timing_log\",\"state\":\"down\""))
            #expect(ready.contains("\(log): is a directory, not a log file"))
            #expect(ready.contains("\"reason\":\"io\""))
            #expect(logs.text.contains("timing log unavailable") && logs.text.contains("is a directory"))
            var metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("vitals_source_up{source=\"timing_log\",instance=\"\"} 0\n"))

            // Fixed: the directory goes, the file comes, and is read from its start.
            try FileManager.default.removeItem(atPath: log)
            try line.write(toFile: log, atomically: false, encoding: .utf8)
            metrics = try await postgresScrapeUntil(client) { scraped, _ in
                scraped.sum("http_requests_total") == 1 && scraped.sum("vitals_source_up", where: ["source": "timing_log"]) == 1
            }
            #expect(ScrapedMetrics(metrics).sum("http_requests_total") == 1)
            ready = try await postgresScrapeUntil(client, uri: "/ready") { _, body in body.contains("\"status\":\"ready\"") }
            #expect(ready.contains("\"status\":\"ready\""))
            #expect(logs.text.contains("timing log readable again"))

            // 2. The log is deleted (and nothing recreates it).
            #expect(unlink(log) == 0)
            ready = try await postgresScrapeUntil(client, uri: "/ready") { _, body in body.contains("\"reason\":\"not_found\"") }
            #expect(ready.contains("\"source\":\"timing_log\",\"state\":\"down\""))
            #expect(ready.contains("\(log): no regular file matches"))
            #expect(logs.text.contains("reason=not_found"))
            metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(ScrapedMetrics(metrics).sum("http_requests_total") == 1, "counts survive the deletion")

            // Recreated: followed again from its start.
            try line.write(toFile: log, atomically: false, encoding: .utf8)
            metrics = try await postgresScrapeUntil(client) { scraped, _ in scraped.sum("http_requests_total") == 2 }
            #expect(ScrapedMetrics(metrics).sum("http_requests_total") == 2)
            ready = try await postgresScrapeUntil(client, uri: "/ready") { _, body in body.contains("\"status\":\"ready\"") }
            #expect(ready.contains("\"status\":\"ready\""))
        }
    }
}
