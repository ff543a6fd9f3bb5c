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
        registry: registry, health: health, endpoints: endpoints, reloads: reloads, logger: logger, eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    var sources: [any VitalsSource] = []
    for factory in SourceCatalog.factories {
        sources += try factory.makeSources(configuration: configuration.values, context: context)
    }

    let web = try WebState(configuration: configuration.web, path: configuration.values.string("web.config.file").flatMap { $0.isEmpty ? nil : $0 })
    reloads.onReload("web.config.file") { try web.reload() }
    if !configuration.web.basicAuthUsers.isEmpty, configuration.web.tls == nil {
        logger.warning("basic auth is configured without TLS: passwords cross the network in clear text; add tls_server_config to the web configuration")
    }

    let router = Router(context: VitalsRequestContext.self)
    router.add(middleware: SecurityHeadersMiddleware(web: web))
    router.add(
        middleware: try BasicAuthMiddleware(web: web, exemptPaths: configuration.authExemptProbes ? ["/health", "/ready"] : [], registry: registry))
    try Endpoints(registry: registry, health: health, sourceEndpoints: endpoints.all, telemetryPath: configuration.telemetryPath)
        .addRoutes(to: router)

    let limits = configuration.listenerLimits
    let listenerMetrics = try ListenerMetrics(registry: registry)
    let table = ConnectionTable(limit: limits.maxConnections, metrics: listenerMetrics)
    let server = HTTPServerBuilder { responder in
        GuardedHTTPChannel(responder: responder, limits: limits, table: table, metrics: listenerMetrics, tlsContext: { web.current.tls })
    }
    var app = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vitals"),
        logger: logger)
    app.addServices(sources.map { $0 as any Service })
    app.addServices(try ReloadSignalService(handlers: reloads, registry: registry, logger: logger))
    return VitalsApplication(base: app)
}

/// The logger every part of the daemon shares, in the configured format and level.
public func makeLogger(configuration: VitalsConfiguration, sink: @escaping StructuredLogHandler.Sink = StructuredLogHandler.standardError) -> Logger {
    Logger(label: "vitals") { label in
        StructuredLogHandler(label: label, format: configuration.logFormat, level: configuration.logLevel, sink: sink)
    }
}
