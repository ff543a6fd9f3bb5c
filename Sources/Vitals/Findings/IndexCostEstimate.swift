/// What the planner said about one missing index, asked with a hypothetical index (hypopg):
/// the plan's total cost without it and with it, in the planner's cost units.
public struct IndexCostEstimate: Sendable, Equatable {
    public var costBefore: Double
    public var costAfter: Double
    /// Whether the plan with the hypothetical index reads it. When not, the planner prefers the
    /// scan, and the two costs are (about) equal.
    public var usesIndex: Bool
    /// Seconds since the Unix epoch.
    public var estimatedAt: Double

    public init(costBefore: Double, costAfter: Double, usesIndex: Bool, estimatedAt: Double) {
        self.costBefore = costBefore
        self.costAfter = costAfter
        self.usesIndex = usesIndex
        self.estimatedAt = estimatedAt
    }
}
