#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import ServiceLifecycle

/// vitals' own page: every findings interval it takes a frame of the registry (what a scrape
/// sees) and appends the interval to the hour of history. The summary that `GET /` and
/// `GET /api/summary` serve is built by the first request after a frame and kept until the next
/// one: a page nobody opens costs the history only, not the routes' quantiles and the charted
/// series every interval.
///
/// With findings on, the frame is the one each findings evaluation just took (``FindingEvidence``
/// hands it over), so one gather serves both and the page always shows that evaluation's
/// findings; with findings off, the page runs the same interval itself.
public final class PageService: VitalsSource {
    public let name = "page"
    public let status: SourceStatus
    private let configuration: PageConfiguration
    private let findings: FindingsConfiguration
    private let registry: MetricRegistry
    private let evidence: FindingEvidence
    private let health: SourceHealthBoard
    private let endpoints: SourceEndpoints
    private let telemetryPath: String
    private let state: NIOLockedValueBox<State>
    /// Whether ``FindingsService`` feeds the frames; otherwise ``run()`` gathers them.
    private let fedByFindings: Bool

    struct State {
        var window: FrameWindow
        var history: PageHistory
        /// Of the latest frame; nil until a request asks for it.
        var summary: PageSummary?
        /// Frames taken so far: a summary whose findings were read before a newer frame is not kept.
        var frames = 0
    }

    public init(configuration: PageConfiguration, findings: FindingsConfiguration, context: SourceContext, telemetryPath: String) {
        self.configuration = configuration
        self.findings = findings
        self.registry = context.registry
        self.evidence = context.evidence
        self.health = context.health
        self.endpoints = context.endpoints
        self.telemetryPath = telemetryPath
        self.status = context.health.makeStatus(source: "page")
        let frames = Int((findings.window.seconds / findings.interval.seconds).rounded(.up)) + 1
        let points = Int((configuration.history.seconds / findings.interval.seconds).rounded(.up))
        self.state = NIOLockedValueBox(
            State(window: FrameWindow(capacity: frames), history: PageHistory(capacity: points, maxRoutes: configuration.historyRoutes)))
        self.fedByFindings = findings.enabled
        if findings.enabled {
            context.evidence.observeFrames { [self] frame, now in self.collect(frame, now: now) }
        }
        context.endpoints.register(path: "/", summary: "This page") { [self] _ in
            SourceEndpoints.Response(contentType: "text/html; charset=utf-8", body: self.renderHTML())
        }
        context.endpoints.register(path: "/api/summary", summary: "What the page shows, as JSON") { [self] _ in
            SourceEndpoints.Response(body: self.summary().json())
        }
    }

    public func run() async throws {
        guard !fedByFindings else {
            // Nothing to schedule: the findings evaluations bring the frames.
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.collect(now: Date().timeIntervalSince1970)
                try? await LoopTimer.sleep(for: self.findings.interval, periodic: true)
            }
        }
    }

    /// One interval of its own (findings off, or a request before the first evaluation).
    func collect(now: Double) {
        collect(MetricFrame.gathered(from: registry, time: now), now: now)
    }

    /// One interval: a history point for the interval since the previous frame.
    func collect(_ frame: MetricFrame, now: Double) {
        let started = ContinuousClock.now
        state.withLockedValue { state in
            if let previous = state.window.latest { state.history.append(time: now, PageSummary.observations(from: previous, to: frame)) }
            state.window.append(frame)
            state.summary = nil
            state.frames += 1
        }
        status.recordSuccess(duration: (ContinuousClock.now - started).seconds)
    }

    /// The latest frame's summary, built now if no request has asked for it since that frame.
    func summary() -> PageSummary {
        if let summary = state.withLockedValue({ $0.summary }) { return summary }
        if state.withLockedValue({ $0.window.latest == nil }) { collect(now: Date().timeIntervalSince1970) }
        let frames = state.withLockedValue { $0.frames }
        let (list, evaluatedAt) = evidence.currentFindings
        let statements = evidence.slowestStatements(limit: SlowQuerySource.statementsForThePage)
        let sources = health.all
        return state.withLockedValue { state in
            if let summary = state.summary { return summary }
            let latest = state.window.latest ?? MetricFrame(families: [], time: Date().timeIntervalSince1970)
            var summary = PageSummary(
                earliest: state.window.earliest ?? latest, latest: latest, settings: findings.rules, findings: list, findingsEvaluatedAt: evaluatedAt,
                statements: statements, sources: sources, history: state.history, chartedRoutes: configuration.chartedRoutes)
            summary.findingsWindowSeconds = findings.window.seconds
            // A frame that came after the findings were read is newer than they are: this request
            // gets the pair, the next one builds again.
            if state.frames == frames { state.summary = summary }
            return summary
        }
    }

    func renderHTML() -> String {
        var links = [(path: telemetryPath, title: "metrics"), (path: "/ready", title: "ready"), (path: "/api/summary", title: "summary JSON")]
        for endpoint in endpoints.all where !["/", "/api/summary"].contains(endpoint.path) { links.append((endpoint.path, String(endpoint.path.dropFirst()))) }
        return PageHTML(summary: summary(), refreshSeconds: Int(findings.interval.seconds.rounded()), links: links).render()
    }
}

/// `--page.*`: the page's history. Its resolution is the findings interval and its table window
/// the findings window, so the page and the findings always agree.
public struct PageConfiguration: Sendable {
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey("page.enabled", .bool, default: .bool(true), help: "Serve the live page at / and its JSON at /api/summary."),
        ConfigurationKey("page.history", .duration, default: .duration(.seconds(3600)), help: "How far back the page's charts go."),
        ConfigurationKey(
            "page.history-routes", .int, default: .int(20),
            help: "Routes kept per history point, the busiest of each interval; with page.history this fixes the history's memory."),
        ConfigurationKey("page.charted-routes", .int, default: .int(6), help: "Routes drawn as charts, the busiest over the history."),
    ]

    public var enabled: Bool
    public var history: Duration
    public var historyRoutes: Int
    public var chartedRoutes: Int

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        enabled = values.bool("page.enabled")
        history = values.duration("page.history") ?? .seconds(3600)
        guard history >= .seconds(60), history <= .seconds(86_400) else {
            throw ConfigurationError(.invalidValue, key: "page.history", "must be between 1m and 24h")
        }
        historyRoutes = values.int("page.history-routes") ?? 20
        guard (1...200).contains(historyRoutes) else { throw ConfigurationError(.invalidValue, key: "page.history-routes", "must be 1 to 200") }
        chartedRoutes = values.int("page.charted-routes") ?? 6
        guard (0...50).contains(chartedRoutes) else { throw ConfigurationError(.invalidValue, key: "page.charted-routes", "must be 0 to 50") }
    }
}

public enum PageFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { PageConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try PageConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try PageConfiguration(values: configuration)
        guard settings.enabled else { return [] }
        let findings = try FindingsConfiguration(values: configuration)
        return [PageService(configuration: settings, findings: findings, context: context, telemetryPath: configuration.string("web.telemetry-path") ?? "/metrics")]
    }
}
