import Foundation
import Testing

@testable import Vitals

@Suite struct RedisInfoParserTests {
    @Test func parsesCapturedRedis7() throws {
        let info = RedisInfo(parsing: RedisInfoFixtures.redis7.replacingOccurrences(of: "\n", with: "\r\n"))
        #expect(info["redis_version"] == "7.0.15")
        #expect(info.role == "master")
        #expect(info.number("used_memory") == 1_140_608)
        #expect(info.number("mem_fragmentation_ratio") == 6.63)
        #expect(info.number("rdb_last_bgsave_status") == 1)
        #expect(info.number("keyspace_hits") == 1)
        #expect(info.runID == "9801b0c3c799ae826bc1616bd293160be9956d89")
        #expect(info.sections.contains("latencystats"))
        #expect(info.keyspace == [
            .init(database: "db0", keys: 20, expires: 1, averageTTLMilliseconds: 999_898),
            .init(database: "db3", keys: 2, expires: 1, averageTTLMilliseconds: 499_948),
        ])
        let config = try #require(info.commandStats.first { $0.command == "config|get" })
        #expect(config.calls == 1 && config.microseconds == 9 && config.rejectedCalls == 0 && config.failedCalls == 0)
        #expect(info.commandStats.first { $0.command == "debug" }?.rejectedCalls == 1)
        #expect(info.commandStats.count == 10)
        #expect(info.errorStats == [.init(prefix: "ERR", count: 3)])
        let get = try #require(info.latencyPercentiles.first { $0.command == "get" })
        #expect(get.percentiles.map(\.quantile) == [0.5, 0.99, 0.999])
        #expect(get.percentiles.map(\.microseconds) == [2.007, 4.015, 4.015])
        #expect(info.replicas.isEmpty)
        // Structured lines do not leak into the scalar fields.
        #expect(info["db0"] == nil && info["cmdstat_get"] == nil)
    }

    @Test func parsesHandWrittenRedis6Replica() {
        let info = RedisInfo(parsing: RedisInfoFixtures.redis6HandWritten)
        #expect(info["redis_version"] == "6.0.16")
        #expect(info.isReplica)
        #expect(info.number("master_link_status") == 1)
        #expect(info.errorStats.isEmpty && info.latencyPercentiles.isEmpty)
        #expect(info.commandStats.count == 5)
        #expect(info.commandStats.allSatisfy { $0.rejectedCalls == nil && $0.failedCalls == nil })
        #expect(info.keyspace.map(\.database) == ["db0", "db2"])
        #expect(info.number("used_cpu_sys_main_thread") == nil)
    }

    @Test func parsesReplicaLinesAndIgnoresJunk() {
        let info = RedisInfo(parsing: """
            # Replication
            role:master
            connected_slaves:1
            slave0:ip=10.0.0.2,port=6380,state=online,offset=4242,lag=1
            garbage line without colon
            weird_field:not-a-number
            """)
        #expect(info.replicas == [.init(ip: "10.0.0.2", port: "6380", state: "online", offset: 4242, lag: 1)])
        #expect(info.number("weird_field") == nil)
        #expect(info.number("connected_slaves") == 1)
    }

    /// Which lines are structured is decided on the key's bytes: a prefix and, for databases and
    /// replicas, nothing but digits after it. Fields that merely start like one stay fields.
    @Test func structuredLinesAreToldApartByTheirKeysOnly() {
        let info = RedisInfo(parsing: """
            # Replication
            slave_read_only:1
            slave_priority:100
            slave:1
            slave12:ip=10.0.0.3,port=6381,state=wait_bgsave,offset=7,lag=0
            # Keyspace
            db:1
            dbsize_hint:4
            db15:keys=3,expires=0,avg_ttl=0
            # Commandstats
            cmdstat_client|list:calls=2,usec=8,usec_per_call=4.00,rejected_calls=0,failed_calls=0
            cmdstats:9
            # Errorstats
            errorstat_NOPERM:count=4
            """)
        #expect(info.replicas.map(\.port) == ["6381"])
        #expect(info.keyspace.map(\.database) == ["db15"])
        #expect(info.commandStats.map(\.command) == ["client|list"])
        #expect(info.errorStats == [.init(prefix: "NOPERM", count: 4)])
        #expect(info.number("slave_read_only") == 1 && info.number("slave_priority") == 100 && info.number("slave") == 1)
        #expect(info.number("dbsize_hint") == 4 && info["cmdstats"] == "9")
        // Inside the keyspace section a key that is not db<digits> is not a database either.
        #expect(info["db"] == "1")
    }

    /// The parser reads the text's bytes by position: the edges of lines, headers, values and pairs.
    @Test func edgesOfLinesHeadersAndPairs() {
        let info = RedisInfo(
            parsing: "#   Keyspace  \r\n\r\ndb3:keys=5,broken,keys=6,expires=1\nempty:\nname:café ☕\n# LatencyStats\n"
                + "latency_percentiles_usec_get:p50=1.0,p101=3,x=2,p99.9=4.5,\n:orphan\ncmdstat_get:calls=2\n#\nlast:1")
        #expect(info.sections == ["keyspace", "latencystats", ""])
        // A piece without "=" is skipped; of a name given twice the last counts.
        #expect(info.keyspace == [.init(database: "db3", keys: 6, expires: 1, averageTTLMilliseconds: 0)])
        #expect(info["empty"] == "")
        #expect(info["name"] == "café ☕")
        #expect(info.latencyPercentiles == [.init(command: "get", percentiles: [(quantile: 0.5, microseconds: 1.0), (quantile: 0.999, microseconds: 4.5)])])
        #expect(info[""] == "orphan")
        // A command line without its time is not a command.
        #expect(info.commandStats.isEmpty && info["cmdstat_get"] == nil)
        #expect(info.number("last") == 1)
    }

    @Test func percentToQuantileHasNoBinaryNoise() {
        #expect(RedisInfo.quantile(fromPercent: 99.9) == 0.999)
        #expect(SampleValue.format(RedisInfo.quantile(fromPercent: 99.9)) == "0.999")
        #expect(SampleValue.format(RedisInfo.quantile(fromPercent: 50)) == "0.5")
    }
}

