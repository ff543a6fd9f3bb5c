import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import NIOTLS

/// Hummingbird's HTTP/1.1 child channel with the listener's limits in front of it.
///
/// Per connection: admission against the ``ConnectionTable``, TLS with the context in force when
/// the connection arrives (so a certificate reloaded on SIGHUP applies to new connections), a TLS
/// handshake deadline, a request-header deadline, Hummingbird's own idle timeout, a body limit,
/// `HEAD` answered as `GET` without a body, and HTTP/1.0's close after the response.
struct GuardedHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = HTTP1Channel.Value

    let base: HTTP1Channel
    let limits: ListenerLimits
    let table: ConnectionTable
    let metrics: ListenerMetrics?
    /// The TLS context for a new connection; nil serves plain HTTP.
    let tlsContext: @Sendable () -> TLSServerContext?

    init(
        responder: @escaping HTTPChannelHandler.Responder, limits: ListenerLimits, table: ConnectionTable, metrics: ListenerMetrics?,
        tlsContext: @escaping @Sendable () -> TLSServerContext?
    ) {
        self.base = HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout)))
        self.limits = limits
        self.table = table
        self.metrics = metrics
        self.tlsContext = tlsContext
    }

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard case .admitted(let id, _) = table.admit(channel) else {
            // Every slot is busy with a request: this one is closed at once rather than left in
            // the backlog, so the client learns it now instead of after its own timeout.
            channel.close(promise: nil)
            return channel.eventLoop.makeFailedFuture(ListenerError(.connectionLimit))
        }
        let table = self.table
        channel.closeFuture.whenComplete { _ in table.release(id) }
        return channel.eventLoop.makeCompletedFuture { () throws -> Void in
            let tls = self.tlsContext()
            if let tls {
                let handler =
                    tls.acceptsAnyClientCertificate
                    ? NIOSSLServerHandler(context: tls.context, customVerificationCallback: { _, promise in promise.succeed(.certificateVerified) })
                    : NIOSSLServerHandler(context: tls.context)
                try channel.pipeline.syncOperations.addHandler(handler)
            }
            try channel.pipeline.syncOperations.addHandler(
                ConnectionDeadlineHandler(
                    handshakeTimeout: tls == nil ? nil : TimeAmount(limits.tlsHandshakeTimeout), headerTimeout: TimeAmount(limits.headerTimeout),
                    responseTimeout: TimeAmount(limits.idleTimeout), metrics: metrics))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }.flatMapThrowing { value in
            let decoder = try channel.pipeline.syncOperations.context(handlerType: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try channel.pipeline.syncOperations.addHandler(
                HTTP1RequestPolicyHandler(connection: id, table: table, maxBodySize: limits.maxRequestBodySize, metrics: metrics),
                position: .after(decoder.handler))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

struct ListenerError: Error, CustomStringConvertible {
    struct Code: Hashable, Sendable {
        private let name: String
        static let connectionLimit = Code(name: "connection limit reached, every connection busy")
        var description: String { name }
    }

    let code: Code
    init(_ code: Code) { self.code = code }
    var description: String { code.description }
}

/// What the request-policy handler tells the deadline handler, as outbound user events (they
/// travel from the HTTP codec's side towards the socket, where the deadline handler sits).
enum RequestProgress {
    /// The whole request (header and body) is in.
    case requestReceived
    case responseEnded
}

/// Deadlines that count from bytes on the wire, below the HTTP codec: the TLS handshake, and a
/// request that must be complete within `headerTimeout` of its first byte. A client that
/// trickles a header byte every few seconds (slowloris) is closed when its time is up however
/// often it sends, and so is one that trickles a body (it would otherwise hold a connection
/// that counts as busy and is never shed). Hummingbird's idle timeout covers connections that
/// send nothing at all. A response not fully handed to the socket within `responseTimeout`
/// (a client that does not read it) closes the connection too: Hummingbird's idle timeout
/// skips a connection with a request in progress, and the connection table never sheds a busy one.
final class ConnectionDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Phase {
        case handshaking
        case awaitingHead
        case inRequest
    }

    private let handshakeTimeout: TimeAmount?
    private let headerTimeout: TimeAmount
    private let responseTimeout: TimeAmount
    private let metrics: ListenerMetrics?
    private var phase: Phase
    private var deadline: Scheduled<Void>?

    init(handshakeTimeout: TimeAmount?, headerTimeout: TimeAmount, responseTimeout: TimeAmount, metrics: ListenerMetrics?) {
        self.handshakeTimeout = handshakeTimeout
        self.headerTimeout = headerTimeout
        self.responseTimeout = responseTimeout
        self.metrics = metrics
        self.phase = handshakeTimeout == nil ? .awaitingHead : .handshaking
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if let handshakeTimeout { arm(context, after: handshakeTimeout, reason: .handshakeTimeout) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if phase == .awaitingHead, deadline == nil { arm(context, after: headerTimeout, reason: .headerTimeout) }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event, phase == .handshaking {
            disarm()
            phase = .awaitingHead
        }
        context.fireUserInboundEventTriggered(event)
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let progress = event as? RequestProgress else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch progress {
        case .requestReceived:
            phase = .inRequest
            arm(context, after: responseTimeout, reason: .responseTimeout)
        case .responseEnded:
            disarm()
            phase = .awaitingHead
        }
        promise?.succeed()
    }

    private func arm(_ context: ChannelHandlerContext, after timeout: TimeAmount, reason: ListenerMetrics.CloseReason) {
        disarm()
        let channel = context.channel
        let metrics = self.metrics
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            metrics?.closed(reason)
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }
}

/// Sits right after NIO's request decoder, where the HTTP version and method are still visible.
///
/// - `HEAD` goes on as `GET`: the decoder has already told the encoder the request was `HEAD`,
///   so the response keeps GET's headers (Content-Length included) and the encoder drops the body.
/// - A request that is not keep-alive (HTTP/1.0 without `Connection: keep-alive`, or
///   `Connection: close`) is marked `Connection: close` for Hummingbird, which then stops reading,
///   and the connection is closed once the response is written.
/// - A body larger than the limit closes the connection.
/// - The connection table learns when the connection is busy and when it is idle.
final class HTTP1RequestPolicyHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let connection: UInt64
    private let table: ConnectionTable
    private let maxBodySize: Int
    private let metrics: ListenerMetrics?
    /// Per request read and not yet answered, in order: close after its response?
    private var closeAfterResponse: [Bool] = []
    private var bodyBytes = 0
    private var refused = false

    init(connection: UInt64, table: ConnectionTable, maxBodySize: Int, metrics: ListenerMetrics?) {
        self.connection = connection
        self.table = table
        self.maxBodySize = maxBodySize
        self.metrics = metrics
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        switch unwrapInboundIn(data) {
        case .head(var head):
            table.mark(connection, busy: true)
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > maxBodySize {
                return refuse(context)
            }
            let close = !head.isKeepAlive
            if close { head.headers.replaceOrAdd(name: "connection", value: "close") }
            if head.method == .HEAD { head.method = .GET }
            bodyBytes = 0
            closeAfterResponse.append(close)
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            guard bodyBytes <= maxBodySize else { return refuse(context) }
            context.fireChannelRead(data)
        case .end:
            context.triggerUserOutboundEvent(RequestProgress.requestReceived, promise: nil)
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where closeAfterResponse.first == true:
            head.headers.replaceOrAdd(name: "connection", value: "close")
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            let close = closeAfterResponse.isEmpty ? false : closeAfterResponse.removeFirst()
            if closeAfterResponse.isEmpty {
                table.mark(connection, busy: false)
                context.triggerUserOutboundEvent(RequestProgress.responseEnded, promise: nil)
            }
            guard close else { return context.write(data, promise: promise) }
            let written = promise ?? context.eventLoop.makePromise()
            let channel = context.channel
            written.futureResult.whenComplete { _ in channel.close(promise: nil) }
            context.writeAndFlush(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        metrics?.closed(.bodyTooLarge)
        context.close(promise: nil)
    }
}
