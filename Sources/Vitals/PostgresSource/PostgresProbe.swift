#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Why a probe request was refused (HTTP 400). Fixed texts: a message never quotes the target,
/// which may hold a password.
public struct PostgresProbeError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        private enum Base { case missingTarget, invalidTarget, passwordInTarget, unknownAuthModule }
        private let base: Base
        public static let missingTarget = Code(base: .missingTarget)
        public static let invalidTarget = Code(base: .invalidTarget)
        public static let passwordInTarget = Code(base: .passwordInTarget)
        public static let unknownAuthModule = Code(base: .unknownAuthModule)
    }

    public let code: Code

    public init(_ code: Code) { self.code = code }

    public var description: String {
        switch code {
        case .missingTarget: "the 'target' parameter must be given (a connection string or host:port/database)"
        case .invalidTarget: "the 'target' parameter is not a connection string libpq can parse, nor host:port/database"
        case .passwordInTarget:
            "the 'target' parameter must not carry a password: put the credentials in an auth module (--postgres.auth-modules-file) and pass auth_module"
        default: "no such auth_module in --postgres.auth-modules-file"
        }
    }
}

/// What `/probe?target=…&auth_module=…` connects to.
public enum PostgresProbeTarget {
    /// The connection string for `target` with `module`'s credentials and options, as postgres_exporter
    /// builds it: a target that is not a URI (`postgres://`, `postgresql://`) nor `key=value` pairs is
    /// read as `host:port/database`. A target with a password is refused, so secrets stay out of URLs.
    public static func connectionInfo(target: String?, module: ProbeAuthModule?) throws(PostgresProbeError) -> PostgresConnectionInfo {
        guard let target = target?.trimmingCharacters(in: .spaceAndTab), !target.isEmpty else { throw PostgresProbeError(.missingTarget) }
        let isURI = target.hasPrefix("postgres://") || target.hasPrefix("postgresql://")
        // key=value pairs start with a keyword and `=`; `host:port/db?sslmode=…` has a `:`, `/` or `?` first.
        let isKeywordValue = target.firstIndex(where: { "=:/?@".contains($0) }).map { target[$0] == "=" } ?? false
        let text = isURI || isKeywordValue ? target : "postgresql://" + target
        let parsed: PostgresConnectionInfo
        do {
            // No PG* variables: a probed target is what the URL says, not the daemon's environment.
            parsed = try PostgresConnectionInfo(text, environment: [:])
        } catch {
            throw PostgresProbeError(.invalidTarget)
        }
        guard parsed.options["password"] == nil else { throw PostgresProbeError(.passwordInTarget) }
        guard let module else { return parsed }
        var options = parsed.options
        options["user"] = module.username
        if !module.password.isEmpty { options["password"] = module.password }
        for (key, value) in module.options { options[key] = value }
        let conninfo = options.sorted { $0.key < $1.key }.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
        do {
            return try PostgresConnectionInfo(conninfo, environment: [:])
        } catch {
            throw PostgresProbeError(.invalidTarget)
        }
    }

