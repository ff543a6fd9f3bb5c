import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// What `/scrape?target=…&auth_module=…` connects to.
public enum RedisProbeTarget {
    public static let fileKey = "redis.auth-modules-file"

    /// The target's address with `module`'s credentials. An address with a password is refused (a
    /// user name alone is kept unless the module names one), so secrets stay out of URLs.
    public static func target(_ text: String?, module: ProbeAuthModule?) throws(ProbeTargetError) -> RedisConfiguration.Target {
        guard let text = text?.trimmingCharacters(in: .spaceAndTab), !text.isEmpty else { throw ProbeTargetError(.missingTarget, .redis) }
        let address: RedisAddress
        do {
            address = try RedisAddress.parse(text)
        } catch {
            throw ProbeTargetError(.invalidTarget, .redis)
        }
        guard address.password == nil else { throw ProbeTargetError(.passwordInTarget, .redis) }
        var target = RedisConfiguration.Target(address: address, user: address.user, password: nil)
        if let module {
            if !module.username.isEmpty { target.user = module.username }
            target.password = module.password.isEmpty ? nil : module.password
        }
        target.address.user = nil
        return target
    }
}

/// One probed Redis target: the same passes as a configured target, on a worker thread of its
/// own, with its slowlog histogram in a registry of its own (served with its probes, never on `/metrics`).
final class RedisProbeTargetState: PassProbeTarget {
    let passes: RedisPasses
    let worker = WorkerThread()
    let registry = MetricRegistry()
    let label: String
    let downFamilies: [FamilySnapshot]

    init(target: RedisConfiguration.Target, configuration: RedisConfiguration, tls: LazyRedisTLSClient?, logger: Logger) throws {
        let descriptors = RedisMetricDescriptors(withTarget: false)
        let histogram = try registry.histogram(
            "redis_slowlog_duration_seconds",
            help: "Durations of slowlog entries by command, each entry counted once when first seen (entries present when vitals started are not counted).",
            labels: descriptors.slowlogHistogramLabels, buckets: RedisMetricDescriptors.slowlogBuckets)
        self.passes = RedisPasses(
            target: target, descriptors: descriptors, targetLabel: nil, configuration: configuration, slowlogHistogram: histogram,
            tls: target.address.tls ? tls : nil, logger: logger)
        self.label = target.label
        self.downFamilies = RedisMetricMapper(descriptors: descriptors, target: nil, maxLabelValues: 1).downFamilies()
    }

    func extraFamilies() -> [FamilySnapshot] { registry.gather() }
}

/// `GET /scrape`: redis_exporter's multi-target endpoint, bounded by the scrape's timeout, with
/// each target's connection kept between scrapes.
final class RedisProbe: ProbeEndpoint {
    let configuration: RedisConfiguration
    let probe: ProbeConfiguration
    let cache: ProbeTargetCache<RedisProbeTargetState>
    let modules: NIOLockedValueBox<[String: ProbeAuthModule]>
    private let tls: LazyRedisTLSClient
    let logger: Logger
    let metrics: ProbeMetrics?
    let logName = "redis scrape"

    init(configuration: RedisConfiguration, probe: ProbeConfiguration, modules: [String: ProbeAuthModule], tls: LazyRedisTLSClient, logger: Logger, metrics: ProbeMetrics? = nil) {
        self.metrics = metrics
        self.configuration = configuration
        self.probe = probe
        self.cache = ProbeTargetCache(capacity: probe.maxTargets, idleTimeout: probe.idleTimeout)
        self.modules = NIOLockedValueBox(modules)
        self.tls = tls
        self.logger = logger
    }

    static func loadModules(path: String) throws(ConfigurationError) -> [String: ProbeAuthModule] {
        try ProbeAuthModule.load(path: path, key: RedisProbeTarget.fileKey, usernameRequired: false, allowsOptions: false)
    }

    func respond(_ request: SourceEndpoints.Request) async -> SourceEndpoints.Response {
        let configuration = self.configuration
        let tls = self.tls
        let logger = self.logger
        return await answer(request, unknownModule: ProbeTargetError(.unknownAuthModule, .redis)) { text, module in
            let target = try RedisProbeTarget.target(text, module: module)
            // The registry is new and holds one family: registering cannot fail.
            return { try! RedisProbeTargetState(target: target, configuration: configuration, tls: tls, logger: logger) }
        }
    }
}
