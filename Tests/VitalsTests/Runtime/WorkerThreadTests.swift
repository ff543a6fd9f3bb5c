import Testing

@testable import Vitals

@Suite struct WorkerThreadTests {
    @Test func pollsUntilCancelledThenReturnsAfterTheLastPoll() async throws {
        let polls = Locked(0)
        let task = Task { await WorkerThread.repeatEvery(.milliseconds(10)) { polls.withLock { $0 += 1 } } }
        for _ in 0..<1000 where polls.withLock({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(polls.withLock { $0 } >= 3)

        task.cancel()
        await task.value
        let final = polls.withLock { $0 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(polls.withLock { $0 } == final, "a poll ran after repeatEvery returned")
    }

    @Test func cancellationEndsALongWaitEarly() async throws {
        // With an hour between polls, returning at all proves the wait was cut short.
        let polls = Locked(0)
        let task = Task { await WorkerThread.repeatEvery(.seconds(3600)) { polls.withLock { $0 += 1 } } }
        for _ in 0..<1000 where polls.withLock({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await task.value
        #expect(polls.withLock { $0 } == 1)
    }

    @Test func stopSignalTimesOutUnlessStopped() async throws {
        let signal = StopSignal()
        #expect(signal.wait(for: .milliseconds(20)) == false)
        #expect(!signal.isStopped)
        signal.stop()
        #expect(signal.wait(for: .seconds(3600)) == true)
        #expect(signal.isStopped)
    }
}
