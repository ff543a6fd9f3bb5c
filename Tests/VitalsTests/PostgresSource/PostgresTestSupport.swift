import Foundation
import Hummingbird
import NIOCore
import HTTPTypes
import HummingbirdTesting
import Logging
import Testing

@testable import Vitals
import NIOConcurrencyHelpers

/// The private PostgreSQL 15 started by `scripts/test-servers.sh` (via `scripts/test.sh`).
struct PostgresTestServer: Sendable {
    let dsn: String
    let superuserDSN: String
    let password: String
    let port: String
    let dataDirectory: String
    let logFile: String

    /// The server, or nil after recording a failure: these tests must not pass silently without one.
    static func require() -> PostgresTestServer? {
        let environment = ProcessInfo.processInfo.environment
        guard let dsn = environment["VITALS_TEST_PG_DSN"], let superuserDSN = environment["VITALS_TEST_PG_SUPERUSER_DSN"],
            let password = environment["VITALS_TEST_PG_PASSWORD"], let port = environment["VITALS_TEST_PG_PORT"],
            let dataDirectory = environment["VITALS_TEST_PG_DATADIR"]
        else {
            Issue.record("VITALS_TEST_PG_* is not set: run scripts/test.sh (it starts the test PostgreSQL and exports them)")
            return nil
        }
        return PostgresTestServer(
            dsn: dsn, superuserDSN: superuserDSN, password: password, port: port, dataDirectory: dataDirectory,
            logFile: environment["VITALS_TEST_PG_LOG"] ?? dataDirectory + "/../postgresql.log")
    }

    /// A second, private server (and its Redis) from `scripts/test-servers.sh`, for tests that stop
    /// and start Postgres (the shared one is in use by suites running in parallel) or that need it
    /// configured otherwise (`options`: e.g. `--log-all-statements`).
    static func startPrivate(in directory: String, options: [String] = []) async throws -> PostgresTestServer {
        let script = TestEnvironment.repositoryRoot + "/scripts/test-servers.sh"
        // Through system() with every descriptor above 2 closed, as pgctl does: servers started
        // through Foundation's Process keep its pipes, and the script then never appears to exit.
        let command = """
            exec bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; \
            exec bash "\(script)" start "\(directory)" \(options.joined(separator: " ")) >"\(directory).log" 2>&1 </dev/null'
            """
        let status = await Task.detached { system(command) }.value
        try #require(status == 0, "test-servers.sh start failed: \((try? String(contentsOfFile: directory + ".log", encoding: .utf8)) ?? "")")
        let values = try TestServersEnvironment(directory: directory).values
        guard let dsn = values["VITALS_TEST_PG_DSN"], let superuserDSN = values["VITALS_TEST_PG_SUPERUSER_DSN"],
            let password = values["VITALS_TEST_PG_PASSWORD"], let port = values["VITALS_TEST_PG_PORT"],
            let dataDirectory = values["VITALS_TEST_PG_DATADIR"]
        else {
            throw PostgresTestSupportFailure(message: "env.sh of the private server lacks VITALS_TEST_PG_*")
        }
        return PostgresTestServer(
            dsn: dsn, superuserDSN: superuserDSN, password: password, port: port, dataDirectory: dataDirectory,
            logFile: values["VITALS_TEST_PG_LOG"] ?? dataDirectory + "/../postgresql.log")
    }

    static func stopPrivate(in directory: String) async {
        let command = """
            exec bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; \
            exec bash "\(TestEnvironment.repositoryRoot)/scripts/test-servers.sh" stop "\(directory)" >/dev/null 2>&1 </dev/null'
            """
        _ = await Task.detached { system(command) }.value
    }

