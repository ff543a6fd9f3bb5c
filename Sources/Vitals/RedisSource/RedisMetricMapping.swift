#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Everything one collection pass read from the server.
public struct RedisObservation: Sendable, Equatable {
    public var info: RedisInfo
    /// Nil when both SLOWLOG subcommands were refused.
    public var slowlog: Slowlog?
    public var latencySpikes: [RedisLatencySpike]?
    public var config: RedisConfigValues?

    public struct Slowlog: Sendable, Equatable {
        /// Nil when SLOWLOG LEN was refused.
        public var length: Double?
        /// Whether SLOWLOG GET was read; if so, nil id and duration mean an empty log.
        public var entriesRead: Bool
        public var lastID: Int64?
        public var lastDurationMicroseconds: Int64?

        public init(length: Double? = nil, entriesRead: Bool = false, lastID: Int64? = nil, lastDurationMicroseconds: Int64? = nil) {
            self.length = length
            self.entriesRead = entriesRead
            self.lastID = lastID
            self.lastDurationMicroseconds = lastDurationMicroseconds
        }
    }

    public init(info: RedisInfo, slowlog: Slowlog? = nil, latencySpikes: [RedisLatencySpike]? = nil, config: RedisConfigValues? = nil) {
        self.info = info
        self.slowlog = slowlog
        self.latencySpikes = latencySpikes
        self.config = config
    }
}

/// Turns an observation into one whole snapshot of `redis_*` families: pure, no I/O.
///
/// Names are redis_exporter's wherever the meaning is the same, so dashboard 763 and the common
/// alert rules work unchanged; server-side cumulative counters are typed as counters and end in
/// `_total`. With several targets every series carries a `target` label (`host:port`), last, as the Postgres source's do.
public struct RedisMetricMapper: Sendable {
    public let descriptors: RedisMetricDescriptors
    public let target: String?
    private var commands: LabelLimiter<String>
    private var errors: LabelLimiter<String>
    private var events: LabelLimiter<String>

    public init(descriptors: RedisMetricDescriptors, target: String?, maxLabelValues: Int) {
        self.descriptors = descriptors
        self.target = target
        self.commands = LabelLimiter(capacity: maxLabelValues)
        self.errors = LabelLimiter(capacity: maxLabelValues)
        self.events = LabelLimiter(capacity: 64)
    }

