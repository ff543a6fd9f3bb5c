import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@testable import Vitals

func makeTestApplication(_ flags: [(String, String)]) throws -> some ApplicationProtocol {
    let values = try ConfigurationLoader(keys: VitalsConfiguration.allKeys).load(
        flags: [("web.listen-address", "127.0.0.1:0")] + flags, environment: [:], file: nil)
    let configuration = try VitalsConfiguration(values: values)
    var logger = Logger(label: "test")
    logger.logLevel = .warning
    return try buildApplication(configuration: configuration, logger: logger)
}

@Suite struct EndpointsTests {
    @Test func metricsHealthReadyAndIndex() async throws {
        let app = try makeTestApplication([("event-loop.interval", "0"), ("findings.enabled", "false"), ("page.enabled", "false")])
        try await app.test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
                let body = String(buffer: response.body)
                #expect(body.contains("# TYPE process_cpu_seconds_total counter\n"))
                #expect(body.contains("process_resident_memory_bytes "))
                #expect(body.contains("process_open_fds "))
                #expect(body.contains("process_start_time_seconds "))
                #expect(body.contains("vitals_build_info{version=\"\(VitalsVersion.version)\""))
                #expect(body.contains("vitals_scrapes_total{format=\"text\"} 1\n"))
            }
            try await client.execute(uri: "/health", method: .get) { response in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == "{\"status\":\"ready\",\"sources\":[]}\n")
            }
            try await client.execute(uri: "/", method: .get) { response in
                #expect(String(buffer: response.body).contains("href=\"/metrics\""))
            }
            try await client.execute(uri: "/" + String(repeating: "x", count: 4000), method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.body.readableBytes < 256)
            }
        }
    }

    @Test func thePageAndItsJSONReplaceTheIndex() async throws {
        let app = try makeTestApplication([("event-loop.interval", "0"), ("web.telemetry-path", "/custom")])
        try await app.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                let body = String(buffer: response.body)
                #expect(body.contains("<main id=\"page\""))
                #expect(body.contains("href=\"/custom\""))
                #expect(body.contains("href=\"/findings\""))
                #expect(!body.contains("http://") && !body.contains("https://"), "nothing from elsewhere")
            }
            try await client.execute(uri: "/api/summary", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "application/json")
                #expect(String(buffer: response.body).hasPrefix("{\"generated_at\":"))
            }
        }
    }

    @Test func openMetricsAndGzipAreNegotiated() async throws {
        let app = try makeTestApplication([("web.telemetry-path", "/custom")])
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/custom", method: .get,
                headers: [.accept: "application/openmetrics-text;version=1.0.0,text/plain;q=0.5", .acceptEncoding: "gzip"]
            ) { response in
                #expect(response.headers[.contentType] == ExpositionFormat.openMetrics.contentType)
                #expect(response.headers[.contentEncoding] == "gzip")
                let text = String(decoding: try Gzip.decompressForTesting(Array(buffer: response.body)), as: UTF8.self)
                #expect(text.hasSuffix("# EOF\n"))
                #expect(text.contains("# TYPE process_cpu_seconds counter\n"))
            }
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .notFound)
            }
        }
    }

    @Test func timingLogSourceFeedsTheRegistryAndReady() async throws {
        let directory = try TemporaryDirectory()
        let log = directory.path + "/app.log"
        try """
            2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms
            2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 250.1ms
            garbage line
            2026-11-22 12:00:00,009 INFO app.middleware.timing GET /markets/7?x=1 completed in 20.0ms

            """.write(toFile: log, atomically: false, encoding: .utf8)
        let app = try makeTestApplication([
            ("timing-log.path", log), ("timing-log.from-beginning", "true"), ("timing-log.poll-interval", "20ms"),
        ])
        try await app.test(.router) { client in
            var body = ""
            for _ in 0..<250 {
                body = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
                if body.contains("vitals_log_lines_total{source=\"timing_log\",result=\"unparsed\"} 1"),
                    body.contains("vitals_source_up{source=\"timing_log\",instance=\"\"} 1")
                {
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(body.contains("http_requests_total{method=\"GET\",route=\"/markets/{id}\"} 2\n"))
            #expect(body.contains("http_requests_total{method=\"GET\",route=\"/dashboard\"} 1\n"))
            #expect(body.contains("http_slow_requests_total{method=\"GET\",route=\"/dashboard\"} 1\n"))
            #expect(body.contains("http_slow_requests_total{method=\"GET\",route=\"/markets/{id}\"} 0\n"))
            #expect(body.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/markets/{id}\",le=\"0.0145\"} 1\n"))
            #expect(body.contains("http_request_duration_seconds_bucket{method=\"GET\",route=\"/markets/{id}\",le=\"0.02\"} 2\n"))
            #expect(body.contains("vitals_log_lines_total{source=\"timing_log\",result=\"parsed\"} 3\n"))
            #expect(body.contains("vitals_source_up{source=\"timing_log\",instance=\"\"} 1\n"))
            try await client.execute(uri: "/ready", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("\"source\":\"timing_log\",\"state\":\"up\""))
            }
        }
    }

    @Test func missingLogIsReportedInReadyWithoutFailingMetrics() async throws {
        let directory = try TemporaryDirectory()
        let app = try makeTestApplication([("timing-log.path", directory.path + "/later/app.log"), ("timing-log.poll-interval", "20ms")])
        try await app.test(.router) { client in
            var status = HTTPResponse.Status.ok
            var body = ""
            for _ in 0..<100 {
                (status, body) = try await client.execute(uri: "/ready", method: .get) { ($0.status, String(buffer: $0.body)) }
                if status == .serviceUnavailable && body.contains("\"reason\":\"not_found\"") { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == .serviceUnavailable)
            #expect(body.contains("\"state\":\"down\""))
            try await client.execute(uri: "/metrics", method: .get) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains("vitals_source_up{source=\"timing_log\",instance=\"\"} 0\n"))
            }
            // The directory and file appear later: the source recovers by itself.
            try FileManager.default.createDirectory(atPath: directory.path + "/later", withIntermediateDirectories: true)
            try "2026-11-22 12:00:00,003 INFO x GET /a completed in 1.0ms\n".write(toFile: directory.path + "/later/app.log", atomically: false, encoding: .utf8)
            for _ in 0..<200 {
                status = try await client.execute(uri: "/ready", method: .get) { $0.status }
                if status == .ok { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(status == .ok)
        }
    }
}

/// A fresh directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/vitals-test-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
