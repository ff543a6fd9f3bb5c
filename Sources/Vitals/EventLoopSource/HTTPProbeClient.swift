import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 GET for the application probe: one connection per request, a hard deadline
/// over connect, send and the whole response, and nothing read beyond the status and the body's end.
enum HTTPProbeClient {
    struct Failure: Error, CustomStringConvertible {
        struct Code: Hashable, Sendable {
            private enum Base { case timeout, connect, protocolError }
            private let base: Base
            static let timeout = Code(base: .timeout)
            static let connect = Code(base: .connect)
            static let protocolError = Code(base: .protocolError)
        }

        let code: Code
        var description: String {
            switch code {
            case .timeout: "timed out"
            case .connect: "could not connect"
            default: "invalid HTTP response"
            }
        }
    }

    /// Returns the response's status code.
    static func get(_ url: ProbeURL, timeout: Duration, group: any EventLoopGroup) async throws -> Int {
        let loop = group.next()
        let promise = loop.makePromise(of: Int.self)
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        let timer = loop.scheduleTask(deadline: deadline) {
            promise.fail(Failure(code: .timeout))
        }
        let connect = ClientBootstrap(group: loop)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseHandler(promise: promise))
                }
            }
            .connect(host: url.host, port: url.port)
        connect.whenComplete { result in
            switch result {
            case .failure:
                promise.fail(Failure(code: .connect))
            case .success(let channel):
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: url.target)
                head.headers.add(name: "Host", value: url.port == 80 ? url.host : "\(url.host):\(url.port)")
                head.headers.add(name: "User-Agent", value: "vitals-probe/\(VitalsVersion.version)")
                head.headers.add(name: "Connection", value: "close")
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
        private let promise: EventLoopPromise<Int>
        private var status: Int?

        init(promise: EventLoopPromise<Int>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body: break
            case .end:
                if let status { promise.succeed(status) } else { promise.fail(Failure(code: .protocolError)) }
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
