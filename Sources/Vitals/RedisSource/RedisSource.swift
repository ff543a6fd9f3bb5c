import Logging
import ServiceLifecycle

/// Collects one Redis server's INFO, slowlog, latency events and settings on an interval and
/// publishes each pass as one whole snapshot.
///
/// How it runs is the runtime's (``CollectionRunner``): collection is decoupled from scrapes, so
/// `/metrics` never waits on Redis however slow or hung it is; hiredis blocks, so passes run on a
/// worker thread of the target's own; a pass that overruns `redis.timeout` publishes `redis_up 0`
/// with reason `timeout` at once and is aborted by shutting its socket down. The pass itself
/// never waits past the deadline either (socket timeouts set to the time left before every call).
/// This type supplies the pass (``RedisPasses``) and its down snapshot.
public final class RedisSource: VitalsSource {
    public let name = "redis"
    public let status: SourceStatus
    private let target: String
    private let interval: Duration
    private let logger: Logger
    private let runner: CollectionRunner
    private let passes: RedisPasses

    init(target: RedisConfiguration.Target, configuration: RedisConfiguration, tls: RedisTLSClient?, context: SourceContext) throws {
        let multiTarget = configuration.targets.count > 1
        let descriptors = RedisMetricDescriptors(withTarget: multiTarget)
        let histogram = try context.registry.histogram(
            "redis_slowlog_duration_seconds",
            help: "Durations of slowlog entries by command, each entry counted once when first seen (entries present when vitals started are not counted).",
            labels: descriptors.slowlogHistogramLabels, buckets: RedisMetricDescriptors.slowlogBuckets)
        let targetLabel = multiTarget ? target.label : nil
        let status = context.health.makeStatus(source: "redis", instance: target.label)
        self.status = status
        self.target = target.label
        self.logger = context.logger
        self.interval = configuration.interval
        let passes = RedisPasses(
            target: target, descriptors: descriptors, targetLabel: targetLabel, configuration: configuration, slowlogHistogram: histogram,
            tls: target.address.tls ? tls.map(LazyRedisTLSClient.ready) : nil, logger: context.logger)
        self.passes = passes
        self.runner = CollectionRunner(
            source: passes,
            settings: .init(interval: configuration.interval, timeout: configuration.timeout, backoffBase: .milliseconds(500)),
            status: status,
            publisher: context.registry.makePublisher(),
            downFamilies: RedisMetricMapper(descriptors: descriptors, target: targetLabel, maxLabelValues: 1).downFamilies(),
            logger: context.logger,
            words: .init(down: "redis collection failed", up: "redis up"),
            metadata: ["target": "\(target.label)"])
    }

    /// Takes the credentials re-read on SIGHUP; the next pass reconnects with them.
    func reload(_ target: RedisConfiguration.Target) {
        passes.reload(target)
    }

    /// Takes the TLS context re-read on SIGHUP; the next pass reconnects with it.
    func reload(_ tls: RedisTLSClient) {
        passes.reload(tls)
    }

    var usesTLS: Bool { passes.usesTLS }

    public func run() async throws {
        logger.info("redis source started", metadata: ["target": "\(target)", "interval": "\(DurationParser.format(interval))"])
        await cancelWhenGracefulShutdown {
            await self.runner.run()
        }
    }
}

public enum RedisSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { RedisConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        // check-config reads the TLS files too: a missing certificate fails there, not at start.
        _ = try RedisConfiguration(values: values).tls?.makeContext()
        if let path = values.string(RedisProbeTarget.fileKey), !path.isEmpty { _ = try RedisProbe.loadModules(path: path) }
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try RedisConfiguration(values: configuration)
        let tls = try settings.tls.map { RedisTLSClient(context: try $0.makeContext(), settings: $0, group: context.eventLoopGroup) }
        if let tls { warnIfUnverified(tls.settings, logger: context.logger) }
        let probeService = try makeProbe(configuration: configuration, settings: settings, tls: tls, context: context)
        guard !settings.targets.isEmpty else { return probeService.map { [$0] } ?? [] }
        let sources = try settings.targets.map { try RedisSource(target: $0, configuration: settings, tls: tls, context: context) }
        // A file that cannot be read throws: the old credentials stay, and the reload gauge says so.
        context.reloads.onReload("redis.password-file") { try reloadCredentials(configuration: configuration, sources: sources) }
        if let tls {
            // The same for certificates: a new context only if every file reads and they fit together.
            context.reloads.onReload("redis.tls") {
                let fresh = RedisTLSClient(context: try tls.settings.makeContext(), settings: tls.settings, group: tls.group)
                warnIfUnverified(fresh.settings, logger: context.logger)
                for source in sources where source.usesTLS { source.reload(fresh) }
            }
        }
        return sources + (probeService.map { [$0] } ?? [])
    }

    /// `GET /scrape` (redis_exporter's multi-target endpoint; on unless `--probe.enabled=false`),
    /// with or without configured targets. A `rediss://` target uses the `--redis.tls-*` settings.
    static func makeProbe(
        configuration: ConfigurationValues, settings: RedisConfiguration, tls: RedisTLSClient?, context: SourceContext
    ) throws -> ProbeReaperService<RedisProbe>? {
        let probeSettings = try ProbeConfiguration(values: configuration)
        guard probeSettings.enabled else { return nil }
        let path = configuration.string(RedisProbeTarget.fileKey).flatMap { $0.isEmpty ? nil : $0 }
        let modules = try path.map { path throws(ConfigurationError) in try RedisProbe.loadModules(path: path) } ?? [:]
        let probeTLS: LazyRedisTLSClient
        if let tls {
            probeTLS = .ready(tls)
        } else {
            let explicit = (try? RedisTLSSettings(values: configuration)) ?? nil
            let tlsSettings = explicit ?? RedisTLSSettings()
            if explicit != nil { warnIfUnverified(tlsSettings, logger: context.logger) }
            let group = context.eventLoopGroup
            probeTLS = LazyRedisTLSClient { (try? tlsSettings.makeContext()).map { RedisTLSClient(context: $0, settings: tlsSettings, group: group) } }
        }
        let probe = RedisProbe(
            configuration: settings, probe: probeSettings, modules: modules, tls: probeTLS, logger: context.logger,
            metrics: try ProbeMetrics(registry: context.registry, endpoint: "/scrape"))
        return probe.serve(
            at: "/scrape", summary: "one Redis target's metrics: /scrape?target=redis://host:port&auth_module=NAME (redis_exporter's multi-target endpoint)",
            serviceName: "redis_probe", modulesFile: path.map { (RedisProbeTarget.fileKey, $0) }, load: { path throws(ConfigurationError) in try RedisProbe.loadModules(path: path) },
            context: context)
    }

    static func warnIfUnverified(_ settings: RedisTLSSettings, logger: Logger) {
        guard settings.skipVerification else { return }
        logger.warning(
            "INSECURE: redis.skip-tls-verification is on: vitals accepts any certificate from rediss:// servers, so anyone between vitals and Redis can read and change what it sends, the password included",
            metadata: ["setting": "redis.skip-tls-verification"])
    }

    /// Re-reads `REDIS_PASSWORD_FILE` (or `--redis.password-file`) and hands each running target
    /// its credentials, matched by address.
    static func reloadCredentials(configuration: ConfigurationValues, sources: [RedisSource]) throws {
        let fresh = try RedisConfiguration(values: configuration)
        for source in sources {
            if let target = fresh.targets.first(where: { $0.label == source.status.instance }) { source.reload(target) }
        }
    }
}
