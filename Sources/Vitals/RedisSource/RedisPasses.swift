import Glibc
import Logging
import NIOConcurrencyHelpers

/// One target's collection passes: the connection, what it has learnt, and the mapping state.
///
/// Everything here runs on the target's own single thread, one pass at a time, so the mutable
/// state needs no lock; only ``abortHandle`` is touched from elsewhere (``abort()``, when the runner sees the deadline pass).
final class RedisPasses: CollectingSource, @unchecked Sendable {
    /// Bounds the reply of `SLOWLOG GET`: the server's default slowlog-max-len.
    static let slowlogFetchLimit: Int64 = 128
    static let clientName = "vitals"

    private(set) var target: RedisConfiguration.Target
    let abortHandle = RedisAbortHandle()
    /// Set from the SIGHUP handler's thread, taken by the next pass on the worker thread.
    private let reloaded = NIOLockedValueBox<RedisConfiguration.Target?>(nil)
    /// The TLS context for `rediss://`; replaced from the SIGHUP handler's thread.
    private let tls: NIOLockedValueBox<LazyRedisTLSClient?>
    private let tlsReloaded = NIOLockedValueBox(false)
    let usesTLS: Bool
    private let configInterval: Duration
    private let logger: Logger
    private let slowlogHistogram: HistogramFamily

    private var connection: (any RedisCommandChannel)?
    private var probes = RedisCommandProbes()
    private var slowlog = RedisSlowlogTracker()
    private var mapper: RedisMetricMapper
    private var slowlogCommands: LabelLimiter<String>
    private var config: RedisConfigValues?
    private var configReadAt: ContinuousClock.Instant?

    init(
        target: RedisConfiguration.Target, descriptors: RedisMetricDescriptors, targetLabel: String?, configuration: RedisConfiguration,
        slowlogHistogram: HistogramFamily, tls: LazyRedisTLSClient? = nil, logger: Logger
    ) {
        self.target = target
        self.tls = NIOLockedValueBox(tls)
        self.usesTLS = tls != nil
        self.configInterval = configuration.configInterval
        self.logger = logger
        self.slowlogHistogram = slowlogHistogram
        self.mapper = RedisMetricMapper(descriptors: descriptors, target: targetLabel, maxLabelValues: configuration.maxLabelValues)
        self.slowlogCommands = LabelLimiter(capacity: configuration.maxLabelValues)
    }

    /// Takes credentials re-read on SIGHUP (`REDIS_PASSWORD_FILE`); the next pass reconnects with them.
    func reload(_ target: RedisConfiguration.Target) {
        reloaded.withLockedValue { $0 = target }
    }

    /// Takes a TLS context re-read on SIGHUP; the next pass reconnects with it, so a rotated
    /// certificate is used (and shown to work, or not) at once.
    func reload(_ client: RedisTLSClient) {
        tls.withLockedValue { $0 = .ready(client) }
        tlsReloaded.withLockedValue { $0 = true }
    }

    /// One pass; never throws and never blocks past the pass's deadline, host name resolution included.
    func collect(_ pass: CollectionPass) -> CollectedPass {
        let start = ContinuousClock.now
        if let new = reloaded.withLockedValue({ value in defer { value = nil }; return value }), new != target {
            target = new
            disconnect()
        }
        if tlsReloaded.withLockedValue({ value in defer { value = false }; return value }) { disconnect() }
        do {
            let observation = try collect(deadline: pass.deadline)
            return CollectedPass(families: mapper.families(for: observation), outcome: PassOutcome(duration: .now - start))
        } catch {
            if error.breaksConnection { disconnect() }
            return CollectedPass(
                families: mapper.downFamilies(),
                outcome: PassOutcome(failure: SourceFailure(error.reason, message: error.message), duration: .now - start))
        }
    }

    func abort() {
        abortHandle.abort()
    }

    func close() {
        disconnect()
    }

    func disconnect() {
        connection?.close()
        connection = nil
    }

    // MARK: The pass

    /// What every pass reads after INFO, sent with it in one round trip unless refused before.
    private static let passCommands: [(RedisOptionalCommand, [String])] = [
        (.slowlogLen, ["SLOWLOG", "LEN"]),
        // The newest entry alone tells whether anything is new; most passes stop there.
        (.slowlogGet, ["SLOWLOG", "GET", "1"]),
        (.latencyLatest, ["LATENCY", "LATEST"]),
    ]

