import NIOConcurrencyHelpers

/// What sources know that is not a metric, passed between them: the N+1 totals, index candidates
/// and slowest statements of the statement log, the current findings, and each evaluation's frame.
/// Sources publish here; ``FindingsService`` reads it with each frame, and the page takes that
/// frame rather than gathering the registry a second time.
public final class FindingEvidence: Sendable {
    private let findings = NIOLockedValueBox<(list: [Finding], evaluatedAt: Double?)>(([], nil))
    private let slowest = NIOLockedValueBox<[String: [SlowQueryStats]]>([:])
    private let frameObservers = NIOLockedValueBox<[@Sendable (MetricFrame, Double) -> Void]>([])

    /// Calls `observer` with the frame of each findings evaluation and its time, after the
    /// findings of that evaluation are published.
    public func observeFrames(_ observer: @escaping @Sendable (MetricFrame, Double) -> Void) {
        frameObservers.withLockedValue { $0.append(observer) }
    }

    func evaluated(frame: MetricFrame, now: Double) {
        for observer in frameObservers.withLockedValue({ $0 }) { observer(frame, now) }
    }

    public func publish(findings list: [Finding], evaluatedAt: Double) {
        findings.withLockedValue { $0 = (list, evaluatedAt) }
    }

    /// The findings of the latest evaluation, by impact; empty when findings are off.
    public var currentFindings: (list: [Finding], evaluatedAt: Double?) { findings.withLockedValue { $0 } }

    /// Replaces the slowest statements (by total time) the log `instance` reported before.
    public func publish(slowestStatements list: [SlowQueryStats], from instance: String) {
        slowest.withLockedValue { $0[instance] = list }
    }

    /// Every log's slowest statements, by total time.
    public func slowestStatements(limit: Int) -> [SlowQueryStats] {
        let all = slowest.withLockedValue { $0 }
        return Array(all.values.joined().sorted { ($0.totalSeconds, $1.id) > ($1.totalSeconds, $0.id) }.prefix(limit))
    }

    private let nPlusOne = NIOLockedValueBox<[String: [NPlusOneKey: NPlusOneTotals]]>([:])
    private let indexes = NIOLockedValueBox<[String: [IndexCandidateKey: IndexCandidateTotals]]>([:])

    public func publish(indexCandidates totals: [IndexCandidateKey: IndexCandidateTotals], from instance: String) {
        indexes.withLockedValue { $0[instance] = totals }
    }

    private let samples = NIOLockedValueBox<[String: [IndexCandidateKey: StatementSample]]>([:])
    private let estimates = NIOLockedValueBox<[String: [IndexCandidateKey: IndexCostEstimate]]>([:])

    /// The candidates with, for `--findings.hypopg`, one statement each (memory only: never rendered).
    public func publish(
        indexCandidates totals: [IndexCandidateKey: IndexCandidateTotals], samples list: [IndexCandidateKey: StatementSample], from instance: String
    ) {
        publish(indexCandidates: totals, from: instance)
        samples.withLockedValue { $0[instance] = list }
    }

    /// One statement per candidate, from whichever log has one.
    public var statementSamples: [IndexCandidateKey: StatementSample] {
        let all = samples.withLockedValue { $0 }
        var merged: [IndexCandidateKey: StatementSample] = [:]
        for instance in all.keys.sorted() { merged.merge(all[instance]!) { first, _ in first } }
        return merged
    }

    /// Replaces the estimates the Postgres target `instance` made before.
    public func publish(indexEstimates list: [IndexCandidateKey: IndexCostEstimate], from instance: String) {
        estimates.withLockedValue { $0[instance] = list }
    }

    /// Every target's latest estimate per candidate; the newest wins when two targets made one.
    public var indexEstimates: [IndexCandidateKey: IndexCostEstimate] {
        let all = estimates.withLockedValue { $0 }
        var merged: [IndexCandidateKey: IndexCostEstimate] = [:]
        for list in all.values { merged.merge(list) { $0.estimatedAt >= $1.estimatedAt ? $0 : $1 } }
        return merged
    }

    /// Every instance's candidates; two logs naming the same candidate add up.
    public var indexCandidates: [IndexCandidateKey: IndexCandidateTotals] {
        let all = indexes.withLockedValue { $0 }
        guard all.count > 1 else { return all.values.first ?? [:] }
        var merged: [IndexCandidateKey: IndexCandidateTotals] = [:]
        for totals in all.values {
            for (key, value) in totals {
                var sum = merged[key] ?? IndexCandidateTotals()
                sum.statements += value.statements
                sum.seconds += value.seconds
                if value.rowsScanned > sum.rowsScanned {
                    sum.rowsScanned = value.rowsScanned
                    sum.rowsReturned = value.rowsReturned
                }
                merged[key] = sum
            }
        }
        return merged
    }

    public init() {}

    /// Replaces what the source instance `instance` (a log path) reported before.
    public func publish(nPlusOne totals: [NPlusOneKey: NPlusOneTotals], from instance: String) {
        nPlusOne.withLockedValue { $0[instance] = totals }
    }

    /// Every instance's totals, summed per key.
    public var nPlusOneTotals: [NPlusOneKey: NPlusOneTotals] {
        let all = nPlusOne.withLockedValue { $0 }
        guard all.count > 1 else { return all.values.first ?? [:] }
        var merged: [NPlusOneKey: NPlusOneTotals] = [:]
        for totals in all.values {
            for (key, value) in totals {
                var sum = merged[key] ?? NPlusOneTotals(shape: value.shape)
                sum.bursts += value.bursts
                sum.statements += value.statements
                sum.seconds += value.seconds
                merged[key] = sum
            }
        }
        return merged
    }
}
