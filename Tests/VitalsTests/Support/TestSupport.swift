import Synchronization
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import Vitals

#if canImport(Glibc)
import Glibc
#endif

/// Where things are, for tests that run the real binary and real servers.
enum TestEnvironment {
    static let repositoryRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        while url.path != "/" {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url.path }
        }
        return FileManager.default.currentDirectoryPath
    }()

    /// The `vitals` executable built next to the test bundle.
    static var vitalsBinary: String {
        let directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [directory, directory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("vitals").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return repositoryRoot + "/.build/debug/vitals"
    }

    /// A tool from the environment (set by scripts/test.sh) or PATH.
    static func tool(_ name: String, variable: String) -> String? {
        if let path = ProcessInfo.processInfo.environment[variable], FileManager.default.isExecutableFile(atPath: path) { return path }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    /// `unshare(1)`, once it has shown it may make a private mount namespace here; otherwise the
    /// test is cancelled (not failed): that needs CAP_SYS_ADMIN.
    static func unshareWithMountNamespace() async throws -> String {
        guard let unshare = tool("unshare", variable: "VITALS_TEST_UNSHARE") else {
            try Test.cancel("unshare(1) is not installed (util-linux)")
        }
        let probe = try await ChildProcess.run(unshare, ["--mount", "--propagation", "private", "true"], timeout: .seconds(30))
        guard probe.status == 0 else {
            try Test.cancel("unshare --mount is not permitted here (needs CAP_SYS_ADMIN): \(probe.output)")
        }
        return unshare
    }

    /// A write to a closed pipe or socket (a child that exited, a server a test stopped) must fail
    /// its test, not kill the whole test process with SIGPIPE and orphan the daemons other tests
    /// started. NIO ignores the signal only once it opens its first socket; a test's own hiredis
    /// client or child process may come first.
    static func ignoreSIGPIPE() {
        _ = Glibc.signal(SIGPIPE, SIG_IGN)
    }

    /// A TCP port that was free a moment ago on 127.0.0.1.
    /// A port no earlier call in this process returned: the kernel may hand a closed port out again,
    /// and two tests once got the same one (gunicorn: "Connection in use").
    static func freePort() -> Int {
        var port = 0
        for _ in 0..<100 {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            port = boundPort(fd)
            close(fd)
            if handedOutPorts.withLock({ $0.insert(port).inserted }) { break }
        }
        // After 100 repeats, the kernel's last answer: a port it reports free, never 0 (which a
        // server would take as "any port", and the test would then talk to the wrong one).
        return port
    }

    private static let handedOutPorts = Mutex<Set<Int>>([])

    /// Binds `fd` to 127.0.0.1 on a port the kernel picks, and returns that port.
    static func boundPort(_ fd: Int32) -> Int {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}


/// A child process with captured output, killed when the value goes away.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    private let outputPipe = Pipe()
    private let capture = Capture()

    /// The output read so far, in order: one thread reads the pipe to its end. (Reading in a
    /// `readabilityHandler` and then `readToEnd()` at exit could append a chunk the handler held
    /// after the rest: the likely cause of a psql's JSON that once parsed as nothing in CI.)
    private final class Capture: @unchecked Sendable {
        private let lock = NSLock()
        private var data = Data()
        private var ended = false

        func append(_ chunk: Data) { lock.withLock { data.append(chunk) } }
        func end() { lock.withLock { ended = true } }
        var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
        var hasEnded: Bool { lock.withLock { ended } }
    }

    /// - Parameter output: where stdout and stderr go instead of being captured (e.g. /dev/full).
    /// - Parameter input: a pipe the test keeps writing to (and closes for EOF), instead of `stdin`.
    init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Data? = nil, output: FileHandle? = nil, input: Pipe? = nil) throws {
        TestEnvironment.ignoreSIGPIPE()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = output ?? outputPipe
        process.standardError = output ?? outputPipe
        let inputPipe = Pipe()
        process.standardInput = input ?? (stdin == nil ? FileHandle.nullDevice : inputPipe)
        try process.run()
        if output != nil {
            capture.end()  // nothing to read
        } else {
            // The thread holds the capture and the handle, not self, so that deinit still kills a
            // child the test let go of; the pipe then ends and so does the thread.
            let reading = outputPipe.fileHandleForReading
            let capture = capture
            Thread.detachNewThread {
                while case let chunk = reading.availableData, !chunk.isEmpty { capture.append(chunk) }
                capture.end()
            }
        }
        if let input { try? input.fileHandleForReading.close() }  // the child's end, now it has it
        if output != nil { try? outputPipe.fileHandleForWriting.close() }  // nothing to capture: wait() reads EOF at once
        if let stdin {
            // A child that exits before reading all of its input (psql that cannot connect)
            // fails its test with the write error (SIGPIPE is ignored, above).
            try? inputPipe.fileHandleForWriting.write(contentsOf: stdin)
            try? inputPipe.fileHandleForWriting.close()
        }
    }

    var output: String { capture.text }

    /// Waits for exit; returns the status, or nil after the timeout (the process is then killed).
    func wait(timeout: Duration = .seconds(120)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                return nil
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // The rest of the output: the pipe ends when the child (and anything that inherited its
        // end) has closed it.
        while !capture.hasEnded, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return process.terminationStatus
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
    }

    /// Runs to completion and returns (status, output).
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, timeout: Duration = .seconds(300)) async throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable, arguments, stdin: stdin)
        let status = await child.wait(timeout: timeout) ?? -1
        return (status, child.output)
    }
}

