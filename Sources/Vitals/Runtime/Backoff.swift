/// How long to wait before the next attempt after consecutive failures: `base`, doubling, never
/// more than `cap`.
///
/// Collection passes use it with the interval as the cap, so a restarted server is seen within
/// seconds (1 s, 2 s, 4 s…) and a server that stays down gets at most one attempt per interval
/// once the backoff is spent, instead of one connection attempt per second for ever.
public struct Backoff: Sendable, Equatable {
    public let base: Duration
    public let cap: Duration
    public private(set) var consecutiveFailures = 0

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = max(base, cap)
    }

    /// Records a failure; returns how long to wait before the next attempt.
    public mutating func failed() -> Duration {
        consecutiveFailures += 1
        return delay(afterFailures: consecutiveFailures)
    }

    /// Records a success; the next failure starts again from `base`.
    public mutating func succeeded() {
        consecutiveFailures = 0
    }

    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        return min(cap, base * (1 << min(failures - 1, 30)))
    }
}
