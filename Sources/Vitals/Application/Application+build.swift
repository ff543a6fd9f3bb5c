import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Builds the daemon: registry, sources, HTTP endpoints, all as services of one application.
///
/// The executable only parses the command line and calls this, so tests run the very same daemon in-process.
public func buildApplication(configuration: VitalsConfiguration, logger: Logger) throws -> some ApplicationProtocol {
    let registry = MetricRegistry()
    let health = SourceHealthBoard()
    registry.register(collector: ProcessCollector())
    registry.register(collector: BuildInfoCollector())
    registry.register(collector: LogDropsCollector())
    registry.register(collector: health)

    let endpoints = SourceEndpoints()
    let reloads = ReloadHandlers()
    let context = SourceContext(
        registry: registry, health: health, endpoints: endpoints, reloads: reloads, logger: logger, threadPool: NIOThreadPool.singleton,
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    var sources: [any VitalsSource] = []
    for factory in SourceCatalog.factories {
        sources += try factory.makeSources(configuration: configuration.values, context: context)
    }

    let router = Router()
    if !configuration.web.basicAuthUsers.isEmpty {
        router.add(
            middleware: BasicAuthMiddleware(
                users: configuration.web.basicAuthUsers, exemptPaths: configuration.authExemptProbes ? ["/health", "/ready"] : []))
    }
    try Endpoints(registry: registry, health: health, sourceEndpoints: endpoints.all, telemetryPath: configuration.telemetryPath)
        .addRoutes(to: router)

    let server: HTTPServerBuilder =
        if let tls = try configuration.web.makeTLSConfiguration() { try .tls(.http1(), tlsConfiguration: tls) } else { .http1() }
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vitals"),
        logger: logger)
    app.addServices(sources.map { $0 as any Service })
    app.addServices(ReloadSignalService(handlers: reloads, logger: logger))
    return app
}

/// The logger every part of the daemon shares, in the configured format and level.
public func makeLogger(configuration: VitalsConfiguration, sink: @escaping StructuredLogHandler.Sink = StructuredLogHandler.standardError) -> Logger {
    Logger(label: "vitals") { label in
        StructuredLogHandler(label: label, format: configuration.logFormat, level: configuration.logLevel, sink: sink)
    }
}
