import Testing

@testable import Vitals

/// The CPU-heavy synchronous tests rely on `.onItsOwnThread` to stay off the cooperative pool; if a
/// toolchain stopped honouring the executor preference for a test body, they would starve the
/// end-to-end tests again, so this checks where a body really runs.
@Suite struct OwnThreadTraitTests {
    /// NIOThreadPool names its threads `TP-#<n>`; the cooperative pool's threads are not named so.
    private static func currentThreadName() -> String {
        PostgresConfiguration.readFile("/proc/thread-self/comm") ?? ""
    }

    @Test(.onItsOwnThread) func aSynchronousBodyRunsOnTheOwnThread() {
        #expect(Self.currentThreadName().hasPrefix("TP-#"))
    }

    @Test(.onItsOwnThread) func anAsynchronousBodyResumesOnTheOwnThread() async throws {
        #expect(Self.currentThreadName().hasPrefix("TP-#"))
        try await Task.sleep(for: .milliseconds(10))
        #expect(Self.currentThreadName().hasPrefix("TP-#"))
    }

    @Test func withoutTheTraitABodyRunsElsewhere() {
        #expect(!Self.currentThreadName().hasPrefix("TP-#"))
    }
}
