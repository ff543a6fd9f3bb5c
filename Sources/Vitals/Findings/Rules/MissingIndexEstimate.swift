/// What a hypopg estimate adds to a `missing_index` finding: the plan's cost without and with
/// the suggested index, as evidence, and one sentence in the action.
enum MissingIndexEstimate {
    static func attach(_ estimate: IndexCostEstimate, to finding: inout Finding) {
        guard estimate.costBefore.isFinite, estimate.costAfter.isFinite, estimate.costBefore >= 0, estimate.costAfter >= 0 else { return }
        finding.evidence.append(Finding.Evidence("estimated_cost_before", estimate.costBefore, unit: "cost", window: 0))
        finding.evidence.append(Finding.Evidence("estimated_cost_after", estimate.costAfter, unit: "cost", window: 0))
        let before = cost(estimate.costBefore)
        let after = cost(estimate.costAfter)
        if estimate.usesIndex {
            finding.action += " hypopg estimates the plan cost falls from \(before) to \(after)."
        } else {
            // Said plainly: the suggestion stays (the filter's shape calls for it), but the planner disagrees.
            finding.action += " hypopg estimates the planner would not use this index (plan cost \(before), \(after) with it)."
        }
    }

    /// Planner costs are arbitrary units: whole numbers read best, fractions only below 10.
    static func cost(_ value: Double) -> String {
        value >= 10 ? SampleValue.format(value.rounded()) : SampleValue.format((value * 100).rounded() / 100)
    }
}