@Suite struct RedisMappingTests {
    static func families(_ text: String, target: String? = nil, cap: Int = 200, customize: (inout RedisObservation) -> Void = { _ in })
        -> ScrapedMetrics
    {
        var mapper = RedisMetricMapper(descriptors: RedisMetricDescriptors(withTarget: target != nil), target: target, maxLabelValues: cap)
        var observation = RedisObservation(info: RedisInfo(parsing: text))
        customize(&observation)
        let exposition = String(decoding: ExpositionWriter(format: .prometheusText).write(mapper.families(for: observation)), as: UTF8.self)
        return ScrapedMetrics(exposition)
    }

    /// Every name vitals chose passes promtool's linter; the names kept from redis_exporter are
    /// listed, and only they may draw a complaint.
    @Test func promtoolAcceptsTheNamesVitalsChose() async throws {
        var mapper = RedisMetricMapper(descriptors: RedisMetricDescriptors(withTarget: true), target: "10.0.0.1:6379", maxLabelValues: 200)
        var observation = RedisObservation(info: RedisInfo(parsing: RedisInfoFixtures.redis7))
        observation.slowlog = .init(length: 2, entriesRead: true, lastID: 7, lastDurationMicroseconds: 25_000)
        observation.latencySpikes = [RedisLatencySpike(event: "command", timestamp: 1_795_536_930, latestMilliseconds: 250, maxMilliseconds: 300)]
        observation.config = RedisConfigValues(maxmemory: 0, maxclients: 10_000)
        let body = ExpositionWriter(format: .prometheusText).write(mapper.families(for: observation))
        #expect(String(decoding: body, as: UTF8.self).contains("# TYPE redis_latency_percentiles_seconds summary"))
        let promtool = try #require(TestEnvironment.tool("promtool", variable: "VITALS_TEST_PROMTOOL"), "promtool not installed")
        let (_, lint) = try await ChildProcess.run(promtool, ["check", "metrics"], stdin: Data(body))
        // redis_exporter's own names, kept so its dashboards and users' alerts work unchanged
        // (its counters without `_total` included, typed as the counters they are).
        let inherited: Set<String> = Self.inheritedCounters.union([
            "redis_aof_last_rewrite_duration_sec", "redis_instantaneous_ops_per_sec",
            "redis_rdb_current_bgsave_duration_sec", "redis_rdb_last_bgsave_duration_sec",
        ])
        let complaints = lint.split(separator: "\n").filter { line in
            guard let name = line.split(separator: " ").first else { return false }
            return !inherited.contains(String(name))
        }
        #expect(complaints.isEmpty, "promtool: \(complaints.joined(separator: "; "))")
    }

