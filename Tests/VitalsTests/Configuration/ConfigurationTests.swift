import Foundation
import Testing

@testable import Vitals

@Suite struct ConfigurationTests {
    let keys = VitalsConfiguration.allKeys

    func load(flags: [(String, String)] = [], environment: [String: String] = [:], yaml: String? = nil) throws -> ConfigurationValues {
        try ConfigurationLoader(keys: keys).load(flags: flags, environment: environment, file: yaml.map { ("vitals.yml", $0) })
    }

    @Test func defaults() throws {
        let configuration = try VitalsConfiguration(values: try load())
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.port == 10188)
        #expect(configuration.telemetryPath == "/metrics")
        #expect(configuration.logFormat == .logfmt)
    }

    @Test func yamlNestedAndDottedKeysAreEquivalentAndFlagsWin() throws {
        let yaml = """
            web:
              listen-address: 127.0.0.1:9999
              telemetry-path: /m
            timing-log.path: [/var/log/a.log, /var/log/b*.log]
            timing-log:
              slow-threshold: 350ms
              buckets: [0.1, 0.2, 0.5]
              from-beginning: true
            """
        let values = try load(flags: [("web.listen-address", "127.0.0.1:1234")], yaml: yaml)
        let configuration = try VitalsConfiguration(values: values)
        #expect(configuration.port == 1234)
        #expect(configuration.telemetryPath == "/m")
        let timing = try TimingLogConfiguration(values: values)
        #expect(timing.paths == ["/var/log/a.log", "/var/log/b*.log"])
        #expect(timing.slowThreshold == 0.35)
        #expect(timing.buckets == [0.1, 0.2, 0.5])
        #expect(timing.fromBeginning)
    }

    @Test func repeatableFlagsAccumulateAndReplaceTheFileList() throws {
        let values = try load(
            flags: [("timing-log.path", "/x.log"), ("timing-log.path", "/y.log")],
            yaml: "timing-log: {path: [/from-file.log]}")
        #expect(values.strings("timing-log.path") == ["/x.log", "/y.log"])
    }

    /// `check-config` prints this: keys that can carry a password (a DSN, a Redis URL) are masked.
    @Test func describeMasksEveryKeyThatCanCarryASecret() throws {
        let values = try load(flags: [
            ("postgres.dsn", "postgresql://a:pg-secret-1@h/db"), ("redis.addr", "redis://u:redis-secret-2@127.0.0.1:6379"),
            ("redis.password", "redis-secret-3"),
        ])
        let shown = values.describe().map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        for secret in ["pg-secret-1", "redis-secret-2", "redis-secret-3"] {
            #expect(!shown.contains(secret))
        }
        #expect(shown.contains("redis.addr=<secret>"))
    }

    @Test func unknownYamlKeyNamesTheKey() {
        #expect {
            try load(yaml: "timing-log:\n  pth: /x.log\n")
        } throws: { error in
            let error = error as! ConfigurationError
            return error.code == .unknownKey && error.key == "timing-log.pth" && error.description.contains("did you mean 'timing-log.path'")
        }
    }

    @Test func badValuesNameTheKey() throws {
        #expect(throws: ConfigurationError(.invalidValue, key: "timing-log.slow-threshold", "'fast' is not a duration (e.g. 200ms, 5s, 1m)")) {
            try load(flags: [("timing-log.slow-threshold", "fast")])
        }
        #expect(throws: ConfigurationError.self) { try load(flags: [("timing-log.max-routes", "many")]) }
        #expect(throws: ConfigurationError.self) { try VitalsConfiguration(values: try load(flags: [("web.listen-address", "nowhere")])) }
        #expect(throws: ConfigurationError.self) { try VitalsConfiguration(values: try load(flags: [("log.format", "xml")])) }
        #expect(throws: ConfigurationError.self) { try TimingLogConfiguration(values: try load(flags: [("timing-log.buckets", "0.5,0.1")])) }
        #expect(throws: ConfigurationError.self) { try TimingLogConfiguration(values: try load(flags: [("timing-log.format", "iis")])) }
        #expect(throws: ConfigurationError.self) { try TimingLogConfiguration(values: try load(flags: [("timing-log.format", "nginx"), ("timing-log.nginx.upstream-time", "both")])) }
        #expect(throws: ConfigurationError(.invalidValue, key: "timing-log.native-histogram-schema", "must be between -4 and 8")) {
            try TimingLogConfiguration(values: try load(flags: [("timing-log.native-histogram-schema", "9")]))
        }
        #expect(try TimingLogConfiguration(values: try load(flags: [])).nativeHistogram?.schema == NativeHistogramOptions.defaultSchema)
        #expect(try TimingLogConfiguration(values: try load(flags: [("timing-log.native-histogram-schema", "-4")])).nativeHistogram?.schema == -4)
        #expect(try TimingLogConfiguration(values: try load(flags: [("timing-log.native-histograms", "false")])).nativeHistogram == nil)
        #expect(throws: ConfigurationError.self) { try TimingLogConfiguration(values: try load(flags: [("timing-log.format", "regex")])) }
    }

    /// Inputs the libFuzzer harness (Fuzz/) found crashing Yams' untyped loader, kept as regressions.
    @Test func hostileYamlIsAnErrorNotACrash() {
        #expect(throws: ConfigurationError.self) { try load(yaml: "timtog:\n ? patweb: {ddrRangee:1\"}\n") }
        #expect(throws: ConfigurationError.self) { try load(yaml: "? [a, b]\n: c\n") }
        #expect(throws: ConfigurationError.self) { try load(yaml: "web: {listen-address: {nested: 1}}\n") }
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + (1...6).map { "l\($0): &l\($0) [" + Array(repeating: $0 == 1 ? "*a" : "*l\($0 - 1)", count: 10).joined(separator: ", ") + "]" }.joined(separator: "\n")
        #expect(throws: ConfigurationError.self) { try load(yaml: bomb) }
    }

    /// The tree libyaml's events build: styles, nulls, flow and block collections, and the bounds.
    @Test func yamlTreeFromLibyamlEvents() throws {
        let tree = try YAMLTree.parse("a: 1\nb: 'quoted: # not a comment'\nc: [x, {d: ~}]\ne:\nf: null\ng: \"null\"\n\"h i\": |\n  two\n  lines\n")
        #expect(
            tree
                == .mapping([
                    ("a", .scalar("1")), ("b", .scalar("quoted: # not a comment")), ("c", .list([.scalar("x"), .mapping([("d", .null)])])), ("e", .null),
                    ("f", .null), ("g", .scalar("null")), ("h i", .scalar("two\nlines\n")),
                ]))
        #expect(try YAMLTree.parse("") == .null)
        #expect(try YAMLTree.parse("# only a comment\n") == .null)
        #expect(try YAMLTree.parse("--- [1]\n...\n") == .list([.scalar("1")]))
        // Anchors are fine, aliases are refused (an alias expands to what its anchor holds).
        #expect(try YAMLTree.parse("a: &x 1\n") == .mapping([("a", .scalar("1"))]))
        #expect { try YAMLTree.parse("a: &x 1\nb: *x\n") } throws: { ($0 as? YAMLTree.Problem)?.message.hasPrefix("aliases are not supported at line 2") == true }
        #expect { try YAMLTree.parse("a: 1\n---\nb: 2\n") } throws: { ($0 as? YAMLTree.Problem)?.message.contains("another document") == true }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect { try YAMLTree.parse(deep) } throws: { ($0 as? YAMLTree.Problem)?.message.hasPrefix("nested deeper than 64 levels") == true }
        #expect(try YAMLTree.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) != .null)
        let many = "[" + Array(repeating: "x", count: YAMLTree.maximumNodes).joined(separator: ",") + "]"
        #expect { try YAMLTree.parse(many) } throws: { ($0 as? YAMLTree.Problem)?.message.hasPrefix("more than 100000 nodes") == true }
    }

    /// libyaml's problem and position, never the line: it may hold a secret.
    @Test func yamlErrorsSayWhereWithoutQuoting() {
        #expect {
            try YAMLTree.parse("redis:\n  password: hunter2\n bad: [\n")
        } throws: { error in
            let message = (error as? YAMLTree.Problem)?.message ?? ""
            return message.contains("at line 3") && !message.contains("hunter2") && !message.contains("bad")
        }
    }

    @Test func invalidYamlIsOneClearError() {
        #expect(throws: ConfigurationError.self) { try load(yaml: "web: [unclosed") }
        #expect(throws: ConfigurationError.self) { try load(yaml: "- just\n- a list\n") }
    }

    @Test(arguments: [
        ("200ms", 0.2), ("5s", 5.0), ("1m30s", 90.0), ("1.5s", 1.5), ("2", 2.0), ("100us", 0.0001), ("1h", 3600.0),
    ])
    func durations(text: String, seconds: Double) throws {
        let duration = try #require(DurationParser.parse(text))
        #expect(abs(duration.seconds - seconds) < 1e-9)
    }

    @Test(arguments: ["", "fast", "5x", "-1s", "ms"])
    func invalidDurations(text: String) {
        #expect(DurationParser.parse(text) == nil)
    }

    @Test func listenAddresses() throws {
        #expect(try VitalsConfiguration.parseListenAddress(":10188") == ("0.0.0.0", 10188))
        #expect(try VitalsConfiguration.parseListenAddress("127.0.0.1:0") == ("127.0.0.1", 0))
        #expect(try VitalsConfiguration.parseListenAddress("[::1]:80") == ("::1", 80))
        #expect(throws: ConfigurationError.self) { try VitalsConfiguration.parseListenAddress("127.0.0.1:70000") }
    }
}

