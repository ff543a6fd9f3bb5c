import NIOConcurrencyHelpers

/// What sources know that findings need and that is not a metric: the N+1 totals and the index
/// candidates of the statement log. Sources publish here; ``FindingsService`` reads it with each frame.
public final class FindingEvidence: Sendable {
    private let nPlusOne = NIOLockedValueBox<[String: [NPlusOneKey: NPlusOneTotals]]>([:])
    private let indexes = NIOLockedValueBox<[String: [IndexCandidateKey: IndexCandidateTotals]]>([:])

    public func publish(indexCandidates totals: [IndexCandidateKey: IndexCandidateTotals], from instance: String) {
        indexes.withLockedValue { $0[instance] = totals }
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