    @Test func mapsRedis7ToExporterNames() {
        let metrics = Self.families(RedisInfoFixtures.redis7) {
            $0.slowlog = .init(length: 2, entriesRead: true, lastID: 7, lastDurationMicroseconds: 25_000)
            $0.latencySpikes = [RedisLatencySpike(event: "command", timestamp: 1_795_536_930, latestMilliseconds: 250, maxMilliseconds: 300)]
            $0.config = RedisConfigValues(maxmemory: 0, maxclients: 10_000)
        }
        #expect(metrics.sum("redis_up") == 1)
        #expect(metrics.sum("redis_memory_used_bytes") == 1_140_608)
        #expect(metrics.sum("redis_keyspace_hits_total") == 1)
        #expect(metrics.sum("redis_keyspace_misses_total") == 1)
        // redis_exporter's rename map, as of 1.60 and later.
        #expect(!metrics.values("redis_total_error_replies").isEmpty && metrics.values("redis_error_replies_total").isEmpty)
        #expect(metrics.sum("redis_replication_backlog_bytes") == 1_048_576)
        #expect(!metrics.values("redis_replica_resyncs_full").isEmpty)
        #expect(metrics.sum("redis_commands_total", where: ["cmd": "set"]) == 21)
        #expect(metrics.sum("redis_commands_duration_seconds_total", where: ["cmd": "set"]) == 0.000097)
        #expect(metrics.sum("redis_commands_rejected_calls_total", where: ["cmd": "debug"]) == 1)
        #expect(metrics.sum("redis_errors_total", where: ["err": "ERR"]) == 3)
        #expect(metrics.sum("redis_latency_percentiles_seconds", where: ["cmd": "get", "quantile": "0.999"]) == 4.015e-6)
        // A summary: its sum and count are the command's total time and calls.
        #expect(metrics.sum("redis_latency_percentiles_seconds_sum", where: ["cmd": "get"]) == 6e-6)
        #expect(metrics.sum("redis_latency_percentiles_seconds_count", where: ["cmd": "get"]) == 2)
        #expect(metrics.values("redis_db_keys").map { $0.labels["db"] ?? "" }.sorted() == ["db0", "db3"])  // no zero-padding
        #expect(metrics.sum("redis_db_avg_ttl_seconds", where: ["db": "db0"]) == 999.898)
        #expect(metrics.sum("redis_start_time_seconds") == (1_795_536_934.965980 - 4).rounded())
        #expect(metrics.sum("redis_slowlog_last_id") == 7)
        #expect(metrics.sum("redis_last_slow_execution_duration_seconds") == 0.025)
        #expect(metrics.sum("redis_latency_spike_duration_seconds", where: ["event_name": "command"]) == 0.25)
        #expect(metrics.sum("redis_config_maxclients") == 10_000)
        let info = metrics.values("redis_instance_info").first
        #expect(info?.labels["redis_version"] == "7.0.15" && info?.labels["role"] == "master" && info?.labels["maxmemory_policy"] == "noeviction")
    }

    /// redis_exporter's counters without `_total`: its names win, so that alerts written for it work.
    static let inheritedCounters: Set<String> = [
        "redis_total_error_replies", "redis_total_reads_processed", "redis_total_writes_processed", "redis_replica_resyncs_full",
        "redis_replica_partial_resync_accepted", "redis_replica_partial_resync_denied",
    ]

    @Test func countersAreTypedAsCountersAndEndInTotal() {
        let descriptors = RedisMetricDescriptors(withTarget: false)
        for field in descriptors.scalarFields {
            let name = field.descriptor.name
            #expect((field.descriptor.type == .counter) == (name.hasSuffix("_total") || Self.inheritedCounters.contains(name)), "\(name)")
        }
        #expect(Set(descriptors.scalarFields.map(\.descriptor.name)).count == descriptors.scalarFields.count)
    }

