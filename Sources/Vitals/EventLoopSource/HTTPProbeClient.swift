import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 GET: one connection per request, a hard deadline over connect, send and the
/// whole response. The application probe keeps only the status; the test suite also reads bodies,
/// up to a bound, so that it does not depend on FoundationNetworking's URLSession, which crashed
/// and stalled under the parallel suite.
enum HTTPProbeClient {
    struct Failure: Error, CustomStringConvertible {
        struct Code: Hashable, Sendable {
            private enum Base { case timeout, connect, protocolError, bodyTooLarge }
            private let base: Base
            static let timeout = Code(base: .timeout)
            static let connect = Code(base: .connect)
            static let protocolError = Code(base: .protocolError)
            static let bodyTooLarge = Code(base: .bodyTooLarge)
        }

        let code: Code
        var description: String {
            switch code {
            case .timeout: "timed out"
            case .connect: "could not connect"
            case .bodyTooLarge: "response body over the limit"
            default: "invalid HTTP response"
            }
        }
    }

    struct Response: Sendable {
        var status: Int
        /// Empty unless the request asked for the body (`bodyLimit` > 0).
        var body: ByteBuffer
    }

    /// Returns the response's status code.
    static func get(_ url: ProbeURL, timeout: Duration, group: any EventLoopGroup) async throws -> Int {
        try await fetch(url, timeout: timeout, group: group).status
    }

    /// `bodyLimit` 0 discards the body as it arrives; above 0, a longer body fails the request.
    static func fetch(
        _ url: ProbeURL, headers: [(String, String)] = [], bodyLimit: Int = 0, timeout: Duration, group: any EventLoopGroup
    ) async throws -> Response {
        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let timer = loop.scheduleTask(deadline: deadline) {
            promise.fail(Failure(code: .timeout))
        }
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(promise: promise, bodyLimit: bodyLimit))
                }
            }
        // A numeric host needs no resolver. A name is looked up by vitals' own resolver within the
        // request's deadline, as the sources' are (``BoundedResolver`` says why not NIO's).
        let connect =
            if let address = try? SocketAddress(ipAddress: url.host, port: url.port) {
                bootstrap.connect(to: address)
            } else {
                bootstrap.resolver(BoundedResolver(host: url.host, deadline: .now + timeout, on: loop)).connect(host: url.host, port: url.port)
            }
        connect.whenComplete { result in
            switch result {
            case .failure:
                promise.fail(Failure(code: .connect))
            case .success(let channel):
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target)
                head.headers.add(name: "Host", value: url.port == 80 ? url.host : "\(url.host):\(url.port)")
                head.headers.add(name: "User-Agent", value: "vitals-probe/\(VitalsVersion.version)")
                head.headers.add(name: "Connection", value: "close")
                for (name, value) in headers { head.headers.replaceOrAdd(name: name, value: value) }
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return try await promise.futureResult.get()
    }

    private final class ResponseHandler: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        private let promise: EventLoopPromise<Response>
        private let bodyLimit: Int
        private var status: Int?
        private var body = ByteBuffer()

        init(promise: EventLoopPromise<Response>, bodyLimit: Int) {
            self.promise = promise
            self.bodyLimit = bodyLimit
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(var part):
                guard bodyLimit > 0 else { return }
                guard body.readableBytes + part.readableBytes <= bodyLimit else {
                    promise.fail(Failure(code: .bodyTooLarge))
                    context.close(promise: nil)
                    return
                }
                body.writeBuffer(&part)
            case .end:
                if let status { promise.succeed(Response(status: status, body: body)) } else { promise.fail(Failure(code: .protocolError)) }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(code: .protocolError))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(Failure(code: .protocolError))
            context.close(promise: nil)
        }
    }
}
