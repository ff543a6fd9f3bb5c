import Testing

@testable import Vitals

@Suite struct BackoffTests {
    /// Postgres's schedule: 1 s doubling, capped at the 15 s interval.
    @Test func doublesFromTheBaseUpToTheInterval() {
        var backoff = Backoff(base: .seconds(1), cap: .seconds(15))
        #expect([backoff.failed(), backoff.failed(), backoff.failed(), backoff.failed(), backoff.failed(), backoff.failed()]
            == [.seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(15), .seconds(15)])
        backoff.succeeded()
        #expect(backoff.consecutiveFailures == 0)
        #expect(backoff.failed() == .seconds(1))
    }

    /// Redis's schedule: 0.5 s doubling, capped.
    @Test func delaysAreExponentialAndCapped() {
        let backoff = Backoff(base: .milliseconds(500), cap: .seconds(30))
        #expect((0...8).map { backoff.delay(afterFailures: $0) }
            == [.zero, .milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30), .seconds(30)])
        // No overflow however long a server stays down.
        #expect(backoff.delay(afterFailures: Int.max) == .seconds(30))
    }

    @Test func aCapBelowTheBaseIsTheBase() {
        #expect(Backoff(base: .seconds(2), cap: .seconds(1)).delay(afterFailures: 3) == .seconds(2))
    }
}

@Suite struct LabelLimiterTests {
    @Test func admissionIsStickyAndOverflowIsCounted() {
        var limiter = LabelLimiter<String>(capacity: 2)
        #expect(limiter.admit("get") == "get")
        #expect(limiter.admit("set") == "set")
        #expect(limiter.admit("del") == nil)
        #expect(limiter.admit("get") == "get")
        #expect(limiter.limit("hset") == "__other__")
        #expect(limiter.limit("set") == "set")
        #expect(limiter.takeOverflowCount() == 2)
        #expect(limiter.takeOverflowCount() == 0)
        #expect(limiter.admitted == ["get", "set"])
    }

    @Test func composedValuesAreLimitedWhole() {
        var limiter = LabelLimiter<[String]>(capacity: 1)
        #expect(limiter.admit(["app", "alice"]) == ["app", "alice"])
        #expect(limiter.admit(["app", "bob"]) == nil)
        #expect(limiter.admit(["app", "alice"]) == ["app", "alice"])
    }

    @Test func aZeroCapSendsEverythingToOther() {
        var limiter = LabelLimiter<String>(capacity: 0)
        #expect(limiter.limit("a") == "__other__")
        #expect(limiter.overflowCount == 1)
    }
}
