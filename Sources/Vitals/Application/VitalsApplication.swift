#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// The daemon as a Hummingbird application, run without Hummingbird's date cache.
///
/// Hummingbird's own `run()` adds a service that formats the `Date` header once a second, so that
/// a busy server does not format it per response. vitals answers a scrape every few seconds, and at
/// rest that timer was about a fifth of its wake-ups (a timer thread and a pool thread each second,
/// BENCHMARKS.md "Cost to run"), so here the date is formatted per response. Everything else is
/// `Application`'s: its responder, server, services and configuration are passed through.
public struct VitalsApplication<Base: ApplicationProtocol>: ApplicationProtocol {
    public typealias Responder = Base.Responder

    let base: Base

    public var responder: Responder { get async throws { try await base.responder } }
    public var server: HTTPServerBuilder { base.server }
    public var eventLoopGroup: any EventLoopGroup { base.eventLoopGroup }
    public var configuration: ApplicationConfiguration { base.configuration }
    public var logger: Logger { base.logger }
    public var services: [any Service] { base.services }
    public var processesRunBeforeServerStart: [@Sendable () async throws -> Void] { base.processesRunBeforeServerStart }
    public func onServerRunning(_ channel: any Channel) async { await base.onServerRunning(channel) }

    /// A response that failed to write because the request turned out malformed: the connection
    /// is closed, and no second response is written.
    struct ParseErrorWhileWritingResponse: Error {}

    /// Hummingbird's `ApplicationProtocol.run()` (2.x) without the date cache service.
    public func run() async throws {
        let responder = try await self.responder
        let configuration = self.configuration
        let serverName = configuration.serverName
        let logger = self.logger
        let server = try self.server.buildServer(
            configuration: ServerConfiguration(
                address: configuration.address, serverName: serverName, backlog: configuration.backlog, reuseAddress: configuration.reuseAddress,
                availableConnectionsDelegate: configuration.availableConnectionsDelegate),
            eventLoopGroup: eventLoopGroup,
            logger: logger
        ) { (request, responseWriter: consuming ResponseWriter, channel) in
            var requestLogger = logger
            requestLogger[metadataKey: "hb.request.id"] = .stringConvertible(RequestID())
            let response = try await withLogger(requestLogger) { requestLogger in
                let context = Responder.Context(source: .init(channel: channel, logger: requestLogger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error
                } catch {
                    requestLogger.debug("Unrecognised Error", metadata: ["error.type": "\(error)"])
                    response = Response(status: .internalServerError, body: .init())
                }
                response.headers[.date] = HTTPDate.now()
                if let serverName { response.headers[.server] = serverName }
                return response
            }
            do {
                try await responseWriter.write(response: response.head, body: response.body)
            } catch is HTTPParserError {
                throw ParseErrorWhileWritingResponse()
            }
        } onServerRunning: {
            await self.onServerRunning($0)
        }
        let serverService = ServerAfterPrelude(prelude: processesRunBeforeServerStart, server: server)
        let group = ServiceGroup(configuration: .init(services: services + [serverService], logger: logger))
        try await group.run()
    }
}

/// The server, started once the processes to run before it have run (while the other services
/// already run), as Hummingbird's prelude does.
struct ServerAfterPrelude: Service {
    let prelude: [@Sendable () async throws -> Void]
    let server: any Service

    func run() async throws {
        for process in prelude { try await process() }
        try await server.run()
    }
}

/// The `Date` header's IMF-fixdate (RFC 9110 §5.6.7), from the C library in the C locale.
enum HTTPDate {
    static func now() -> String {
        var seconds = time(nil)
        var parts = tm()
        guard gmtime_r(&seconds, &parts) != nil else { return "" }
        var buffer = [CChar](repeating: 0, count: 40)
        let count = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        return buffer.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(count), as: UTF8.self) }
    }
}