    @Test func replicaSeriesCarryTheMaster() {
        let metrics = Self.families(RedisInfoFixtures.redis6HandWritten)
        #expect(metrics.sum("redis_master_link_up", where: ["master_host": "10.0.0.5", "master_port": "6379"]) == 1)
        #expect(metrics.sum("redis_slave_repl_offset") == 123_456_789)
        #expect(metrics.values("redis_commands_rejected_calls_total").isEmpty)  // 6.0 has no such field
        #expect(metrics.sum("redis_memory_max_bytes") == 268_435_456)
        #expect(metrics.sum("redis_config_maxmemory") == 268_435_456)  // from INFO when CONFIG was not read
    }

    @Test func commandLabelsAreCappedIntoOther() {
        let metrics = Self.families(RedisInfoFixtures.redis7, cap: 3)
        let commands = metrics.values("redis_commands_total")
        #expect(commands.count == 4)
        #expect(commands.contains { $0.labels["cmd"] == "__other__" })
        #expect(metrics.sum("redis_commands_total") == RedisInfo(parsing: RedisInfoFixtures.redis7).commandStats.reduce(0) { $0 + $1.calls })
    }

    @Test func multipleTargetsCarryATargetLabelAndNeverCredentials() {
        let metrics = Self.families(RedisInfoFixtures.redis7, target: "10.0.0.1:6379")
        #expect(metrics.samples.allSatisfy { $0.labels["target"] == "10.0.0.1:6379" })
    }
}

@Suite struct RedisSlowlogTrackerTests {
    func entry(_ id: Int64, _ usec: Int64 = 20_000, _ command: String = "get") -> RedisSlowlogEntry {
        RedisSlowlogEntry(id: id, timestamp: 1_700_000_000 + id, durationMicroseconds: usec, command: command)
    }

    @Test func firstLookIsABaselineThenOnlyNewEntriesCount() {
        var tracker = RedisSlowlogTracker()
        #expect(tracker.update(entries: [entry(4), entry(3)], runID: "a").newEntries.isEmpty)
        #expect(tracker.unseenCount(newestID: 4, runID: "a") == 0)
        #expect(tracker.unseenCount(newestID: 7, runID: "a") == 3)
        let update = tracker.update(entries: [entry(7), entry(6), entry(5), entry(4)], runID: "a")
        #expect(update.newEntries.map(\.id) == [5, 6, 7])
        #expect(update.missed == 0)
        // The same entries again count nothing.
        #expect(tracker.update(entries: [entry(7), entry(6)], runID: "a").newEntries.isEmpty)
    }

    @Test func emptyLogBaselineCountsTheFirstEntries() {
        var tracker = RedisSlowlogTracker()
        _ = tracker.update(entries: [], runID: "a")
        #expect(tracker.update(entries: [entry(0), entry(1)], runID: "a").newEntries.map(\.id) == [0, 1])
    }

    @Test func resetKeepsIdsSoNothingIsCountedTwice() {
        var tracker = RedisSlowlogTracker()
        _ = tracker.update(entries: [entry(9)], runID: "a")
        // SLOWLOG RESET: the log empties, ids keep growing.
        #expect(tracker.update(entries: [], runID: "a").newEntries.isEmpty)
        #expect(tracker.update(entries: [entry(10)], runID: "a").newEntries.map(\.id) == [10])
    }

    @Test func restartCountsTheNewRunsEntries() {
        var tracker = RedisSlowlogTracker()
        _ = tracker.update(entries: [entry(50)], runID: "a")
        #expect(tracker.unseenCount(newestID: 1, runID: "b") == 2)
        #expect(tracker.update(entries: [entry(1), entry(0)], runID: "b").newEntries.map(\.id) == [0, 1])
        // Without a run id, ids going backwards also mean a restart.
        var anonymous = RedisSlowlogTracker()
        _ = anonymous.update(entries: [entry(50)], runID: nil)
        #expect(anonymous.update(entries: [entry(2)], runID: nil).newEntries.map(\.id) == [2])
    }