    /// Runs SQL as the superuser with psql; fails the test on error.
    @discardableResult
    func superuser(_ sql: String, database: String? = nil) async throws -> String {
        var dsn = superuserDSN
        if let database { dsn = dsn.replacingOccurrences(of: "/app?", with: "/\(database)?") }
        let (status, output) = try await ChildProcess.run("/usr/bin/psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", dsn, "-c", sql], timeout: .seconds(60))
        try #require(status == 0, "psql failed: \(output)")
        return output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `pg_ctl stop|start` as the postgres OS user, the way test-servers.sh runs the server.
    /// `pg_ctl stop|start` as the postgres OS user, from `/` as test-servers.sh does (the postgres
    /// user may not be able to read our cwd). Run with `system()` and every descriptor above 2
    /// closed first: a postmaster started through Foundation's `Process` keeps its monitoring
    /// descriptors, and the child then never appears to exit.
    func pgctl(_ action: String) async throws {
        let mode = action == "stop" ? "-m fast stop" : "-l '\(logFile)' start"
        let command = """
            exec bash -c 'for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null; \
            cd / && exec runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "\(dataDirectory)" -w -t 60 \(mode.replacingOccurrences(of: "'", with: "\"")) >/dev/null 2>&1 </dev/null'
            """
        let status = await Task.detached { system(command) }.value
        try #require(status == 0, "pg_ctl \(action) failed with status \(status)")
    }

    /// The DSN with another role and password.
    func dsn(user: String, password: String, database: String = "app") -> String {
        "postgresql://\(user):\(password)@127.0.0.1:\(port)/\(database)?sslmode=disable"
    }
}

/// A private server from `scripts/test-servers.sh start DIR --tls`, its CA files, and DSNs to it.
struct PostgresTLSTestServer {
    let server: PostgresTestServer
    let ca: String
    /// A CA that signed nothing here: the wrong one.
    let otherCA: String

    func dsn(host: String = "localhost", database: String = "app", _ options: String) -> String {
        "postgresql://vitals:\(server.password)@\(host):\(server.port)/\(database)?\(options)"
    }

    /// Starts one for `body` and stops it afterwards; a failure is recorded, not thrown.
    static func with(_ body: (PostgresTLSTestServer) async throws -> Void) async throws {
        let directory = try TemporaryDirectory()
        let servers = directory.path + "/servers"
        do {
            let server = try await PostgresTestServer.startPrivate(in: servers, options: ["--tls"])
            let environment = try TestServersEnvironment(directory: servers)
            try await body(
                PostgresTLSTestServer(
                    server: server, ca: try environment.require("VITALS_TEST_PG_TLS_CA"), otherCA: try environment.require("VITALS_TEST_PG_TLS_OTHER_CA")))
        } catch {
            Issue.record(error)
        }
        await PostgresTestServer.stopPrivate(in: servers)
    }
}

/// Log lines the daemon wrote, for checking that secrets never reach them.
final class PostgresLogCapture: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
    var text: String { lines.withLockedValue { $0.joined(separator: "\n") } }
}

/// The daemon in-process with the given flags, logging at debug level into `logs`. The process
/// environment is not read, so a DATA_SOURCE_NAME of the test runner cannot leak in.
func makePostgresTestApplication(_ flags: [(String, String)], logs: PostgresLogCapture = PostgresLogCapture()) throws -> some ApplicationProtocol {
    let values = try ConfigurationLoader(keys: VitalsConfiguration.allKeys).load(
        flags: [("web.listen-address", "127.0.0.1:0"), ("log.level", "debug")] + flags, environment: [:], file: nil)
    let configuration = try VitalsConfiguration(values: values)
    let logger = makeLogger(configuration: configuration) { logs.append($0) }
    return try buildApplication(configuration: configuration, logger: logger)
}

/// Scrapes until `accept` holds or `timeout` passes; returns the last body.
func postgresScrapeUntil(
    _ client: some TestClientProtocol, timeout: Duration = .seconds(20), uri: String = "/metrics", _ accept: (ScrapedMetrics, String) -> Bool
) async throws -> String {
    let deadline = ContinuousClock.now + timeout
    var body = ""
    while ContinuousClock.now < deadline {
        body = try await client.execute(uri: uri, method: .get) { String(buffer: $0.body) }
        if accept(ScrapedMetrics(body), body) { return body }
        try await Task.sleep(for: .milliseconds(100))
    }
    return body
}

struct PostgresTestSupportFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The `export` lines of a `scripts/test-servers.sh` directory's env.sh.
struct TestServersEnvironment {
    let values: [String: String]

    init(directory: String) throws {
        var values: [String: String] = [:]
        for line in try String(contentsOfFile: directory + "/env.sh", encoding: .utf8).split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst(7).split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { continue }
            values[String(pair[0])] = String(pair[1]).trimmingCharacters(in: CharacterSet(charactersIn: "'\""))
        }
        self.values = values
    }

    func require(_ name: String) throws -> String {
        try #require(values[name], "\(name) is not in env.sh")
    }
}
