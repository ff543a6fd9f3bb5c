import Hummingbird
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
    registry.register(collector: health)

    let context = SourceContext(
        registry: registry, health: health, logger: logger, threadPool: NIOThreadPool.singleton,
        eventLoopGroup: MultiThreadedEventLoopGroup.singleton)
    var sources: [any VitalsSource] = []
    for factory in SourceCatalog.factories {
        sources += try factory.makeSources(configuration: configuration.values, context: context)
    }

    let router = Router()
    try Endpoints(registry: registry, health: health, telemetryPath: configuration.telemetryPath, sourceRoutes: context.routes.all)
        .addRoutes(to: router)

    var app = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "vitals"),
        logger: logger)
    app.addServices(sources.map { $0 as any Service })
    return app
}

/// The logger every part of the daemon shares, in the configured format and level.
public func makeLogger(configuration: VitalsConfiguration, sink: @escaping StructuredLogHandler.Sink = StructuredLogHandler.standardError) -> Logger {
    Logger(label: "vitals") { label in
        StructuredLogHandler(label: label, format: configuration.logFormat, level: configuration.logLevel, sink: sink)
    }
}
