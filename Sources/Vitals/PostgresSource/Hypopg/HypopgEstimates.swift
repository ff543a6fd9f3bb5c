#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The counters of `--findings.hypopg`: estimates made, and failures by a fixed reason.
struct HypopgMetrics: Sendable {
    let estimates: CounterFamily
    let failures: CounterFamily

    init(registry: MetricRegistry) throws(RegistryError) {
        estimates = try registry.counter(
            "vitals_hypopg_estimates_total", help: "Missing-index estimates made with hypopg (--findings.hypopg), in vitals' read-only session.")
        failures = try registry.counter(
            "vitals_hypopg_estimate_failures_total", help: "hypopg estimates that failed, by reason (statement, index, plan, timeout, permission, connection).",
            labels: ["reason"])
        estimates.initialize([])
        for code in HypopgError.Code.allCases { failures.initialize([code.description]) }
    }
}

/// `--findings.hypopg` for one target: after each collection pass, on the target's worker thread,
/// estimates a few index candidates on the main connection and publishes the results through
/// ``FindingEvidence``. Only the worker thread touches it.
final class HypopgEstimates: @unchecked Sendable {
    private var planner: HypopgPlanner
    private let evidence: FindingEvidence
    private let metrics: HypopgMetrics
    private let instance: String
    private var estimates: [IndexCandidateKey: IndexCostEstimate] = [:]

    init(evidence: FindingEvidence, metrics: HypopgMetrics, instance: String, settings: HypopgPlanner.Settings = .init()) {
        self.planner = HypopgPlanner(settings: settings)
        self.evidence = evidence
        self.metrics = metrics
        self.instance = instance
    }

    /// Runs what the planner asks for; returns the failure to report as a part of the pass, if any.
    func run(on worker: PostgresTargetWorker, pass: CollectionPass) -> HypopgError? {
        let candidates = evidence.indexCandidates
        let before = estimates.count
        // An estimate is refreshed every retry interval while it can be; one that could not be
        // (hypopg dropped, the statement gone) says less and less about the table as it ages.
        let oldest = Date().timeIntervalSince1970 - 3 * planner.settings.retryInterval
        estimates = estimates.filter { candidates[$0.key] != nil && $0.value.estimatedAt >= oldest }
        if estimates.count != before { evidence.publish(indexEstimates: estimates, from: instance) }
        let samples = evidence.statementSamples
        guard !samples.isEmpty else { return nil }
        return worker.withMainConnection(pass: pass) { (session: PostgresConnection, statementTimeout: Duration) -> (HypopgError?, Bool) in
            var failure: HypopgError?
            let now = Date().timeIntervalSince1970
            var action = planner.next(
                now: now, candidates: candidates, samples: samples, serverVersion: session.serverVersion, database: session.database)
            if action == .checkExtension {
                do throws(PostgresError) {
                    let installed = try HypopgEstimator.isInstalled(on: session)
                    planner.extensionChecked(installed: installed, now: now)
                } catch {
                    // Not installed reads as an empty answer, not an error: this is the query itself failing.
                    return (HypopgError(error, during: .statement), !error.breaksConnection)
                }
                action = planner.next(
                    now: now, candidates: candidates, samples: samples, serverVersion: session.serverVersion, database: session.database)
            }
            guard case .estimate(let jobs) = action else { return (nil, true) }
            for job in jobs {
                session.deadline = ContinuousClock.now + worker.stepTimeout
                pass.extendDeadline(to: session.deadline)
                let outcome = HypopgEstimator.estimate(job, on: session, statementTimeout: statementTimeout, now: Date().timeIntervalSince1970)
                switch outcome.result {
                case .success(let estimate):
                    estimates[job.key] = estimate
                    metrics.estimates.increment([])
                case .failure(let error):
                    failure = error
                    metrics.failures.increment([error.code.description])
                }
                guard outcome.sessionClean else { return (failure, false) }
            }
            evidence.publish(indexEstimates: estimates, from: instance)
            return (failure, true)
        } ?? nil
    }

    func forgetExtension() { planner.forgetExtension() }
}
