import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// A source of metrics: the plugin interface.
///
/// A source is a `Service` in the daemon's `ServiceGroup`: `run()` does its work (tailing a file,
/// polling a server on an interval) until graceful shutdown, and must return rather than throw
/// when a backend fails — a failing source reports itself through ``status`` and never takes the
/// daemon down. What it publishes goes into the shared ``MetricRegistry`` it was given.
public protocol VitalsSource: Service {
    /// Stable, short and low-cardinality: the value of the `source` label (`timing_log`, `postgres`).
    var name: String { get }
    /// Health shown in `vitals_source_up`, the error counters and `/ready`.
    var status: SourceStatus { get }
}

/// Turns configuration into sources. A new source is one folder with a type conforming to this,
/// and one line in ``SourceCatalog``.
public protocol SourceFactory {
    /// The flags and YAML keys this source reads; they are merged into the command line and the config file schema.
    static var configurationKeys: [ConfigurationKey] { get }
    /// Checks the settings without starting anything, so `check-config` fails exactly as start-up would.
    static func validate(values: ConfigurationValues) throws
    /// The sources to run for this configuration; none when the source is not configured.
    static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource]
}

/// What a source gets from the daemon.
public struct SourceContext: Sendable {
    public let registry: MetricRegistry
    public let health: SourceHealthBoard
    /// Where a source offers extra JSON endpoints (`/statements`, `/slow-queries`).
    public let endpoints: SourceEndpoints
    /// Called on SIGHUP: re-read secrets from files.
    public let reloads: ReloadHandlers
    public let logger: Logger
    public let eventLoopGroup: any EventLoopGroup
    /// Where a source leaves what findings need beyond its metrics (the statement log's N+1s).
    public let evidence: FindingEvidence

    public init(
        registry: MetricRegistry, health: SourceHealthBoard, endpoints: SourceEndpoints = SourceEndpoints(),
        reloads: ReloadHandlers = ReloadHandlers(), logger: Logger,
        eventLoopGroup: any EventLoopGroup, evidence: FindingEvidence = FindingEvidence()
    ) {
        self.evidence = evidence
        self.registry = registry
        self.health = health
        self.endpoints = endpoints
        self.reloads = reloads
        self.logger = logger
        self.eventLoopGroup = eventLoopGroup
    }
}
