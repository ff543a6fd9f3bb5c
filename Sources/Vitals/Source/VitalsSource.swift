import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

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
    public let logger: Logger
    /// For blocking calls (file reads, libpq, hiredis): never run them on an event loop.
    public let threadPool: NIOThreadPool
    public let eventLoopGroup: any EventLoopGroup
    /// Extra read-only endpoints sources serve beside `/metrics` (e.g. `/statements`).
    public let routes: SourceRouteTable

    public init(
        registry: MetricRegistry, health: SourceHealthBoard, logger: Logger, threadPool: NIOThreadPool, eventLoopGroup: any EventLoopGroup,
        routes: SourceRouteTable = SourceRouteTable()
    ) {
        self.registry = registry
        self.health = health
        self.logger = logger
        self.threadPool = threadPool
        self.eventLoopGroup = eventLoopGroup
        self.routes = routes
    }
}

/// A read-only endpoint a source serves beside `/metrics`, for data that must not become labels
/// (query texts, slow-query samples). The body is rendered from memory at request time: a handler
/// never waits on the backend.
public struct SourceRoute: Sendable {
    public let path: String
    public let contentType: String
    public let render: @Sendable () -> [UInt8]

    public init(path: String, contentType: String = "application/json", render: @escaping @Sendable () -> [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.render = render
    }
}

/// The routes registered by factories while sources are made; the HTTP layer adds them to its router.
public final class SourceRouteTable: Sendable {
    private let routes = Mutex<[SourceRoute]>([])

    public init() {}

    /// Registers a route; a second route on the same path is ignored (the first one wins).
    public func register(_ route: SourceRoute) {
        routes.withLock { routes in
            if !routes.contains(where: { $0.path == route.path }) { routes.append(route) }
        }
    }

    public var all: [SourceRoute] { routes.withLock { $0 } }
}
