import Foundation
import Testing

/// Two timing logs with different formats, given as `timing-log.inputs` in the YAML file, read by
/// the real binary: each series says which input it came from.
@Suite(.serialized) struct MultipleInputsEndToEndTests {
    @Test func anNginxLogAndAnAppLogSideBySide() async throws {
        let directory = try TemporaryDirectory()
        let access = directory.path + "/access.log"
        let app = directory.path + "/app.log"
        try """
            127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /markets/42 HTTP/1.1" 200 612 "-" "curl/7.88.1" 0.030 0.025
            127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /markets/43 HTTP/1.1" 502 0 "-" "curl/7.88.1" 0.012 0.005, 0.006
            127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /static/app.css HTTP/1.1" 200 99 "-" "curl/7.88.1" 0.001 -

            """.write(toFile: access, atomically: true, encoding: .utf8)
        try """
            2026-12-04 05:48:31,003 INFO app.timing GET /markets/42 completed in 24.0ms
            2026-12-04 05:48:31,004 INFO app.timing POST /orders completed in 80.5ms

            """.write(toFile: app, atomically: true, encoding: .utf8)
        let config = directory.path + "/vitals.yml"
        try """
            timing-log:
              inputs:
                - name: edge
                  path: \(access)
                  format: nginx
                  nginx.upstream-time: observed
                  from-beginning: true
                - name: app
                  path: \(app)
                  format: starlette
                  from-beginning: true
            """.write(toFile: config, atomically: true, encoding: .utf8)

        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary, ["--config.file", config, "--web.listen-address", "127.0.0.1:\(port)", "--timing-log.poll-interval", "20ms"])
        let url = "http://127.0.0.1:\(port)/metrics"
        let answer = await HTTPGet.waitFor(url, timeout: .seconds(60)) { status, body in
            status == 200 && ScrapedMetrics(body).sum("http_requests_total") == 4
        }
        let body = try #require(answer?.body, "vitals did not count both logs: \(daemon.output)")
        let metrics = ScrapedMetrics(body)

        // The edge observed its upstream time; the static file had none and is unparsed there.
        #expect(metrics.sum("http_requests_total", where: ["input": "edge"]) == 2)
        #expect(metrics.sum("http_requests_total", where: ["input": "edge", "route": "/markets/{id}", "status_class": "5xx"]) == 1)
        let edgeSum = metrics.sum("http_request_duration_seconds_sum", where: ["input": "edge"])
        #expect(abs(edgeSum - 0.036) < 1e-9, "sum of upstream times: \(edgeSum)")
        // The app log has no status: its series count under status_class="unknown".
        #expect(metrics.sum("http_requests_total", where: ["input": "app", "status_class": "unknown"]) == 2)
        #expect(metrics.sum("http_requests_total", where: ["input": "app", "method": "POST", "route": "/orders"]) == 1)
        // Every request series carries the input label.
        #expect(metrics.values("http_requests_total").allSatisfy { $0.labels["input"] != nil })
        #expect(metrics.values("vitals_timing_log_routes").count == 2)
        #expect(metrics.sum("vitals_log_lines_total", where: ["result": "unparsed"]) == 1)

        daemon.signal(SIGTERM)
        #expect(await daemon.wait(timeout: .seconds(30)) == 0, "\(daemon.output)")
    }
}