enum HTTPGet {
    struct Failure: Error {}

    /// A plain GET of an http:// URL with a timeout; nil when nothing answered. Through vitals' own
    /// NIO client, not URLSession: FoundationNetworking's task registry crashed the test process
    /// once under the parallel suite ("Trying to access a behaviour for a task that in not in the
    /// registry") and stalled it for a minute another time.
    static func fetch(_ url: String, timeout: TimeInterval = 10, headers: [String: String] = [:]) async -> (status: Int, body: String)? {
        guard let target = ProbeURL(url) else { Issue.record("not an http:// URL: \(url)"); return nil }
        do {
            let response = try await HTTPProbeClient.fetch(
                target, headers: headers.map { ($0.key, $0.value) }, bodyLimit: 64 << 20, timeout: .seconds(timeout),
                group: MultiThreadedEventLoopGroup.singleton)
            return (response.status, String(buffer: response.body))
        } catch {
            return nil
        }
    }

    static func waitFor(_ url: String, timeout: Duration = .seconds(60), until accept: (Int, String) -> Bool = { status, _ in status == 200 })
        async -> (status: Int, body: String)?
    {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let answer = await fetch(url, timeout: 5), accept(answer.status, answer.body) { return answer }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }
}

/// Parses exposition text into samples, for tests that check what a scrape says.
struct ScrapedMetrics {
    struct Sample {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    var samples: [Sample] = []

    init(_ text: String) {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...].replacingOccurrences(of: "+Inf", with: "inf")) else {
                continue
            }
            let head = line[..<space]
            var labels: [String: String] = [:]
            var name = String(head)
            if let brace = head.firstIndex(of: "{") {
                name = String(head[..<brace])
                let body = head[head.index(after: brace)..<head.index(before: head.endIndex)]
                var rest = Substring(body)
                while let equals = rest.firstIndex(of: "=") {
                    let key = String(rest[..<equals]).trimmingCharacters(in: CharacterSet(charactersIn: ", "))
                    rest = rest[rest.index(equals, offsetBy: 2)...]
                    var value = ""
                    var escaped = false
                    var end = rest.startIndex
                    for index in rest.indices {
                        let character = rest[index]
                        if escaped { value.append(character == "n" ? "\n" : character); escaped = false; continue }
                        if character == "\\" { escaped = true; continue }
                        if character == "\"" { end = index; break }
                        value.append(character)
                    }
                    labels[key] = value
                    rest = rest[rest.index(after: end)...]
                }
            }
            samples.append(Sample(name: name, labels: labels, value: value))
        }
    }

    func values(_ name: String, where match: [String: String] = [:]) -> [Sample] {
        samples.filter { sample in sample.name == name && match.allSatisfy { key, value in sample.labels[key] == value } }
    }

    func sum(_ name: String, where match: [String: String] = [:]) -> Double {
        values(name, where: match).reduce(0) { $0 + $1.value }
    }

    /// `histogram_quantile` as Prometheus computes it from cumulative buckets (linear interpolation).
    static func quantile(_ q: Double, buckets: [(le: Double, count: Double)]) -> Double {
        let sorted = buckets.sorted { $0.le < $1.le }
        guard let total = sorted.last?.count, total > 0 else { return .nan }
        let rank = q * total
        var previousBound = 0.0
        var previousCount = 0.0
        for bucket in sorted {
            if bucket.count >= rank {
                if bucket.le == .infinity { return previousBound }
                if bucket.count == previousCount { return bucket.le }
                return previousBound + (bucket.le - previousBound) * (rank - previousCount) / (bucket.count - previousCount)
            }
            previousBound = bucket.le
            previousCount = bucket.count
        }
        return previousBound
    }
}

/// Starlette timing-log lines for the end-to-end tests: request `i` is `GET /markets/i` in 3.5 ms.
enum StarletteLog {
    static func requests(_ range: Range<Int>) -> String {
        range.map { "2026-11-24 12:00:00,000 INFO t GET /markets/\($0) completed in 3.5ms\n" }.joined()
    }
}

/// `@Suite(.onItsOwnThread)`: the suite's tests run on a thread of their own rather than on Swift's
/// cooperative pool. The pool has one thread per core, two here: two CPU-heavy random-input tests
/// held it for a minute at a time, and every end-to-end test's awaits waited with them until their
/// deadlines ran out. A task-executor preference keeps each test's task, so `#expect` still
/// reports to the test.
struct OwnThreadTrait: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        try await withTaskExecutorPreference(OwnThreadExecutor.shared) { try await function() }
    }
}

extension Trait where Self == OwnThreadTrait {
    static var onItsOwnThread: Self { OwnThreadTrait() }
}

final class OwnThreadExecutor: TaskExecutor {
    static let shared = OwnThreadExecutor()
    private let thread = NIOThreadPool(numberOfThreads: 1)

    private init() { thread.start() }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        thread.submit { _ in job.runSynchronously(on: executor) }
    }
}