    /// What a failed pass publishes: only `redis_up 0`, as redis_exporter does. Stale values
    /// from before the failure would look current; gaps in the panels are the honest picture.
    public func downFamilies() -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        builder.add(descriptors.up, value: 0, labels: labels())
        return builder.build()
    }

    public mutating func families(for observation: RedisObservation) -> [FamilySnapshot] {
        var builder = SnapshotBuilder()
        let info = observation.info
        builder.add(descriptors.up, value: 1, labels: labels())

        for field in descriptors.scalarFields {
            guard let raw = info.number(field.infoField) else { continue }
            builder.add(field.descriptor, value: raw * field.scale, labels: labels())
        }

        if let uptime = info.number("uptime_in_seconds") {
            // Server time when INFO has it (7.0+): the start time must not drift with vitals' clock.
            let now = info.number("server_time_usec").map { $0 / 1e6 } ?? Self.wallClockNow()
            builder.add(descriptors.startTime, value: (now - uptime).rounded(), labels: labels())
        }

        builder.add(
            descriptors.instanceInfo, value: 1,
            labels: labels(
                info["role"] ?? "", info["redis_version"] ?? "", info["redis_build_id"] ?? "", info["redis_mode"] ?? "",
                info["os"] ?? "", info["maxmemory_policy"] ?? "", info["tcp_port"] ?? ""))

        if info.isReplica {
            let master = [info["master_host"] ?? "", info["master_port"] ?? ""]
            builder.add(descriptors.slaveInfo, value: 1, labels: labels(master + [info["slave_read_only"] ?? info["replica_read_only"] ?? ""]))
            if let linkUp = info.number("master_link_status") { builder.add(descriptors.masterLinkUp, value: linkUp, labels: labels(master)) }
            if let io = info.number("master_last_io_seconds_ago") { builder.add(descriptors.masterLastIO, value: io, labels: labels(master)) }
            if let sync = info.number("master_sync_in_progress") { builder.add(descriptors.masterSyncInProgress, value: sync, labels: labels(master)) }
            if let offset = info.number("slave_repl_offset") { builder.add(descriptors.slaveReplOffset, value: offset, labels: labels(master)) }
        }
        for replica in info.replicas.prefix(64) {
            let replicaLabels = labels(replica.ip, replica.port, replica.state)
            if let offset = replica.offset { builder.add(descriptors.connectedSlaveOffset, value: offset, labels: replicaLabels) }
            if let lag = replica.lag { builder.add(descriptors.connectedSlaveLag, value: lag, labels: replicaLabels) }
        }

        // Only the databases INFO lists: no zero-padding of empty ones (redis_exporter pads 16).
        for db in info.keyspace.prefix(1024) {
            builder.add(descriptors.dbKeys, value: db.keys, labels: labels(db.database))
            builder.add(descriptors.dbKeysExpiring, value: db.expires, labels: labels(db.database))
            builder.add(descriptors.dbAverageTTL, value: db.averageTTLMilliseconds / 1000, labels: labels(db.database))
        }

        addCommandStats(info.commandStats, to: &builder)
        addErrorStats(info.errorStats, to: &builder)

        // A summary, as redis_exporter publishes it: the server's percentiles, with the command's
        // total time and calls from commandstats as its sum and count.
        let totals = Dictionary(info.commandStats.map { ($0.command, $0) }, uniquingKeysWith: { first, _ in first })
        for latency in info.latencyPercentiles {
            // Percentiles cannot be aggregated: commands beyond the cap are left out.
            guard commands.admitted.contains(latency.command) else { continue }
            let quantiles = latency.percentiles.sorted { $0.quantile < $1.quantile }.map { SummaryQuantile($0.quantile, $0.microseconds / 1e6) }
            let total = totals[latency.command]
            builder.add(
                descriptors.latencyPercentiles,
                SeriesSnapshot(
                    labelValues: labels(latency.command),
                    value: .summary(quantiles: quantiles, sum: (total?.microseconds ?? 0) / 1e6, count: UInt64(max(0, total?.calls ?? 0)))))
        }

        if let slowlog = observation.slowlog {
            if let length = slowlog.length { builder.add(descriptors.slowlogLength, value: length, labels: labels()) }
            if slowlog.entriesRead {
                builder.add(descriptors.slowlogLastID, value: Double(slowlog.lastID ?? 0), labels: labels())
                builder.add(descriptors.lastSlowExecution, value: Double(slowlog.lastDurationMicroseconds ?? 0) / 1e6, labels: labels())
            }
        }

        if let spikes = observation.latencySpikes {
            for spike in spikes {
                guard let event = events.admit(spike.event) else { continue }
                builder.add(descriptors.latencySpikeLast, value: spike.timestamp, labels: labels(event))
                builder.add(descriptors.latencySpikeDuration, value: spike.latestMilliseconds / 1000, labels: labels(event))
            }
        }

        // CONFIG may be refused (managed services, minimal ACL users); INFO (7.0+) carries the
        // same two settings, so the gauges survive without it.
        let maxmemory = observation.config?.maxmemory ?? info.number("maxmemory")
        let maxclients = observation.config?.maxclients ?? info.number("maxclients")
        if let maxmemory { builder.add(descriptors.configMaxmemory, value: maxmemory, labels: labels()) }
        if let maxclients { builder.add(descriptors.configMaxclients, value: maxclients, labels: labels()) }

        return builder.build()
    }

    private mutating func addCommandStats(_ stats: [RedisInfo.CommandStat], to builder: inout SnapshotBuilder) {
        var overflow = RedisInfo.CommandStat(command: LabelLimiter<String>.overflowValue, calls: 0, microseconds: 0, rejectedCalls: nil, failedCalls: nil)
        var overflowed = false
        for stat in stats {
            guard let command = commands.admit(stat.command) else {
                overflowed = true
                overflow.calls += stat.calls
                overflow.microseconds += stat.microseconds
                if let rejected = stat.rejectedCalls { overflow.rejectedCalls = (overflow.rejectedCalls ?? 0) + rejected }
                if let failed = stat.failedCalls { overflow.failedCalls = (overflow.failedCalls ?? 0) + failed }
                continue
            }
            addCommandStat(stat, command: command, to: &builder)
        }
        if overflowed { addCommandStat(overflow, command: overflow.command, to: &builder) }
    }

    private func addCommandStat(_ stat: RedisInfo.CommandStat, command: String, to builder: inout SnapshotBuilder) {
        builder.add(descriptors.commandCalls, value: stat.calls, labels: labels(command))
        builder.add(descriptors.commandDuration, value: stat.microseconds / 1e6, labels: labels(command))
        if let rejected = stat.rejectedCalls { builder.add(descriptors.commandRejected, value: rejected, labels: labels(command)) }
        if let failed = stat.failedCalls { builder.add(descriptors.commandFailed, value: failed, labels: labels(command)) }
    }

    private mutating func addErrorStats(_ stats: [RedisInfo.ErrorStat], to builder: inout SnapshotBuilder) {
        var overflow = 0.0
        var overflowed = false
        for stat in stats {
            guard let prefix = errors.admit(stat.prefix) else {
                overflow += stat.count
                overflowed = true
                continue
            }
            builder.add(descriptors.errors, value: stat.count, labels: labels(prefix))
        }
        if overflowed { builder.add(descriptors.errors, value: overflow, labels: labels(LabelLimiter<String>.overflowValue)) }
    }

    private func labels(_ values: String...) -> [String] { labels(values) }

    private func labels(_ values: [String]) -> [String] {
        if let target { return values + [target] }
        return values
    }

    private static func wallClockNow() -> Double { Date().timeIntervalSince1970 }
}
