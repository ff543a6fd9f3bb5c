/// When the next connection attempt may start, after failures: capped exponential backoff.
///
/// The first attempt after a working connection breaks is immediate (a restart or a dropped idle
/// connection usually succeeds at once); then 0.5 s, 1 s, 2 s … up to the cap. Passes that fall
/// inside the wait publish `redis_up 0` without touching the network, so a dead or overloaded
/// server is not hammered by one connection attempt per pass.
public struct RedisReconnectBackoff: Sendable, Equatable {
    public let base: Duration
    public let cap: Duration
    public private(set) var consecutiveFailures = 0
    public private(set) var notBefore: ContinuousClock.Instant?

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    public func mayConnect(at now: ContinuousClock.Instant) -> Bool {
        notBefore.map { now >= $0 } ?? true
    }

    public mutating func recordFailure(at now: ContinuousClock.Instant) {
        consecutiveFailures += 1
        notBefore = now + delay(afterFailures: consecutiveFailures)
    }

    public mutating func recordSuccess() {
        consecutiveFailures = 0
        notBefore = nil
    }

    /// 0.5 s after the first failure, doubling, capped.
    public func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0 else { return .zero }
        let exponent = min(failures - 1, 30)
        let delay = base * (1 << exponent)
        return min(delay, cap)
    }
}
