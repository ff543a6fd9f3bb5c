#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Hummingbird
import NIOCore

/// The HTTP surface: `/metrics` (path configurable), `/health`, `/ready`, the sources' endpoints,
/// and at `/` the page (a source's, see ``PageService``) or, with the page off, a list of links.
struct Endpoints: Sendable {
    let registry: MetricRegistry
    let health: SourceHealthBoard
    let sourceEndpoints: [SourceEndpoints.Endpoint]
    let telemetryPath: String
    let scrapes: CounterFamily
    let scrapeDuration: HistogramFamily
    let exposition = CompressedExpositionCache()

    init(registry: MetricRegistry, health: SourceHealthBoard, sourceEndpoints: [SourceEndpoints.Endpoint] = [], telemetryPath: String) throws {
        self.registry = registry
        self.health = health
        self.sourceEndpoints = sourceEndpoints
        self.telemetryPath = telemetryPath
        self.scrapes = try registry.counter("vitals_scrapes_total", help: "Requests served on the metrics endpoint.", labels: ["format"])
        self.scrapeDuration = try registry.histogram(
            "vitals_scrape_duration_seconds", help: "Time to gather and write one metrics response.",
            buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10])
        for format in ExpositionFormat.allCases { scrapes.initialize([format.label]) }
    }

    func addRoutes(to router: Router<VitalsRequestContext>) {
        router.get(RouterPath(telemetryPath)) { request, _ in
            metrics(accept: request.headers[.accept], acceptEncoding: request.headers[.acceptEncoding])
        }
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "OK\n")))
        }
        router.get("/ready") { _, context in ready(detailed: context.isAuthenticated) }
        if !sourceEndpoints.contains(where: { $0.path == "/" }) { router.get("/") { _, _ in index() } }
        for endpoint in sourceEndpoints where endpoint.path != telemetryPath && !["/health", "/ready"].contains(endpoint.path) {
            router.get(RouterPath(endpoint.path)) { request, _ in
                var query: [String: String] = [:]
                for (name, value) in request.uri.queryParameters { query[String(name)] = String(value) }
                var headers: [String: String] = [:]
                for field in request.headers { headers[field.name.canonicalName] = field.value }
                let answer = await endpoint.respond(SourceEndpoints.Request(query: query, headers: headers))
                var fields: HTTPFields = [.contentType: answer.contentType]
                if let encoding = answer.contentEncoding { fields[.contentEncoding] = encoding }
                return Response(
                    status: HTTPResponse.Status(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
            }
        }
    }

    func metrics(accept: String?, acceptEncoding: String?) -> Response {
        let start = ContinuousClock.now
        let format = ExpositionFormat.negotiate(accept: accept)
        scrapes.increment([format.label])  // before the gather, so a scrape counts itself
        let answer = ExpositionAnswer(registry.gather(), format: format, acceptEncoding: acceptEncoding, cache: exposition)
        var headers: HTTPFields = [.contentType: answer.format.contentType]
        if let encoding = answer.contentEncoding { headers[.contentEncoding] = encoding }
        scrapeDuration.observe([], (ContinuousClock.now - start).seconds)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    /// Without `detailed` (a probe exempt from basic auth that sent no credentials), only the
    /// status and each source's name and state: no instance (a target name), error or time.
    func ready(detailed: Bool = true) -> Response {
        let statuses = health.all
        let isReady = statuses.allSatisfy { $0.state == .up }
        let sources = statuses.map { status -> String in
            var fields = [
                "\"source\":\(JSONText.quote(status.source))",
                "\"state\":\(JSONText.quote(status.state.rawValue))",
            ]
            guard detailed else { return "{" + fields.joined(separator: ",") + "}" }
            if let instance = status.instance { fields.append("\"instance\":\(JSONText.quote(instance))") }
            if let error = status.lastError { fields.append("\"error\":\(JSONText.quote(error))") }
            if let reason = status.lastErrorReason { fields.append("\"reason\":\(JSONText.quote(reason.rawValue))") }
            if let success = status.lastSuccess {
                fields.append("\"last_success\":\(JSONText.quote(success.formatted(.iso8601)))")
            }
            return "{" + fields.joined(separator: ",") + "}"
        }
        let body = "{\"status\":\(isReady ? "\"ready\"" : "\"not ready\""),\"sources\":[\(sources.joined(separator: ","))]}\n"
        return Response(
            status: isReady ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    func index() -> Response {
        let html = """
            <!doctype html>
            <html><head><meta charset="utf-8"><title>vitals</title></head>
            <body>
            <h1>vitals \(VitalsVersion.version)</h1>
            <p>Request latency, Postgres and Redis health for Prometheus.</p>
            <ul>
            <li><a href="\(telemetryPath)">Metrics</a></li>
            <li><a href="/ready">Readiness</a> (each source's state)</li>
            <li><a href="/health">Health</a></li>
            \(sourceEndpoints.map { "<li><a href=\"\($0.path)\">\($0.path)</a> (\($0.summary))</li>" }.joined(separator: "\n"))
            </ul>
            </body></html>

            """
        return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
