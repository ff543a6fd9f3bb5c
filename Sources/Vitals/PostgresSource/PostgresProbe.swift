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

/// What `/probe?target=…&auth_module=…` connects to.
public enum PostgresProbeTarget {
    /// The connection string for `target` with `module`'s credentials and options, as postgres_exporter
    /// builds it: a target that is not a URI (`postgres://`, `postgresql://`) nor `key=value` pairs is
    /// read as `host:port/database`. A target with a password is refused, so secrets stay out of URLs.
    public static func connectionInfo(target: String?, module: ProbeAuthModule?) throws(ProbeTargetError) -> PostgresConnectionInfo {
        guard let target = target?.trimmingCharacters(in: .spaceAndTab), !target.isEmpty else { throw ProbeTargetError(.missingTarget, .postgres) }
        let isURI = target.hasPrefix("postgres://") || target.hasPrefix("postgresql://")
        // key=value pairs start with a keyword and `=`; `host:port/db?sslmode=…` has a `:`, `/` or `?` first.
        let isKeywordValue = target.firstIndex(where: { "=:/?@".contains($0) }).map { target[$0] == "=" } ?? false
        let text = isURI || isKeywordValue ? target : "postgresql://" + target
        let parsed: PostgresConnectionInfo
        do {
            // No PG* variables: a probed target is what the URL says, not the daemon's environment.
            parsed = try PostgresConnectionInfo(text, environment: [:])
        } catch {
            throw ProbeTargetError(.invalidTarget, .postgres)
        }
        // sslpassword unlocks the client key: no more fit for a URL than the password.
        guard parsed.options["password"] == nil, parsed.options["sslpassword"] == nil else { throw ProbeTargetError(.passwordInTarget, .postgres) }
        guard let module else { return parsed }
        var options = parsed.options
        options["user"] = module.username
        if !module.password.isEmpty { options["password"] = module.password }
        for (key, value) in module.options { options[key] = value }
        let conninfo = options.sorted { $0.key < $1.key }.map { "\($0.key)=\(quote($0.value))" }.joined(separator: " ")
        do {
            return try PostgresConnectionInfo(conninfo, environment: [:])
        } catch {
            throw ProbeTargetError(.invalidTarget, .postgres)
        }
    }

    /// A libpq `key=value` value: single-quoted, `\` and `'` escaped.
    static func quote(_ value: String) -> String {
        "'" + value.replacing("\\", with: "\\\\").replacing("'", with: "\\'") + "'"
    }
}

/// One probed Postgres target: the same passes (collectors, slow interval, publication) as a
/// configured target, on a worker thread of its own, kept between probes.
final class PostgresProbeTargetState: PassProbeTarget {
    let passes: PostgresPasses
    let worker = WorkerThread()
    let label: String
    var downFamilies: [FamilySnapshot] { passes.downFamilies }

    init(configuration: PostgresConfiguration, info: PostgresConnectionInfo, statements: PostgresStatementsBoard) {
        var configuration = configuration
        // No `target` label: Prometheus' relabelling puts the target in `instance`, as with postgres_exporter.
        configuration.targets = []
        self.passes = PostgresPasses(configuration: configuration, info: info, statements: statements)
        self.label = info.targetLabel
    }
}

/// `GET /probe`: postgres_exporter's multi-target endpoint. Answers one target's metrics (pg_up
/// included) within the scrape's timeout, keeping each target's connection between probes.
final class PostgresProbe: ProbeEndpoint {
    let configuration: PostgresConfiguration
    let probe: ProbeConfiguration
    let cache: ProbeTargetCache<PostgresProbeTargetState>
    let modules: NIOLockedValueBox<[String: ProbeAuthModule]>
    private let statements = PostgresStatementsBoard()
    let logger: Logger
    let metrics: ProbeMetrics?
    let logName = "postgres probe"

    init(configuration: PostgresConfiguration, probe: ProbeConfiguration, modules: [String: ProbeAuthModule], logger: Logger, metrics: ProbeMetrics? = nil) {
        self.metrics = metrics
        self.configuration = configuration
        self.probe = probe
        self.cache = ProbeTargetCache(capacity: probe.maxTargets, idleTimeout: probe.idleTimeout)
        self.modules = NIOLockedValueBox(modules)
        self.logger = logger
    }

    func respond(_ request: SourceEndpoints.Request) async -> SourceEndpoints.Response {
        let configuration = self.configuration
        let statements = self.statements
        return await answer(request, unknownModule: ProbeTargetError(.unknownAuthModule, .postgres)) { target, module in
            let info = try PostgresProbeTarget.connectionInfo(target: target, module: module)
            return { PostgresProbeTargetState(configuration: configuration, info: info, statements: statements) }
        }
    }
}
