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
    }

    /// Cancelling ends an hour's wait with CancellationError (a generous bound: not a speed test).
    @Test func cancellingEndsTheWait() async throws {
        let waiting = Task { () -> Bool in
            do {
                try await LoopTimer.sleep(for: .seconds(3600))
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
}