    /// A libpq `key=value` value: single-quoted, `\` and `'` escaped.
    static func quote(_ value: String) -> String {
        "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}

/// One probed Postgres target: the same passes (collectors, slow interval, publication) as a
/// configured target, on a worker thread of its own, kept between probes.
final class PostgresProbeTargetState: ProbeTarget {
    let passes: PostgresPasses
    let worker = WorkerThread()
    let label: String

    init(configuration: PostgresConfiguration, info: PostgresConnectionInfo, statements: PostgresStatementsBoard) {
        var configuration = configuration
        // No `target` label: Prometheus' relabelling puts the target in `instance`, as with postgres_exporter.
        configuration.targets = []
        self.passes = PostgresPasses(configuration: configuration, info: info, statements: statements)
        self.label = info.targetLabel
    }

    func probe(deadline: ContinuousClock.Instant) async -> CollectedPass? {
        await runProbePass(source: passes, worker: worker, deadline: deadline)
    }

    func close() async {
        let passes = self.passes
        passes.abort()
        _ = await worker.run { passes.close() }
        await worker.shutdown()
    }
}

/// `GET /probe`: postgres_exporter's multi-target endpoint. Answers one target's metrics (pg_up
/// included) within the scrape's timeout, keeping each target's connection between probes.
final class PostgresProbe: ProbeEndpoint {
    let configuration: PostgresConfiguration
    let probe: ProbeConfiguration
    let cache: ProbeTargetCache<PostgresProbeTargetState>
    private let modules: NIOLockedValueBox<[String: ProbeAuthModule]>
    private let statements = PostgresStatementsBoard()
    private let logger: Logger
    /// Nil in tests that drive the probe directly.
    let metrics: ProbeMetrics?

    init(configuration: PostgresConfiguration, probe: ProbeConfiguration, modules: [String: ProbeAuthModule], logger: Logger, metrics: ProbeMetrics? = nil) {
        self.metrics = metrics
        self.configuration = configuration
        self.probe = probe
        self.cache = ProbeTargetCache(capacity: probe.maxTargets, idleTimeout: probe.idleTimeout)
        self.modules = NIOLockedValueBox(modules)
        self.logger = logger
    }

    /// New credentials (SIGHUP): every open target is closed, so the next probe connects with them.
    func reload(modules new: [String: ProbeAuthModule]) {
        let changed = modules.withLockedValue { current in
            defer { current = new }
            return current != new
        }
        guard changed else { return }
        let targets = cache.removeAll()
        metrics?.closed(targets.count, .reload)
        metrics?.open(0)
        ProbeTargetCache.close(targets)
    }

    func respond(_ request: SourceEndpoints.Request) async -> SourceEndpoints.Response {
        let start = ContinuousClock.now
        let deadline = start + probe.budget(scrapeTimeoutHeader: request.headers[ProbeConfiguration.scrapeTimeoutHeader])
        let moduleName = request.query["auth_module"].flatMap { $0.isEmpty ? nil : $0 }
        let info: PostgresConnectionInfo
        do throws(PostgresProbeError) {
            var module: ProbeAuthModule?
            if let moduleName {
                guard let known = modules.withLockedValue({ $0[moduleName] }) else { throw PostgresProbeError(.unknownAuthModule) }
                module = known
            }
            info = try PostgresProbeTarget.connectionInfo(target: request.query["target"], module: module)
        } catch {
            metrics?.record(.refused)
            return SourceEndpoints.Response(status: 400, contentType: "text/plain; charset=utf-8", body: error.description + "\n")
        }
        // Keyed by what the URL said plus the module: the cache never holds a password of its own making.
        let key = (request.query["target"] ?? "") + "\u{0}" + (moduleName ?? "")
        let configuration = self.configuration
        let statements = self.statements
        let (target, evicted) = cache.target(for: key) {
            PostgresProbeTargetState(configuration: configuration, info: info, statements: statements)
        }
        ProbeTargetCache.close(evicted.all)
        metrics?.closed(evicted.idle.count, .idle)
        metrics?.closed(evicted.displaced.count, .capacity)
        metrics?.open(cache.count)
        let families: [FamilySnapshot]
        if let collected = await target.probe(deadline: deadline) {
            families = collected.families
            if let failure = collected.outcome.failure {
                metrics?.record(failure.reason == .timeout ? .timeout : .down)
                logger.debug("postgres probe down", metadata: ["target": "\(target.label)", "reason": "\(failure.reason.rawValue)"])
            } else {
                metrics?.record(.up)
            }
        } else {
            metrics?.record(.timeout)
            families = target.passes.downFamilies
            logger.debug(
                "postgres probe overran its deadline", metadata: ["target": "\(target.label)", "budget": "\(DurationParser.format(deadline - start))"])
        }
        return SourceEndpoints.Response(
            contentType: ExpositionFormat.prometheusText.contentType,
            body: String(decoding: ExpositionWriter(format: .prometheusText).write(families), as: UTF8.self))
    }

    /// Closes the targets idle too long.
    func reap() {
        let idle = cache.reap()
        metrics?.closed(idle.count, .idle)
        metrics?.open(cache.count)
        ProbeTargetCache.close(idle)
    }

    func closeAll() async {
        for target in cache.removeAll() { await target.close() }
    }
}