    @Test func reportsEntriesRotatedOutUnseen() {
        var tracker = RedisSlowlogTracker()
        _ = tracker.update(entries: [entry(10)], runID: "a")
        let update = tracker.update(entries: [entry(300), entry(299)], runID: "a")
        #expect(update.newEntries.map(\.id) == [299, 300])
        #expect(update.missed == 288)
    }

    /// Found by Fuzz/FuzzRedis on its boundary-value seed: ids are whatever the server sends, and
    /// the differences between them trapped on overflow (an empty log's baseline of -1, then id
    /// Int64.max), crashing the daemon on a broken or hostile server's SLOWLOG reply.
    @Test func idsAtTheEdgesOfInt64DoNotTrap() {
        func at(_ id: Int64) -> RedisSlowlogEntry { RedisSlowlogEntry(id: id, timestamp: 0, durationMicroseconds: 1, command: "get") }
        var tracker = RedisSlowlogTracker()
        _ = tracker.update(entries: [], runID: "a")
        #expect(tracker.unseenCount(newestID: .max, runID: "a") == .max)
        let update = tracker.update(entries: [at(.max)], runID: "a")
        #expect(update.newEntries.map(\.id) == [.max])
        #expect(update.missed == .max)  // ids 0 to .max - 1 were never seen
        // A forged id below every real one, then the highest: counted, not trapped.
        var forged = RedisSlowlogTracker()
        _ = forged.update(entries: [at(.min)], runID: "a")
        #expect(forged.unseenCount(newestID: .max, runID: "a") == .max)
        #expect(forged.update(entries: [at(.max), at(.min + 1)], runID: "a").newEntries.map(\.id) == [.min + 1, .max])
        // After a restart everything up to the newest id is unseen.
        var restarted = RedisSlowlogTracker()
        _ = restarted.update(entries: [at(5)], runID: "a")
        #expect(restarted.unseenCount(newestID: .max, runID: "b") == .max)
        #expect(restarted.unseenCount(newestID: -3, runID: "b") == 0)
    }

    @Test func parsesSlowlogRepliesWithoutKeepingArguments() {
        let reply = RedisReply.array([
            .array([.integer(3), .integer(1_700_000_000), .integer(52_000), .array([.string("EVAL"), .string("secret-script"), .string("0")]),
                    .string("127.0.0.1:5000"), .string("app")]),
            .array([.integer(2)]),
        ])
        #expect(RedisSlowlogEntry.parse(reply) == [RedisSlowlogEntry(id: 3, timestamp: 1_700_000_000, durationMicroseconds: 52_000, command: "eval")])
    }
}

@Suite struct RedisProtocolValueTests {
    @Test func classifiesErrorReplies() {
        #expect(RedisErrorReplyKind(reply: "NOPERM User vitals-min has no permissions to run the 'config|get' command") == .noPermission)
        #expect(RedisErrorReplyKind(reply: "ERR unknown command 'CONFIG', with args beginning with: 'GET' ") == .unsupported)
        #expect(RedisErrorReplyKind(reply: "ERR unknown subcommand 'LATEST'. Try LATENCY HELP.") == .unsupported)
        #expect(RedisErrorReplyKind(reply: "WRONGPASS invalid username-password pair or user is disabled.") == .authentication)
        #expect(RedisErrorReplyKind(reply: "NOAUTH Authentication required.") == .authentication)
        #expect(RedisErrorReplyKind(reply: "ERR invalid password") == .authentication)
        #expect(RedisErrorReplyKind(reply: "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.") == .busy)
        #expect(RedisErrorReplyKind(reply: "LOADING Redis is loading the dataset in memory") == .loading)
        #expect(RedisErrorReplyKind(reply: "ERR syntax error") == .other)
    }

    @Test func probesTurnOffARefusedCommandOnce() {
        var probes = RedisCommandProbes()
        #expect(probes.record(.configGet, reply: .error("NOPERM no")) == true)
        #expect(probes.record(.configGet, reply: .error("NOPERM no")) == false)
        #expect(!probes.mayRun(.configGet))
        #expect(probes.record(.latencyLatest, reply: .error("ERR syntax error")) == false)
        #expect(probes.mayRun(.latencyLatest))
        #expect(probes.record(.slowlogGet, reply: .array([])) == false)
    }
}

