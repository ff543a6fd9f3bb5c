import NIOConcurrencyHelpers

/// What sources know that findings need and that is not a metric: the N+1 totals of the
/// statement log. Sources publish here; ``FindingsService`` reads it with each frame.
public final class FindingEvidence: Sendable {
    private let nPlusOne = NIOLockedValueBox<[String: [NPlusOneKey: NPlusOneTotals]]>([:])

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