@Suite struct CommandLineTests {
    let keys = VitalsConfiguration.allKeys

    @Test func parsesExporterStyleFlags() throws {
        let invocation = try CommandLineInterface.parse(
            ["--web.listen-address=:1", "--timing-log.path", "/a.log", "--timing-log.from-beginning", "--no-timing-log.from-beginning", "--config.file", "c.yml"],
            keys: keys)
        #expect(invocation.command == .serve)
        #expect(invocation.configFile == "c.yml")
        #expect(invocation.flags.map(\.0) == ["web.listen-address", "timing-log.path", "timing-log.from-beginning", "timing-log.from-beginning"])
        #expect(invocation.flags.map(\.1) == [":1", "/a.log", "true", "false"])
    }

    @Test func replayTakesFiles() throws {
        let invocation = try CommandLineInterface.parse(["replay", "--timing-log.format", "nginx", "a.log", "b.log"], keys: keys)
        #expect(invocation.command == .replay)
        #expect(invocation.arguments == ["a.log", "b.log"])
    }

    @Test func unknownFlagIsAConfigurationError() {
        #expect(throws: ConfigurationError.self) { try CommandLineInterface.parse(["--web.listen-adress=:1"], keys: keys) }
        #expect(throws: ConfigurationError.self) { try CommandLineInterface.parse(["--timing-log.path"], keys: keys) }
        #expect(throws: ConfigurationError.self) { try CommandLineInterface.parse(["serve", "stray"], keys: keys) }
        #expect(throws: ConfigurationError.self) { try CommandLineInterface.parse(["frobnicate"], keys: keys) }
    }

