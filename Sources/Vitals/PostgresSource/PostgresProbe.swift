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
        return await answer(request, unknownModule: PostgresProbeError(.unknownAuthModule)) { target, module in
            let info = try PostgresProbeTarget.connectionInfo(target: target, module: module)
            return { PostgresProbeTargetState(configuration: configuration, info: info, statements: statements) }
        }
    }
}
