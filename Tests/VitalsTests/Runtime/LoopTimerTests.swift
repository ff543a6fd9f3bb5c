import NIOCore
import Testing

@testable import Vitals

@Suite struct LoopTimerTests {
    @Test func aSleepLastsAtLeastItsDuration() async throws {
        let start = ContinuousClock.now
        try await LoopTimer.sleep(for: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        let deadline = ContinuousClock.now + .milliseconds(30)
        try await LoopTimer.sleep(until: deadline)
        #expect(ContinuousClock.now >= deadline)
        // A periodic sleep lasts until its point on the grid, which may come a little early.
        let before = NIODeadline.now()
        try await LoopTimer.sleep(for: .milliseconds(300), periodic: true)
        #expect(NIODeadline.now() >= LoopTimer.coalesced(before, after: .milliseconds(300)))
    }

    /// Cancelling ends an hour's wait with CancellationError (a generous bound: not a speed test).
    @Test(arguments: [false, true]) func cancellingEndsTheWait(periodic: Bool) async throws {
        let waiting = Task { () -> Bool in
            do {
                try await LoopTimer.sleep(for: .seconds(3600), periodic: periodic)
                return false
            } catch is CancellationError {
                return true
            } catch {
                return false
            }
        }
        try await Task.sleep(for: .milliseconds(50))
        let start = ContinuousClock.now
        waiting.cancel()
        #expect(await waiting.value, "ended with CancellationError")
        #expect(ContinuousClock.now - start < .seconds(30))
    }

    @Test func anAlreadyCancelledTaskDoesNotWait() async {
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            do {
                try await LoopTimer.sleep(for: .seconds(3600))
                return false
            } catch {
                return error is CancellationError
            }
        }
        #expect(await task.value)
    }

    // Periodic waits end on a shared grid, so waits that fall due together cost one wake-up.

    static func at(_ milliseconds: Int64) -> NIODeadline { .uptimeNanoseconds(UInt64(milliseconds) * 1_000_000) }

    @Test func waitsDueWithinHalfAStepEndTogether() {
        // The 15 s passes, the findings round and the probe's third 5 s wait, started 1.7 ms apart.
        let passes = LoopTimer.coalesced(Self.at(1_000_001), after: .seconds(15))
        let findings = LoopTimer.coalesced(Self.at(1_000_002), after: .seconds(15))
        var probe = Self.at(1_000_000) + .microseconds(1_700)
        for _ in 0..<3 { probe = LoopTimer.coalesced(probe + .milliseconds(1), after: .seconds(5)) }
        #expect(passes == Self.at(1_015_000))
        #expect(findings == passes)
        #expect(probe == passes)
        // Further apart than half a step: each its own point.
        #expect(LoopTimer.coalesced(Self.at(1_000_051), after: .seconds(15)) == Self.at(1_015_100))
    }

    @Test func aLoopThatWaitsAPeriodAfterItsWorkDoesNotDrift() {
        var deadline = LoopTimer.coalesced(Self.at(2_000_000), after: .seconds(15))
        for period in 1...1000 {
            // 3 ms of work and a 1 ms late wake-up, then the next wait.
            deadline = LoopTimer.coalesced(deadline + .milliseconds(4), after: .seconds(15))
            #expect(deadline == Self.at(2_015_000 + Int64(period) * 15_000), "period \(period)")
        }
    }

    @Test func shortWaitsUseAFinerStepAndNeverMoveFarOrIntoThePast() {
        // 200 ms: a 20 ms step.
        #expect(LoopTimer.coalesced(Self.at(105), after: .milliseconds(200)) == Self.at(300))
        #expect(LoopTimer.coalesced(Self.at(115), after: .milliseconds(200)) == Self.at(320))
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let now = NIODeadline.uptimeNanoseconds(UInt64.random(in: 1...1 << 50, using: &generator))
            let duration = Duration.nanoseconds(Int64.random(in: 1...3_600_000_000_000, using: &generator))
            let end = LoopTimer.coalesced(now, after: duration)
            let exact = now + TimeAmount(duration)
            let step = min(100_000_000, max(1, TimeAmount(duration).nanoseconds / 10))
            #expect(abs((end - exact).nanoseconds) <= step / 2)
            #expect(end > now || duration < .nanoseconds(2))
        }
    }
}
