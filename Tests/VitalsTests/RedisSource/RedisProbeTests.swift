import Foundation
import Glibc
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import NIOConcurrencyHelpers

@testable import Vitals

@Suite struct RedisProbeUnitTests {
    @Test func targetsTakeTheirCredentialsFromTheModuleNeverTheURL() throws {
        let plain = try RedisProbeTarget.target("redis://cache1:6380", module: nil)
        #expect(plain.label == "cache1:6380" && plain.password == nil && plain.user == nil)
        #expect(try RedisProbeTarget.target("cache1:6380", module: nil).label == "cache1:6380")
        let module = ProbeAuthModule(username: "", password: "pw", options: [:])
        let withModule = try RedisProbeTarget.target("redis://cache1:6380", module: module)
        #expect(withModule.password == "pw" && withModule.user == nil)
        let acl = try RedisProbeTarget.target("rediss://cache1:6380", module: .init(username: "mon", password: "pw", options: [:]))
        #expect(acl.user == "mon" && acl.address.tls)
        for target in ["redis://:pw@cache1:6380", "redis://u:pw@cache1:6380"] {
            #expect(throws: ProbeTargetError(.passwordInTarget, .redis)) { try RedisProbeTarget.target(target, module: module) }
        }
        #expect(throws: ProbeTargetError(.missingTarget, .redis)) { try RedisProbeTarget.target(nil, module: nil) }
        #expect(throws: ProbeTargetError(.invalidTarget, .redis)) { try RedisProbeTarget.target("http://cache1", module: nil) }
    }

    @Test func theScrapeTLSClientIsMadeOnTheFirstTLSTargetAndOnlyOnce() throws {
        // Made at start, it read the system's CA bundle into every daemon; now only a rediss://
        // target makes it, once, and a client that could not be made is not tried again.
        let calls = NIOLockedValueBox(0)
        let tls = LazyRedisTLSClient {
            calls.withLockedValue { $0 += 1 }
            return nil
        }
        #expect(!tls.isMade)
        #expect(calls.withLockedValue { $0 } == 0)
        #expect(tls.client() == nil)
        #expect(tls.client() == nil)
        #expect(tls.isMade)
        #expect(calls.withLockedValue { $0 } == 1)
    }

    @Test func redisModulesMayOmitTheUserButNotAddOptions() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/redis-auth.yml"
        try "auth_modules:\n  cache:\n    type: userpass\n    userpass: {password: hunter2}\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(try RedisProbe.loadModules(path: path)["cache"] == ProbeAuthModule(username: "", password: "hunter2", options: [:]))
        try "auth_modules:\n  cache:\n    type: userpass\n    userpass: {password: hunter2}\n    options: {sslmode: x}\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try RedisProbe.loadModules(path: path)
        } throws: { error in
            let text = String(describing: error)
            return text.contains("redis.auth-modules-file") && text.contains("unknown key 'options'") && !text.contains("hunter2")
        }
    }
}

