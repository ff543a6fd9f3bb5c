import Foundation
import Testing

/// What the daemon maps, checked on the real binary: no Foundation (its ICU and internationalization
/// libraries cost about 10 MiB resident, BENCHMARKS.md "Cost to run"), only FoundationEssentials.
/// Another `import Foundation` in the daemon's sources, or a dependency that brings it, fails here.
@Suite struct ProcessFootprintEndToEndTests {
    static let foundationLibraries = ["libFoundation.so", "lib_FoundationICU.so", "libFoundationInternationalization.so"]

    @Test func theBinaryDoesNotLinkFoundation() async throws {
        let (status, output) = try await ChildProcess.run("/usr/bin/ldd", [TestEnvironment.vitalsBinary], timeout: .seconds(60))
        #expect(status == 0, "\(output)")
        #expect(output.contains("libpq.so"), "ldd lists the binary's libraries: \(output)")
        for library in Self.foundationLibraries {
            #expect(!output.contains(library), "\(library) is linked:\n\(output)")
        }
    }

    @Test func theRunningDaemonMapsNoFoundationLibrary() async throws {
        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:\(port)", "--log.level", "warn"])
        defer { daemon.signal(SIGTERM) }
        // Not a deadline: a clean-clone run once stalled the whole machine for 30 s as the tests began.
        try #require(await HTTPGet.waitFor("http://127.0.0.1:\(port)/metrics", timeout: .seconds(120)) != nil, "\(daemon.output)")
        let maps = try String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/maps", encoding: .utf8)
        #expect(maps.contains("vitals"))
        for library in Self.foundationLibraries {
            #expect(!maps.contains(library), "\(library) is mapped")
        }
    }
}