    private func collect(deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> RedisObservation {
        let connection = try connected(deadline: deadline)
        // One round trip instead of four: each is a wake-up of this thread (issue 18).
        let optionals = Self.passCommands.filter { probes.mayRun($0.0) }
        let replies = try connection.commands([["INFO", "all"]] + optionals.map(\.1), deadline: deadline)
        let text: String
        switch replies[0] {
        case .string(let body): text = body
        case .error(let message): throw RedisConnectionError.forReply(message)
        default: throw RedisConnectionError(.protocolError, "unexpected reply to INFO")
        }
        let info = RedisInfo(parsing: text)
        guard !info.fields.isEmpty else { throw RedisConnectionError(.protocolError, "empty INFO reply") }
        var answered: [RedisOptionalCommand: RedisReply] = [:]
        for ((command, _), reply) in zip(optionals, replies.dropFirst()) {
            answered[command] = try accept(command, reply)
        }

        var observation = RedisObservation(info: info)
        observation.slowlog = try readSlowlog(
            connection, info: info, length: answered[.slowlogLen], newest: answered[.slowlogGet], deadline: deadline)
        if let reply = answered[.latencyLatest] {
            observation.latencySpikes = RedisLatencySpike.parse(reply)
        }
        observation.config = try readConfig(connection, deadline: deadline)
        return observation
    }

    /// The open connection, or a new one: connect, AUTH and CLIENT SETNAME happen once per
    /// connection, never per pass.
    private func connected(deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> any RedisCommandChannel {
        if let connection, connection.isOpen { return connection }
        do throws(RedisConnectionError) {
            let fresh = try RedisConnector.connect(
                to: target.address, deadline: deadline, abortHandle: abortHandle, tls: tls.withLockedValue { $0 }?.client())
            if let password = target.password {
                let arguments = target.user.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                if case .error(let message) = try fresh.command(arguments, deadline: deadline) {
                    fresh.close()
                    throw RedisConnectionError(.auth, message)
                }
            }
            // A new connection may reach a restarted server or a user with other rights: probe again.
            probes = RedisCommandProbes()
            config = nil
            configReadAt = nil
            connection = fresh
            _ = try optional(.clientSetName, ["CLIENT", "SETNAME", Self.clientName], on: fresh, deadline: deadline)
            logger.debug("redis connected", metadata: ["target": "\(target.label)"])
            return fresh
        } catch {
            disconnect()
            throw error
        }
    }

    /// Sends an optional command unless this connection has seen it refused. Returns nil when it
    /// is (or just got) refused, or answered with another error: its metrics are then left out.
    private func optional(
        _ command: RedisOptionalCommand, _ arguments: [String], on connection: any RedisCommandChannel, deadline: ContinuousClock.Instant
    ) throws(RedisConnectionError) -> RedisReply? {
        guard probes.mayRun(command) else { return nil }
        return try accept(command, try connection.command(arguments, deadline: deadline))
    }

    /// An optional command's reply, or nil for an error reply, remembering a refusal so the
    /// command is not sent again on this connection. BUSY and LOADING fail the pass.
    private func accept(_ command: RedisOptionalCommand, _ reply: RedisReply) throws(RedisConnectionError) -> RedisReply? {
        guard case .error(let message) = reply else { return reply }
        if probes.record(command, reply: reply) {
            logger.info(
                "redis refused an optional command; not sending it again on this connection",
                metadata: ["target": "\(target.label)", "command": "\(command.rawValue)", "error": "\(String(message.prefix(120)))"])
        }
        let kind = RedisErrorReplyKind(reply: message)
        if kind == .busy || kind == .loading { throw RedisConnectionError.forReply(message) }
        return nil
    }

    /// `length` and `newest` are the replies to `SLOWLOG LEN` and `SLOWLOG GET 1` (nil when
    /// refused); more entries are fetched only when more than one is new.
    private func readSlowlog(
        _ connection: any RedisCommandChannel, info: RedisInfo, length: RedisReply?, newest: RedisReply?, deadline: ContinuousClock.Instant
    ) throws(RedisConnectionError) -> RedisObservation.Slowlog? {
        var summary = RedisObservation.Slowlog()
        if let length = length?.integer {
            summary.length = Double(length)
        }
        if let reply = newest, var entries = RedisSlowlogEntry.parse(reply) {
            let newest = entries.first
            summary.entriesRead = true
            summary.lastID = newest?.id
            summary.lastDurationMicroseconds = newest?.durationMicroseconds
            let unseen = slowlog.unseenCount(newestID: newest?.id, runID: info.runID)
            if unseen > 1 {
                let count = min(unseen, Self.slowlogFetchLimit)
                if let reply = try optional(.slowlogGet, ["SLOWLOG", "GET", String(count)], on: connection, deadline: deadline),
                    let more = RedisSlowlogEntry.parse(reply)
                {
                    entries = more
                }
            }
            let update = slowlog.update(entries: entries, runID: info.runID)
            observe(update.newEntries)
            if update.missed > 0 {
                logger.debug("slowlog entries rotated out before being read", metadata: ["target": "\(target.label)", "missed": "\(update.missed)"])
            }
        }
        return summary.length == nil && !summary.entriesRead ? nil : summary
    }

    /// New slowlog entries go straight into the live histogram: each is counted exactly once,
    /// even if the runner later declares the pass late.
    private func observe(_ entries: [RedisSlowlogEntry]) {
        guard !entries.isEmpty else { return }
        var batch: [[String]: HistogramAccumulator] = [:]
        for entry in entries {
            let command = slowlogCommands.limit(entry.command.isEmpty ? "unknown" : entry.command)
            let labels = mapper.target.map { [command, $0] } ?? [command]
            batch[labels, default: slowlogHistogram.makeAccumulator()].observe(Double(entry.durationMicroseconds) / 1e6)
        }
        slowlogHistogram.merge(batch.map { ($0.key, $0.value) })
    }

    private func readConfig(_ connection: any RedisCommandChannel, deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> RedisConfigValues? {
        guard probes.mayRun(.configGet) else { return nil }
        let now = ContinuousClock.now
        if let configReadAt, now - configReadAt < configInterval { return config }
        var values = RedisConfigValues()
        // One setting per call: `CONFIG GET a b` needs Redis 7.
        for name in ["maxmemory", "maxclients"] {
            guard let reply = try optional(.configGet, ["CONFIG", "GET", name], on: connection, deadline: deadline) else { return nil }
            values.absorb(reply)
        }
        config = values
        configReadAt = now
        return values
    }
}

