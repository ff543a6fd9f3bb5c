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

    /// One event loop (ThreadBudget), whatever the number of cores; the operator's
    /// NIO_SINGLETON_GROUP_LOOP_COUNT still wins.
    @Test func theDaemonRunsOneEventLoopUnlessToldOtherwise() async throws {
        func loopThreads(environment: [String: String]) async throws -> Int {
            let port = TestEnvironment.freePort()
            let daemon = try ChildProcess(
                TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:\(port)", "--log.level", "warn"], environment: environment)
            defer { daemon.signal(SIGTERM) }
            try #require(await HTTPGet.waitFor("http://127.0.0.1:\(port)/metrics", timeout: .seconds(120)) != nil, "\(daemon.output)")
            let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(daemon.process.processIdentifier)/task")
            return tasks.filter { task in
                let name = (try? String(contentsOfFile: "/proc/\(daemon.process.processIdentifier)/task/\(task)/comm", encoding: .utf8)) ?? ""
                return name.hasPrefix("NIO-SGLTN")
            }.count
        }
        let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        #expect(try await loopThreads(environment: path) == 1)
        #expect(try await loopThreads(environment: path.merging(["NIO_SINGLETON_GROUP_LOOP_COUNT": "3"]) { a, _ in a }) == 3)
    }

    /// Swift concurrency's tasks run on the event loop (ThreadBudget): the daemon starts no pool of
    /// libdispatch threads for them, which came and went with every 15 s round before. Run with
    /// VITALS_CONCURRENCY_ON_DISPATCH=1, the same requests start the pool, so the check can see it.
    @Test func tasksRunOnTheEventLoopNotOnADispatchPool() async throws {
        func poolThreadsAfterRequests(environment: [String: String]) async throws -> [String] {
            let port = TestEnvironment.freePort()
            let daemon = try ChildProcess(
                TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:\(port)", "--log.level", "warn"], environment: environment)
            defer { daemon.signal(SIGTERM) }
            try #require(await HTTPGet.waitFor("http://127.0.0.1:\(port)/metrics", timeout: .seconds(120)) != nil, "\(daemon.output)")
            // Answered by tasks: a scrape, the page and the findings. A pool thread idles 5 s before it ends.
            for path in ["/metrics", "/", "/findings"] {
                let answer = await HTTPGet.fetch("http://127.0.0.1:\(port)\(path)", timeout: 30)
                #expect(answer?.status == 200, "\(path): \(String(describing: answer))")
            }
            let pid = daemon.process.processIdentifier
            let names = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").map { task in
                ((try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            }
            // libdispatch names its pool's threads after the root queue, "com.apple.root.default-qos",
            // cut to 15 bytes; its signal sources' thread is the ".overcommit" queue's.
            return names.filter { $0.contains("qos") && !$0.contains("overcommit") }
        }
        let path = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
        #expect(try await poolThreadsAfterRequests(environment: path) == [])
        #expect(try await poolThreadsAfterRequests(environment: path.merging(["VITALS_CONCURRENCY_ON_DISPATCH": "1"]) { a, _ in a }) != [])
    }
}