    @Test func exitStatusTwoOnBadFlags() async {
        #expect(await CommandLineInterface.main(arguments: ["--no-such.flag=1"], environment: [:]) == 2)
        #expect(await CommandLineInterface.main(arguments: ["check-config", "--timing-log.slow-threshold=soon"], environment: [:]) == 2)
        #expect(await CommandLineInterface.main(arguments: ["check-config", "--config.file", "/nonexistent/vitals.yml"], environment: [:]) == 2)
        #expect(await CommandLineInterface.main(arguments: ["check-config", "--timing-log.path=/tmp/x.log"], environment: [:]) == 0)
    }

    /// The probe's timeout follows its interval unless set: a shorter interval alone is accepted.
    @Test func appProbeTimeoutIsDerivedFromTheInterval() throws {
        let defaults = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys))
        #expect(defaults.probeInterval == .milliseconds(100))
        #expect(defaults.probeTimeout == .seconds(1))
        let fast = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["app-probe.interval": "50ms"]))
        #expect(fast.probeTimeout == .milliseconds(500))
        let slow = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["app-probe.interval": "5s"]))
        #expect(slow.probeTimeout == .seconds(1))
        let given = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["app-probe.interval": "50ms", "app-probe.timeout": "300ms"]))
        #expect(given.probeTimeout == .milliseconds(300))
        #expect(throws: ConfigurationError.self) {
            try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["app-probe.interval": "50ms", "app-probe.timeout": "2s"]))
        }
    }

    /// vitals' own loop is probed every 15 s, on the grid point the 15 s passes and findings wake
    /// for, unless set; the lag's maximum spans four probes.
    @Test func theEventLoopIsProbedEveryFifteenSecondsUnlessSet() throws {
        let defaults = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys))
        #expect(defaults.interval == .seconds(15))
        #expect(defaults.window == .seconds(60))
        let set = try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["event-loop.interval": "5s", "event-loop.window": "30s"]))
        #expect(set.interval == .seconds(5) && set.window == .seconds(30))
        #expect(throws: ConfigurationError.self) {
            try EventLoopConfiguration(values: try ConfigurationValues.make(keys: keys, ["event-loop.interval": "90s"]))
        }
    }

    /// The slow-query log is read as often as what it feeds is (a scrape, the findings, the page:
    /// every 15 s), not every second; a near-live output asks for a shorter interval.
    @Test func theSlowQueryLogIsReadEveryFifteenSecondsUnlessSet() throws {
        #expect(try SlowQueryConfiguration(values: try ConfigurationValues.make(keys: keys)).pollInterval == .seconds(15))
        let set = try SlowQueryConfiguration(values: try ConfigurationValues.make(keys: keys, ["slow-query.poll-interval": "1s"]))
        #expect(set.pollInterval == .seconds(1))
    }

    /// vitals' stderr is for vitals: the per-statement slow-query lines are opt-in.
    @Test func slowQueryLinesAreOptIn() throws {
        #expect(try SlowQueryConfiguration(values: try ConfigurationValues.make(keys: keys)).output == nil)
        let logged = try SlowQueryConfiguration(values: try ConfigurationValues.make(keys: keys, ["slow-query.output": "log"]))
        guard case .log? = logged.output else {
            Issue.record("--slow-query.output log is the log")
            return
        }
    }
}