/// `/scrape` against real servers: the shared test Redis, a second redis-server started here (and
/// later stopped with SIGSTOP), and a listener that never answers.
@Suite(.serialized) struct RedisProbeIntegrationTests {
    static func startRedis(in directory: String, password: String, extraArguments: [String] = []) async throws -> (ChildProcess, Int) {
        let port = TestEnvironment.freePort()
        let process = try ChildProcess(
            "/usr/bin/redis-server",
            ["--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory, "--requirepass", password,
             "--daemonize", "no"] + extraArguments)
        for _ in 0..<200 {
            if process.output.contains("Ready to accept connections") { return (process, port) }
            if !process.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw PostgresTestSupportFailure(message: "redis-server did not start: \(process.output.suffix(2000))")
    }

    static func scrape(
        _ client: some TestClientProtocol, target: String, module: String?, timeout: String? = "3"
    ) async throws -> (status: HTTPResponse.Status, body: String, elapsed: Duration) {
        var uri = "/scrape?target=" + target.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        if let module { uri += "&auth_module=\(module)" }
        var headers: HTTPFields = [:]
        if let timeout { headers[HTTPField.Name("X-Prometheus-Scrape-Timeout-Seconds")!] = timeout }
        let start = ContinuousClock.now
        return try await client.execute(uri: uri, method: .get, headers: headers) { response in
            (response.status, String(buffer: response.body), ContinuousClock.now - start)
        }
    }

    @Test func scrapesAnswerEachTargetInTimeAndHungOnesAreDown() async throws {
        guard let shared = RedisTestServer.fromEnvironment() else { return }
        let directory = try TemporaryDirectory()
        let otherPassword = "other-\(UInt32.random(in: 0...UInt32.max))"
        let (other, otherPort) = try await Self.startRedis(in: directory.path, password: otherPassword)
        defer {
            kill(other.process.processIdentifier, SIGCONT)
            other.process.terminate()
        }
        let listener = try SilentListener()
        let file = directory.path + "/redis-auth.yml"
        try """
            auth_modules:
              shared:
                type: userpass
                userpass: {password: '\(shared.password)'}
              other:
                type: userpass
                userpass: {username: default, password: '\(otherPassword)'}
              hung:
                type: userpass
                userpass: {password: pw-hung-secret}

            """.write(toFile: file, atomically: true, encoding: .utf8)
        let logs = PostgresLogCapture()
        // No --redis.addr: /scrape alone.
        let app = try makePostgresTestApplication([("redis.auth-modules-file", file)], logs: logs)
        try await app.test(.router) { client in
            async let first = Self.scrape(client, target: "redis://127.0.0.1:\(shared.port)", module: "shared")
            async let second = Self.scrape(client, target: "127.0.0.1:\(otherPort)", module: "other")
            async let hung = Self.scrape(client, target: "redis://127.0.0.1:\(listener.port)", module: "hung", timeout: "2")
            let answers = try await [first, second, hung]
            for (index, answer) in answers.enumerated() {
                #expect(answer.status == .ok)
                // Bounded, with a generous margin: the suite runs hundreds of tests at once on two cores.
                #expect(answer.elapsed < .seconds(10), "scrape \(index) answered in \(answer.elapsed)")
            }
            #expect(ScrapedMetrics(answers[0].body).values("redis_up").first?.value == 1)
            #expect(ScrapedMetrics(answers[1].body).values("redis_up").first?.value == 1)
            #expect(ScrapedMetrics(answers[2].body).values("redis_up").first?.value == 0)
            #expect(answers[2].elapsed >= .milliseconds(1200), "the hung target had its whole budget (2 s less 0.5 s, the pass stopping 0.2 s early)")
            #expect(!ScrapedMetrics(answers[0].body).values("redis_connected_clients").isEmpty)
            #expect(!answers[0].body.contains("target=\""))

            // The second server hangs (SIGSTOP) with vitals' connection open: still answered in time, down.
            kill(other.process.processIdentifier, SIGSTOP)
            let stopped = try await Self.scrape(client, target: "127.0.0.1:\(otherPort)", module: "other", timeout: "1.5")
            #expect(stopped.elapsed < .seconds(8), "answered in \(stopped.elapsed)")
            #expect(stopped.elapsed >= .milliseconds(700), "waited on the stopped server until its budget (1.5 s less 0.5 s, less 0.2 s)")
            #expect(ScrapedMetrics(stopped.body).values("redis_up").first?.value == 0)
            kill(other.process.processIdentifier, SIGCONT)
            var back = 0.0
            for _ in 0..<20 where back != 1 {
                back = ScrapedMetrics(try await Self.scrape(client, target: "127.0.0.1:\(otherPort)", module: "other").body).values("redis_up").first?.value ?? -1
            }
            #expect(back == 1, "up again once the server runs")

            // Refusals: a password in the URL, an unknown module, no target.
            let withPassword = try await Self.scrape(client, target: "redis://:\(shared.password)@127.0.0.1:\(shared.port)", module: nil)
            #expect(withPassword.status == .badRequest && !withPassword.body.contains(shared.password))
            let unknownModule = try await Self.scrape(client, target: "redis://127.0.0.1:\(shared.port)", module: "nope")
            #expect(unknownModule.status == .badRequest && unknownModule.body == "no such auth_module in --redis.auth-modules-file\n")
            #expect(try await client.execute(uri: "/scrape", method: .get) { $0.status } == .badRequest)
            // No module on a server that wants a password: down, not an error page. (The private
            // server: the shared one's error counters are watched by other suites.)
            let anonymous = try await Self.scrape(client, target: "redis://127.0.0.1:\(otherPort)", module: nil)
            #expect(anonymous.status == .ok && ScrapedMetrics(anonymous.body).values("redis_up").first?.value == 0)

            let scrape = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(!scrape.contains("redis_up"))
            let own = ScrapedMetrics(scrape)
            #expect(own.sum("vitals_probe_requests_total", where: ["endpoint": "/scrape", "result": "timeout"]) == 2, "the listener and the stopped server")
            #expect(own.sum("vitals_probe_requests_total", where: ["endpoint": "/scrape", "result": "refused"]) == 3)
            #expect(own.sum("vitals_probe_targets", where: ["endpoint": "/scrape"]) == 4, "shared, other with and without a module, the listener")
        }
        for secret in [shared.password, otherPassword, "pw-hung-secret"] {
            #expect(!logs.text.contains(secret))
        }
        #expect(listener.closedByClient == listener.acceptedCount, "every connection to the hung listener was closed")
    }
}
