import Foundation
import Testing

@testable import Vitals

/// Each built-in format on lines the real server wrote: Debian's gunicorn, Apache, Caddy, HAProxy
/// and nginx, each started on a free loopback port in a temporary directory, configured to write
/// its access log in the documented format, and sent a little concurrent traffic with curl.
/// Every line the traffic produced must parse to the method, path and status that were sent.
@Suite(.serialized) struct RealServerLogFormatTests {
    /// A server binary: apache2, nginx and haproxy live in /usr/sbin, which a user's PATH often lacks.
    static func server(_ name: String, variable: String) -> String? {
        TestEnvironment.tool(name, variable: variable)
            ?? ["/usr/sbin/", "/sbin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// What was sent, and what each line must parse back to.
    struct Sent: Hashable {
        var method: String
        var path: String
        var status: Int
    }

    /// 12 concurrent GETs, a POST and a 404: 14 requests.
    static func traffic(port: Int, missingStatus: Int = 404) async throws -> [Sent] {
        let curl = try #require(TestEnvironment.tool("curl", variable: "VITALS_TEST_CURL"), "curl not installed")
        let base = "http://127.0.0.1:\(port)"
        let gets = (1...12).map { "/markets/\($0)?page=\($0 % 3)" }
        let parallel = try await ChildProcess.run(
            curl, ["-sS", "--parallel", "--parallel-max", "4", "--max-time", "10"] + gets.flatMap { ["-o", "/dev/null", base + $0] })
        #expect(parallel.status == 0, "\(parallel.output)")
        let post = try await ChildProcess.run(curl, ["-sS", "-o", "/dev/null", "--max-time", "10", "-X", "POST", "-d", "x=1", base + "/orders"])
        #expect(post.status == 0, "\(post.output)")
        let missing = try await ChildProcess.run(curl, ["-sS", "-o", "/dev/null", "--max-time", "10", base + "/missing/7"])
        #expect(missing.status == 0, "\(missing.output)")
        return gets.map { Sent(method: "GET", path: $0, status: 200) }
            + [Sent(method: "POST", path: "/orders", status: 200), Sent(method: "GET", path: "/missing/7", status: missingStatus)]
    }

    /// Waits until the server answers anything on `port` (its readiness probe is logged too, and
    /// left out of the checks by its path).
    static func waitForServer(port: Int, _ server: ChildProcess) async throws {
        // Generous: gunicorn's first answer once took more than 20 s with the whole suite on two cores.
        let deadline = ContinuousClock.now + .seconds(90)
        while ContinuousClock.now < deadline, server.process.isRunning {
            if await HTTPGet.fetch("http://127.0.0.1:\(port)/probe", timeout: 5) != nil { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("server on \(port) never answered (its output, unless it went to the log: \(server.output))")
        throw HTTPGet.Failure()
    }

    /// The log's lines for `sent` (not the probe), once all of them are there.
    static func loggedLines(_ path: String, count: Int, matching marker: String = "/") async throws -> [String] {
        let deadline = ContinuousClock.now + .seconds(10)
        var lines: [String] = []
        while ContinuousClock.now < deadline {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").map(String.init).filter {
                ($0.contains("/markets/") || $0.contains("/orders") || $0.contains("/missing/")) && $0.contains(marker)
            }
            if lines.count >= count { return lines }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("only \(lines.count) of \(count) lines in \(path)")
        return lines
    }

    /// Parses every line and checks the records against what was sent, as multisets.
    @discardableResult
    static func check(_ lines: [String], _ parser: some TimingLineParser, sent: [Sent]) -> [TimingRecord] {
        var records: [TimingRecord] = []
        for line in lines {
            guard case .request(let record) = Array(line.utf8).withUnsafeBytes({ parser.parse($0) }) else {
                Issue.record("unparsed: \(line)")
                continue
            }
            #expect(record.durationSeconds >= 0 && record.durationSeconds < 10, "\(line)")
            records.append(record)
        }
        let got = records.map { Sent(method: $0.method, path: $0.path, status: $0.status ?? -1) }
        #expect(got.sorted { "\($0)" < "\($1)" } == sent.sorted { "\($0)" < "\($1)" })
        return records
    }

    /// Starts `executable` through a trampoline that clears the signal mask and SIGPIPE's
    /// disposition first: the test process's threads block most signals and ignore SIGPIPE, a
    /// child inherits both across exec, and Apache and gunicorn (unlike nginx and Caddy) never
    /// reset them, so SIGTERM would never reach them.
    static func start(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: FileHandle? = nil) throws -> ChildProcess {
        let python = try #require(TestEnvironment.tool("python3", variable: "VITALS_TEST_PYTHON3"), "python3 not installed")
        let trampoline = "import os, signal, sys; signal.pthread_sigmask(signal.SIG_SETMASK, []); signal.signal(signal.SIGPIPE, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])"
        return try ChildProcess(python, ["-c", trampoline, executable] + arguments, environment: environment, output: output)
    }

    /// SIGTERM and a wait, so servers with worker processes (Apache, nginx, gunicorn) take them
    /// down instead of leaving them to a SIGKILL of the master alone.
    static func stop(_ server: ChildProcess) async {
        server.signal(SIGTERM)
        _ = await server.wait(timeout: .seconds(15))
    }

    static func temporaryDirectory() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vitals-formats-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Apache and nginx workers run as nobody and must reach the document root.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        return directory
    }

    static let wsgiApp = """
        import time
        def app(environ, start_response):
            path = environ.get("PATH_INFO", "/")
            if path.startswith("/markets/1"):
                time.sleep(0.02)
            start_response("404 Not Found" if path.startswith("/missing") else "200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        """

    @Test(arguments: ["%(L)s", "%(D)s"])
    func gunicorn(timeField: String) async throws {
        let binary = try #require(Self.server("gunicorn", variable: "VITALS_TEST_GUNICORN"), "gunicorn not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.wsgiApp.write(toFile: directory.path + "/app.py", atomically: true, encoding: .utf8)
        let port = TestEnvironment.freePort()
        let log = directory.path + "/access.log"
        let server = try Self.start(
            binary,
            ["--chdir", directory.path, "-b", "127.0.0.1:\(port)", "-w", "2", "--access-logfile", log,
             "--access-logformat", #"%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" "# + timeField, "app:app"])
        defer { server.signal(SIGTERM) }
        try await Self.waitForServer(port: port, server)
        let sent = try await Self.traffic(port: port)
        let records = Self.check(try await Self.loggedLines(log, count: sent.count), GunicornLineParser(), sent: sent)
        // /markets/1 and /markets/10…12 sleep 20 ms in the app: the unit was read right.
        for record in records where record.path.hasPrefix("/markets/1") {
            #expect(record.durationSeconds >= 0.019 && record.durationSeconds < 2, "\(record)")
        }
        await Self.stop(server)
    }

    @Test func apache() async throws {
        let binary = try #require(Self.server("apache2", variable: "VITALS_TEST_APACHE2"), "apache2 not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let root = directory.path + "/www"
        try FileManager.default.createDirectory(atPath: root + "/markets", withIntermediateDirectories: true)
        for index in 1...12 { try "ok".write(toFile: root + "/markets/\(index)", atomically: true, encoding: .utf8) }
        try "ok".write(toFile: root + "/orders", atomically: true, encoding: .utf8)
        for path in [root, root + "/markets"] { try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path) }
        let port = TestEnvironment.freePort()
        let log = directory.path + "/access.log"
        let modules = "/usr/lib/apache2/modules"
        try """
            ServerName localhost
            Listen 127.0.0.1:\(port)
            PidFile \(directory.path)/httpd.pid
            DefaultRuntimeDir \(directory.path)
            ErrorLog \(directory.path)/error.log
            LoadModule mpm_event_module \(modules)/mod_mpm_event.so
            LoadModule authz_core_module \(modules)/mod_authz_core.so
            User nobody
            Group nogroup
            DocumentRoot \(root)
            LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\" %D" timed
            CustomLog \(log) timed
            """.write(toFile: directory.path + "/httpd.conf", atomically: true, encoding: .utf8)
        let server = try Self.start(binary, ["-f", directory.path + "/httpd.conf", "-DFOREGROUND"])
        defer { server.signal(SIGTERM) }
        try await Self.waitForServer(port: port, server)
        let sent = try await Self.traffic(port: port)
        Self.check(try await Self.loggedLines(log, count: sent.count), ApacheLineParser(), sent: sent)
        await Self.stop(server)
    }

    @Test func caddy() async throws {
        let binary = try #require(Self.server("caddy", variable: "VITALS_TEST_CADDY"), "caddy not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestEnvironment.freePort()
        let log = directory.path + "/access.log"
        try """
            {
            \tadmin off
            \tauto_https off
            }
            http://127.0.0.1:\(port) {
            \tlog {
            \t\toutput file \(log)
            \t\tformat json
            \t}
            \trespond /missing* 404
            \trespond "ok" 200
            }
            """.write(toFile: directory.path + "/Caddyfile", atomically: true, encoding: .utf8)
        // Caddy keeps state under $HOME / XDG directories: the temporary directory, not the user's.
        let environment = ["HOME": directory.path, "XDG_DATA_HOME": directory.path, "XDG_CONFIG_HOME": directory.path, "PATH": "/usr/bin:/bin"]
        let server = try Self.start(binary, ["run", "--config", directory.path + "/Caddyfile", "--adapter", "caddyfile"], environment: environment)
        defer { server.signal(SIGTERM) }
        try await Self.waitForServer(port: port, server)
        let sent = try await Self.traffic(port: port)
        Self.check(try await Self.loggedLines(log, count: sent.count, matching: "handled request"), JSONLineParser(configuration: .caddy), sent: sent)
        await Self.stop(server)
    }

    @Test func haproxy() async throws {
        let binary = try #require(Self.server("haproxy", variable: "VITALS_TEST_HAPROXY"), "haproxy not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let port = TestEnvironment.freePort()
        let origin = TestEnvironment.freePort()
        // haproxy logs to syslog or to its standard output; the test takes the output as the file.
        try """
            global
            \tlog stdout format raw local0
            defaults
            \tmode http
            \tlog global
            \toption httplog
            \ttimeout connect 1s
            \ttimeout client 5s
            \ttimeout server 5s
            frontend fe
            \tbind 127.0.0.1:\(port)
            \thttp-request return status 404 content-type text/plain string "no" if { path_beg /missing }
            \tdefault_backend be
            backend be
            \tserver s1 127.0.0.1:\(origin)
            frontend origin
            \tbind 127.0.0.1:\(origin)
            \tno log
            \thttp-request return status 200 content-type text/plain string "ok"

            """.write(toFile: directory.path + "/haproxy.cfg", atomically: true, encoding: .utf8)
        let log = directory.path + "/access.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        let server = try Self.start(binary, ["-f", directory.path + "/haproxy.cfg", "-db"], output: output)
        defer { server.signal(SIGTERM) }
        try await Self.waitForServer(port: port, server)
        let sent = try await Self.traffic(port: port)
        Self.check(try await Self.loggedLines(log, count: sent.count, matching: "\""), HAProxyLineParser(), sent: sent)
        await Self.stop(server)
    }

    /// nginx in front of two upstream servers, the first of them down: the first request tries
    /// both (`0.000, 0.001`), static locations have no upstream (`-`).
    @Test func nginxWithUpstreamTimes() async throws {
        let binary = try #require(Self.server("nginx", variable: "VITALS_TEST_NGINX"), "nginx not installed")
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (port, backend, dead) = (TestEnvironment.freePort(), TestEnvironment.freePort(), TestEnvironment.freePort())
        let log = directory.path + "/access.log"
        let prefix = directory.path
        try """
            worker_processes 1;
            pid \(prefix)/nginx.pid;
            events { worker_connections 64; }
            http {
              client_body_temp_path \(prefix); proxy_temp_path \(prefix); fastcgi_temp_path \(prefix);
              uwsgi_temp_path \(prefix); scgi_temp_path \(prefix);
              access_log off;
              log_format timed '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                               '"$http_referer" "$http_user_agent" $request_time $upstream_response_time';
              upstream app { server 127.0.0.1:\(dead); server 127.0.0.1:\(backend); }
              server {
                listen 127.0.0.1:\(port);
                access_log \(log) timed;
                location /missing/ { return 404; }
                location /markets/ { proxy_pass http://app; }
                location / { return 200 "static"; }
              }
              server { listen 127.0.0.1:\(backend); location / { return 200 "backend"; } }
            }
            """.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        let server = try Self.start(binary, ["-p", prefix, "-c", prefix + "/nginx.conf", "-e", prefix + "/error.log", "-g", "daemon off;"])
        defer { server.signal(SIGTERM) }
        try await Self.waitForServer(port: port, server)
        let sent = try await Self.traffic(port: port)
        let lines = try await Self.loggedLines(log, count: sent.count)
        Self.check(lines, NginxLineParser(upstreamTime: .logged), sent: sent)
        #expect(lines.contains { $0.contains(", ") }, "no request tried two upstreams: \(lines)")
        // Observing the upstream time: proxied requests only; /orders and /missing had none.
        let observed = NginxLineParser(upstreamTime: .observed)
        let proxied = lines.filter { if case .request = Array($0.utf8).withUnsafeBytes({ observed.parse($0) }) { true } else { false } }
        #expect(proxied.count == 12 && proxied.allSatisfy { $0.contains("/markets/") }, "\(proxied)")
        // The existing nginx format reads the last field, which is now the upstream time.
        #expect(lines.allSatisfy { !$0.hasSuffix(" -") || Array($0.utf8).withUnsafeBytes({ NginxLineParser().parse($0) }) == .unparsed })
        await Self.stop(server)
    }
}
