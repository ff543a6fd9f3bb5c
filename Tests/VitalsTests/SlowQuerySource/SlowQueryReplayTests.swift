import Foundation
import Testing

@testable import Vitals

/// `vitals replay` reads the Postgres logs it is given, as it reads timing logs.
@Suite struct SlowQueryReplayTests {
    static let keys = TimingLogConfiguration.keys + SlowQueryConfiguration.keys + FindingsConfiguration.keys

    @Test func replayReadsSlowQueryLogsAndFindsNPlusOnes() throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/postgresql.log"
        var lines = SlowQueryFixtures.stderrSessionPrefix + "\n"
        for index in 0..<8 {
            lines += "2026-11-24 12:00:01.00\(index) UTC [77] app@shop LOG:  duration: 0.040 ms  statement: SELECT * FROM outcomes WHERE id = \(index + 100) /*route='%2Fmarkets%2F%7Bid%7D'*/\n"
        }
        try lines.write(toFile: log, atomically: false, encoding: .utf8)
        let values = try ConfigurationValues.make(
            keys: Self.keys, ["slow-query.log-path": log, "slow-query.log-line-prefix": "%m [%p] %q%u@%d ", "slow-query.threshold": "50ms"])
        let metrics = ScrapedMetrics(String(decoding: try TimingLogReplay.run(files: [], values: values), as: UTF8.self))
        #expect(metrics.sum("pg_slow_queries_total", where: ["datname": "app", "user": "postgres"]) == 4)
        #expect(metrics.sum("pg_n_plus_one_bursts_total") == 1, "the burst ends with the file")
        #expect(metrics.sum("http_requests_total") == 0)
    }

    @Test func replayWithNothingToReadSaysWhat() throws {
        let values = try ConfigurationValues.make(keys: Self.keys)
        #expect(throws: ConfigurationError.self) { try TimingLogReplay.run(files: [], values: values) }
    }
}
