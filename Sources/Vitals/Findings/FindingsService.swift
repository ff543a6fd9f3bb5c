#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Recomputes the findings every interval, from the same metrics a scrape sees plus the
/// statement log's N+1 totals, and serves them: `GET /findings` and `vitals_finding_active`.
///
/// The work per evaluation is one gather of the registry (what a scrape costs) and the rules,
/// pure functions over the window's first and last frames; memory is the frame ring (window ÷
/// interval frames, each bounded by the route cap) and at most `kinds × max-per-kind` findings.
public final class FindingsService: VitalsSource {
    public let name = "findings"
    public let status: SourceStatus
    private let configuration: FindingsConfiguration
    private let registry: MetricRegistry
    private let evidence: FindingEvidence
    private let publisher: SnapshotPublisher
    private let logger: Logger
    private let state: NIOLockedValueBox<State>

    struct State {
        var window: FrameWindow
        var board: FindingsBoard
    }

    static let active = try! MetricDescriptor(
        name: "vitals_finding_active", help: "1 for each active finding, by kind and subject (bounded: --findings.max-per-kind per kind).",
        type: .gauge, labelNames: ["kind", "subject"])
    static let impact = try! MetricDescriptor(
        name: "vitals_finding_impact_seconds_per_minute",
        help: "Estimated seconds of request or database time per minute an active finding costs, where vitals can estimate it.",
        type: .gauge, labelNames: ["kind", "subject"])

    public init(configuration: FindingsConfiguration, context: SourceContext) {
        self.configuration = configuration
        self.registry = context.registry
        self.evidence = context.evidence
        self.logger = context.logger
        self.status = context.health.makeStatus(source: "findings")
        self.publisher = context.registry.makePublisher()
        let frames = Int((configuration.window.seconds / configuration.interval.seconds).rounded(.up)) + 1
        self.state = NIOLockedValueBox(State(window: FrameWindow(capacity: frames), board: FindingsBoard(maxPerKind: configuration.maxPerKind)))
        publisher.publish(Self.families(for: []))
        context.endpoints.register(path: "/findings", summary: "The bottlenecks vitals found, by impact, with their evidence") { [self] _ in
            SourceEndpoints.Response(body: self.renderJSON())
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                self.evaluate(now: Date().timeIntervalSince1970)
                try? await LoopTimer.sleep(for: self.configuration.interval, periodic: true)
            }
        }
    }

    /// One evaluation: a frame of the current metrics, the rules over the window, the board.
    func evaluate(now: Double) {
        let started = ContinuousClock.now
        var frame = MetricFrame.gathered(from: registry, time: now)
        frame.nPlusOne = evidence.nPlusOneTotals
        frame.indexCandidates = evidence.indexCandidates
        frame.indexEstimates = evidence.indexEstimates
        let findings: [Finding] = state.withLockedValue { state in
            state.window.append(frame)
            let frames = state.window.frames
            if frames.count >= 2, let earliest = frames.first {
                let inputs = FindingInputs(earliest: earliest, previous: frames[frames.count - 2], latest: frame, frames: frames)
                state.board.update(with: FindingRules.evaluate(inputs, settings: configuration.rules), now: now)
            }
            return state.board.current
        }
        publisher.publish(Self.families(for: findings))
        evidence.publish(findings: findings, evaluatedAt: now)
        status.recordSuccess(duration: (ContinuousClock.now - started).seconds)
        evidence.evaluated(frame: frame, now: now)
    }

    static func families(for findings: [Finding]) -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        builder.declare(active)
        builder.declare(impact)
        for finding in findings {
            let labels = [finding.kind.rawValue, finding.subject]
            builder.add(active, value: 1, labels: labels)
            if let impact = finding.impactSecondsPerMinute { builder.add(Self.impact, value: impact, labels: labels) }
        }
        return builder.build()
    }

    /// The findings as published after each evaluation, once their metrics are: read from the
    /// board itself, `/findings` could name a finding `/metrics` did not have yet (a test saw it
    /// under load).
    func renderJSON() -> String {
        let (findings, evaluatedAt) = evidence.currentFindings
        return FindingsJSON.render(
            findings, evaluatedAt: evaluatedAt, window: configuration.window.seconds, settings: configuration.rules)
    }
}

/// `GET /findings`: the documented schema (README, "Findings"), keys in a fixed order.
enum FindingsJSON {
    static func render(_ findings: [Finding], evaluatedAt: Double?, window: Double, settings: FindingSettings) -> String {
        var out = "{\"evaluated_at\":" + (evaluatedAt.map { JSONText.quote(SlowQueryTime.iso8601($0)) } ?? "null")
        out += ",\"window_seconds\":" + JSONText.number(window)
        out += ",\"target\":{\"latency_seconds\":" + JSONText.number(settings.targetLatency) + ",\"quantile\":" + JSONText.number(settings.targetQuantile) + "}"
        out += ",\"findings\":["
        for (index, finding) in findings.enumerated() {
            if index > 0 { out += "," }
            out += "{\"kind\":" + JSONText.quote(finding.kind.rawValue)
            out += ",\"subject\":" + JSONText.quote(finding.subject)
            out += ",\"route\":" + (finding.route.map(JSONText.quote) ?? "null")
            out += ",\"impact_seconds_per_minute\":" + (finding.impactSecondsPerMinute.map(JSONText.number) ?? "null")
            out += ",\"evidence\":["
            for (position, evidence) in finding.evidence.enumerated() {
                if position > 0 { out += "," }
                out += "{\"name\":" + JSONText.quote(evidence.name) + ",\"value\":" + JSONText.number(evidence.value)
                out += ",\"unit\":" + JSONText.quote(evidence.unit) + ",\"window_seconds\":" + JSONText.number(evidence.windowSeconds) + "}"
            }
            out += "],\"action\":" + JSONText.quote(finding.action)
            out += ",\"first_seen\":" + JSONText.quote(SlowQueryTime.iso8601(finding.firstSeen))
            out += ",\"last_seen\":" + JSONText.quote(SlowQueryTime.iso8601(finding.lastSeen)) + "}"
        }
        return out + "]}"
    }
}

public enum FindingsFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { FindingsConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try FindingsConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try FindingsConfiguration(values: configuration)
        guard settings.enabled else { return [] }
        return [FindingsService(configuration: settings, context: context)]
    }
}
