import Testing

@testable import Vitals
import NIOConcurrencyHelpers

@Suite struct WorkerThreadTests {
    @Test func pollsUntilCancelledThenReturnsAfterTheLastPoll() async throws {
        let polls = NIOLockedValueBox(0)
        let task = Task { await WorkerThread.repeatEvery(.milliseconds(10)) { polls.withLockedValue { $0 += 1 } } }
        for _ in 0..<1000 where polls.withLockedValue({ $0 }) < 3 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(polls.withLockedValue { $0 } >= 3)

        task.cancel()
        await task.value
        let final = polls.withLockedValue { $0 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(polls.withLockedValue { $0 } == final, "a poll ran after repeatEvery returned")
    }

    @Test func cancellationEndsALongWaitEarly() async throws {
        // With an hour between polls, returning at all proves the wait was cut short.
        let polls = NIOLockedValueBox(0)
        let task = Task { await WorkerThread.repeatEvery(.seconds(3600)) { polls.withLockedValue { $0 += 1 } } }
        for _ in 0..<1000 where polls.withLockedValue({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await task.value
        #expect(polls.withLockedValue { $0 } == 1)
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
