import Foundation
import Testing

@testable import Vitals

/// `vitals report` over files: the live rules, once, over the time the logs cover.
@Suite struct FindingsReportTests {
    static let keys = VitalsConfiguration.allKeys

    /// Two minutes of an app's log: `/markets/{id}` slow (0.5 s), `/health` fast, one asyncio
    /// warning; and the Postgres log of the same two minutes, where each `/markets/{id}` request
    /// runs 20 lookups tagged by sqlcommenter.
    static func writeLogs(in directory: String, timestamps: Bool = true) throws -> (timing: String, postgres: String) {
        var timing = ""
        for second in 0..<120 {
            let stamp = timestamps ? String(format: "2026-11-24 12:%02d:%02d,000 ", second / 60, second % 60) : ""
            timing += "\(stamp)INFO app.middleware.timing GET /markets/\(second) completed in 500.0ms\n"
            timing += "\(stamp)INFO app.middleware.timing GET /health completed in 1.0ms\n"
        }
        timing += "2026-11-24 12:01:30,000 WARNING asyncio Executing <Task pending name='Task-1'> took 0.300 seconds\n"
        timing += "2026-11-24 12:02:00,000 INFO app.middleware.timing GET /health completed in 1.0ms\n"
        var postgres = ""
        for request in 0..<30 {
            for lookup in 0..<20 {
                let stamp = String(format: "2026-11-24 12:%02d:%02d.%03d UTC", (request * 4) / 60, (request * 4) % 60, lookup)
                postgres += "\(stamp) [\(500 + request % 3)] 3/\(request + 1) LOG:  duration: 2.000 ms  statement: "
                    + "SELECT * FROM outcomes WHERE id = \(9000 + lookup) /*route='%2Fmarkets%2F%7Bid%7D'*/\n"
            }
        }
        let paths = (directory + "/app.log", directory + "/postgresql.log")
        try timing.write(toFile: paths.0, atomically: false, encoding: .utf8)
        try postgres.write(toFile: paths.1, atomically: false, encoding: .utf8)
        return paths
    }

    static func values(_ postgres: String?, _ settings: [String: String] = [:]) throws -> ConfigurationValues {
        var flags = settings
        if let postgres {
            flags["slow-query.log-path"] = postgres
            flags["slow-query.log-line-prefix"] = "%m [%p] %v "
        }
        return try ConfigurationValues.make(keys: Self.keys, flags)
    }

    @Test func findsTheSlowRouteItsNPlusOneAndTheBlockedLoop() throws {
        let directory = try TemporaryDirectory()
        let logs = try Self.writeLogs(in: directory.path)
        let result = try FindingsReport.evaluate(files: [logs.timing], values: try Self.values(logs.postgres))
        #expect(result.window == 120, "from the logs' first and last timestamps")
        let route = try #require(result.findings.first { $0.kind == .routeOverTarget })
        #expect(route.subject == "GET /markets/{id}")
        // 600 tagged statements over 120 requests; 1.2 s of 60 s in the database.
        #expect(route.evidence.first { $0.name == "statements_per_request" }?.value == 5)
        #expect(abs((route.evidence.first { $0.name == "database_share" }?.value ?? 0) - 0.02) < 1e-9)
        let nPlusOne = try #require(result.findings.first { $0.kind == .nPlusOne })
        #expect(nPlusOne.route == "/markets/{id}")
        #expect(nPlusOne.evidence.first { $0.name == "bursts" }?.value == 30)
        #expect(result.findings.contains { $0.kind == .eventLoopBlocked })
        #expect(!result.findings.contains { $0.subject.contains("/health") })
        #expect(!"\(result.findings)".contains("9000"), "no literal")
    }

    @Test func everyFormatSaysTheSameFindings() throws {
        let directory = try TemporaryDirectory()
        let logs = try Self.writeLogs(in: directory.path)
        let text = try FindingsReport.run(files: [logs.timing], values: try Self.values(logs.postgres))
        #expect(text.hasPrefix("vitals report: 3 findings over 2 min (2026-11-24T12:00:00.000Z to 2026-11-24T12:01:56.019Z)"))
        #expect(text.contains("\n1. "))
        #expect(text.contains("route_over_target  GET /markets/{id}"))
        let markdown = try FindingsReport.run(files: [logs.timing], values: try Self.values(logs.postgres, ["report.format": "markdown"]))
        #expect(markdown.hasPrefix("# vitals report\n"))
        #expect(markdown.contains("## 1. "))
        let json = try FindingsReport.run(files: [logs.timing], values: try Self.values(logs.postgres, ["report.format": "json"]))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let kinds = Set((object["findings"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String })
        #expect(kinds == ["route_over_target", "n_plus_one", "event_loop_blocked"])
        #expect(object["window_seconds"] as? Double == 120)
        #expect(throws: ConfigurationError.self) {
            try FindingsReport.run(files: [logs.timing], values: try Self.values(logs.postgres, ["report.format": "html"]))
        }
    }

    @Test func logsWithoutTimestampsNeedTheirDuration() throws {
        let directory = try TemporaryDirectory()
        let logs = try Self.writeLogs(in: directory.path, timestamps: false)
        let bare = directory.path + "/bare.log"
        try String(try String(contentsOfFile: logs.timing, encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("2026") }.joined(separator: "\n"))
            .write(toFile: bare, atomically: false, encoding: .utf8)
        let error = try #require(throws: ConfigurationError.self) { try FindingsReport.evaluate(files: [bare], values: try Self.values(nil)) }
        #expect("\(error)".contains("report.duration"))
        let result = try FindingsReport.evaluate(files: [bare], values: try Self.values(nil, ["report.duration": "2m"]))
        #expect(result.window == 120)
        #expect(result.findings.map(\.kind) == [.routeOverTarget])
    }

    @Test(arguments: [
        ("2026-11-24 12:00:00,250 INFO app", 0.25),
        ("2026-11-24T12:00:01.5Z GET /", 1.5),
        ("[2026-11-24 12:00:02] x", 2),
        ("2026-11-24 12:01:00 UTC [42] LOG:", 60),
    ])
    func leadingTimestamps(line: String, secondsAfterNoon: Double) throws {
        let noon = try #require(LogSpan.leadingTime(Array("2026-11-24 12:00:00".utf8)))
        let time = try #require(LogSpan.leadingTime(Array(line.utf8)))
        #expect(abs(time - noon - secondsAfterNoon) < 1e-9)
    }

    @Test(arguments: ["", "GET /markets/1 completed in 3ms", "2026-13-24 12:00:00 x", "2026-11-24 25:00:00", "2026-11-24 12:00", "２０２６-11-24 12:00:00"])
    func notATimestamp(line: String) {
        #expect(LogSpan.leadingTime(Array(line.utf8)) == nil)
    }
}
