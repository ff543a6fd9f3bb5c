import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import Vitals

/// The findings inside the daemon, fed by a real timing log: `/findings` and the metrics.
@Suite struct FindingsServiceTests {
    @Test func aSlowRouteIsFoundAndAFastOneIsNot() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let app = try makeTestApplication([
            ("timing-log.path", log), ("timing-log.poll-interval", "20ms"), ("event-loop.interval", "0"),
            ("findings.interval", "1s"), ("findings.window", "2s"), ("findings.min-requests", "5"),
        ])
        try await app.test(.router) { client in
            let handle = try #require(FileHandle(forWritingAtPath: log))
            defer { try? handle.close() }
            var body = ""
            for round in 0..<100 {
                var lines = ""
                for id in 0..<10 {
                    lines += "2026-11-24 12:00:00,000 INFO t GET /markets/\(round * 10 + id) completed in 450.0ms\n"
                    lines += "2026-11-24 12:00:00,000 INFO t GET /health completed in 1.5ms\n"
                }
                handle.seekToEndOfFile()
                handle.write(Data(lines.utf8))
                try await Task.sleep(for: .milliseconds(100))
                body = try await client.execute(uri: "/findings", method: .get) { String(buffer: $0.body) }
                if body.contains("\"kind\":\"route_over_target\"") { break }
            }
            let json = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            let findings = try #require(json["findings"] as? [[String: Any]])
            let routes = findings.filter { $0["kind"] as? String == "route_over_target" }
            #expect(routes.map { $0["subject"] as? String } == ["GET /markets/{id}"])
            let first = try #require(routes.first)
            let evidence = try #require(first["evidence"] as? [[String: Any]])
            let p95 = try #require(evidence.first { $0["name"] as? String == "p95_seconds" }?["value"] as? Double)
            #expect(p95 > 0.2 && p95 <= 0.5)
            #expect((first["impact_seconds_per_minute"] as? Double ?? 0) > 0)
            #expect(json["target"] as? [String: Double] == ["latency_seconds": 0.2, "quantile": 0.95])

            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metrics.contains("vitals_finding_active{kind=\"route_over_target\",subject=\"GET /markets/{id}\"} 1\n"))
            #expect(!metrics.contains("subject=\"GET /health\""))
            #expect(metrics.contains("vitals_source_up{source=\"findings\",instance=\"\"} 1\n"))
        }
    }

    @Test func findingsCanBeTurnedOffAndBadSettingsAreRefused() async throws {
        let app = try makeTestApplication([("findings.enabled", "false"), ("event-loop.interval", "0")])
        try await app.test(.router) { client in
            let status = try await client.execute(uri: "/findings", method: .get) { $0.status }
            #expect(status == .notFound)
        }
        #expect(throws: ConfigurationError.self) { _ = try makeTestApplication([("target.quantile", "95")]) }
        #expect(throws: ConfigurationError.self) { _ = try makeTestApplication([("findings.window", "1s"), ("findings.interval", "1s")]) }
    }
}
