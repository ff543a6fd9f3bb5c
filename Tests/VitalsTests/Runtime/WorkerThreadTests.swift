import Testing

@testable import Vitals
import NIOConcurrencyHelpers

@Suite struct WorkerThreadTests {
    @Test func pollsUntilCancelledThenReturnsAfterTheLastPoll() async throws {
        let polls = NIOLockedValueBox(0)
        let task = Task { await WorkerThread.repeatEvery(.milliseconds(10)) { _ in polls.withLockedValue { $0 += 1 }; return false } }
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
        let task = Task { await WorkerThread.repeatEvery(.seconds(3600)) { _ in polls.withLockedValue { $0 += 1 }; return false } }
        for _ in 0..<1000 where polls.withLockedValue({ $0 }) < 1 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await task.value
        #expect(polls.withLockedValue { $0 } == 1)
    }

    @Test func aJobFromACancelledTaskStillRuns() async throws {
        // The runner closes a source's connections from its cancelled task at shutdown; a skipped
        // job would leave them open until the source is freed.
        let worker = WorkerThread()
        let ran = NIOLockedValueBox(false)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await worker.run { ran.withLockedValue { $0 = true }; return 7 }
        }
        #expect(await task.value == 7)
        #expect(ran.withLockedValue { $0 })
        await worker.shutdown()
    }

    @Test func aJobAfterShutdownDoesNotRun() async throws {
        let worker = WorkerThread()
        await worker.shutdown()
        let ran = NIOLockedValueBox(false)
        let result = await worker.run { ran.withLockedValue { $0 = true }; return 7 }
        #expect(result == nil)
        #expect(!ran.withLockedValue { $0 })
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