@Suite struct RedisAddressTests {
    @Test func parsesTheAcceptedForms() throws {
        #expect(try RedisAddress.parse("redis://127.0.0.1:6380") == RedisAddress(endpoint: .tcp(host: "127.0.0.1", port: 6380)))
        #expect(try RedisAddress.parse("redis://cache") == RedisAddress(endpoint: .tcp(host: "cache", port: 6379)))
        #expect(try RedisAddress.parse("localhost:7000").endpoint == .tcp(host: "localhost", port: 7000))
        #expect(try RedisAddress.parse("redis://[::1]:6379").label == "[::1]:6379")
        #expect(try RedisAddress.parse("unix:///run/redis/redis.sock") == RedisAddress(endpoint: .unix(path: "/run/redis/redis.sock")))
        let full = try RedisAddress.parse("redis://vitals:p%40ss%3Aword@10.0.0.1:6379/3")
        #expect(full.user == "vitals" && full.password == "p@ss:word" && full.database == 3)
        #expect(full.label == "10.0.0.1:6379")
        let passwordOnly = try RedisAddress.parse("redis://:hunter2@cache:6379")
        #expect(passwordOnly.user == nil && passwordOnly.password == "hunter2")
    }

    @Test func refusesJunkWithoutEchoingSecrets() {
        for text in ["rediss://user:topsecret@cache:99999", "redis://user:topsecret@cache:99999", "http://user:topsecret@x", "unix://relative"] {
            #expect(throws: RedisAddress.ParseError.self) { try RedisAddress.parse(text) }
            do {
                _ = try RedisAddress.parse(text)
            } catch {
                #expect(!error.message.contains("topsecret"))
            }
        }
        #expect { try RedisAddress.parse("http://cache:6380") } throws: { ($0 as? RedisAddress.ParseError)?.code == .unsupportedScheme }
    }
}

@Suite struct RedisConfigurationTests {
    func values(_ settings: [String: String]) throws -> ConfigurationValues {
        try ConfigurationValues.make(keys: RedisConfiguration.keys, settings)
    }

    @Test func addressCredentialsWinOverFlags() throws {
        let configuration = try RedisConfiguration(values: values([
            "redis.addr": "redis://app:own@10.0.0.1:6379", "redis.user": "vitals", "redis.password": "global",
        ]))
        #expect(configuration.targets.first?.user == "app")
        #expect(configuration.targets.first?.password == "own")
        #expect(configuration.interval == .seconds(15) && configuration.timeout == .seconds(5))
    }

    @Test func passwordFileIsReadAndTrimmed() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/password"
        try "  s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        let configuration = try RedisConfiguration(values: values(["redis.addr": "redis://cache:6379", "redis.password-file": path]))
        #expect(configuration.targets.first?.password == "s3cret")
        #expect(throws: ConfigurationError.self) {
            try RedisConfiguration(values: values(["redis.addr": "redis://cache", "redis.password-file": path, "redis.password": "x"]))
        }
    }

    @Test func badAddressIsAConfigurationErrorWithExitStatus2() async throws {
        let error = #expect(throws: ConfigurationError.self) {
            try RedisConfiguration(values: values(["redis.addr": "rediss://u:topsecret@cache:99999"]))
        }
        #expect(error?.key == "redis.addr")
        #expect(error?.message.contains("topsecret") == false)
        let status = await CommandLineInterface.main(arguments: ["check-config", "--redis.addr", "http://cache:6380"], environment: [:])
        #expect(status == 2)
    }

    @Test func environmentVariablesAreRead() throws {
        let values = try ConfigurationLoader(keys: RedisConfiguration.keys).load(
            flags: [], environment: ["REDIS_ADDR": "redis://a:1,redis://b:2", "REDIS_PASSWORD": "pw"], file: nil)
        let configuration = try RedisConfiguration(values: values)
        #expect(configuration.targets.map(\.label) == ["a:1", "b:2"])
        #expect(configuration.targets.allSatisfy { $0.password == "pw" })
    }
}
