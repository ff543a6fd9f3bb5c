import Glibc
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL
import NIOTLS

/// What a `rediss://` connection needs besides the address: the context (replaced on SIGHUP),
/// the settings it was made from, and the event loops the TLS side runs on.
struct RedisTLSClient: Sendable {
    var context: NIOSSLContext
    var settings: RedisTLSSettings
    var group: any EventLoopGroup
}

/// A ``RedisTLSClient`` made when a `rediss://` connection first needs it, on that connection's
/// worker thread: making one reads the CA bundle (the system's, without `--redis.tls-ca-cert-file`)
/// into BoringSSL, file I/O that belongs off the event loop and the cooperative pool. `/scrape`
/// made its client at start in every daemon, most of which never scrape a TLS target: 1.4 MiB of
/// BoringSSL's code and about 0.9 MiB of heap that stayed resident (BENCHMARKS, "Cost to run").
/// Nil when the files do not read: such a target is refused by the connector and is down.
final class LazyRedisTLSClient: Sendable {
    private let make: @Sendable () -> RedisTLSClient?
    /// Nil until made; then the client, or nil when it could not be made.
    private let made = NIOLockedValueBox<RedisTLSClient??>(nil)

    init(make: @escaping @Sendable () -> RedisTLSClient?) {
        self.make = make
    }

    /// One made already (the configured targets', or a SIGHUP's).
    static func ready(_ client: RedisTLSClient) -> LazyRedisTLSClient { LazyRedisTLSClient { client } }

    var isMade: Bool { made.withLockedValue { $0 != nil } }

    func client() -> RedisTLSClient? {
        made.withLockedValue { value in
            if let value { return value }
            let client = make()
            value = .some(client)
            return client
        }
    }
}

/// Carries one hiredis connection's bytes through TLS: hiredis owns one end of a Unix socketpair
/// (`redisConnectFd`) and keeps doing blocking RESP on it, on the target's worker thread; the
/// other end and the TCP connection to Redis are two NIO channels on one event loop, glued
/// together, with ``NIOSSLClientHandler`` on the TCP side.
///
/// ```
/// hiredis ⇄ fd[0] ═ socketpair ═ fd[1] ⇄ local channel ⇄ glue ⇄ TLS channel (NIOSSL) ⇄ TCP ⇄ Redis
/// ```
///
/// Deadlines: ``open(host:port:client:deadline:)`` is the only blocking part and waits on the
/// worker thread, never on an event loop, for the TCP connect and the handshake, both bounded by
/// a task scheduled on the loop at the pass's deadline that fails the wait and closes the
/// channel. After that, hiredis' own socket timeouts bound each command as they do for plain TCP,
/// and shutting hiredis' end down (the runner's abort) closes both channels through the glue.
final class RedisTLSBridge: Sendable {
    private let tlsChannel: any Channel
    private let localChannel: any Channel
    private let failure: NIOLockedValueBox<String?>

    private init(tlsChannel: any Channel, localChannel: any Channel, failure: NIOLockedValueBox<String?>) {
        self.tlsChannel = tlsChannel
        self.localChannel = localChannel
        self.failure = failure
    }

    /// The TLS error that broke the connection after the handshake, as a fixed sentence (for
    /// TLS 1.3 the server's refusal of a client certificate arrives only then).
    var tlsFailure: String? { failure.withLockedValue { $0 } }

    func close() {
        localChannel.close(promise: nil)
        tlsChannel.close(promise: nil)
    }

    /// Closes hiredis' end when hiredis could not take it (`redisConnectFd` failed to allocate).
    static func closeDescriptor(_ descriptor: Int32) {
        _ = Glibc.close(descriptor)
    }

    /// Connects, completes the handshake and returns hiredis' end of the socketpair with the bridge
    /// that pumps it. Blocking: call it on the worker thread only. Never waits past `deadline`.
    static func open(host: String, port: Int, client: RedisTLSClient, deadline: ContinuousClock.Instant) throws(RedisConnectionError)
        -> (descriptor: Int32, bridge: RedisTLSBridge)
    {
        let loop = client.group.next()
        let address: SocketAddress
        do {
            // The first of the host's addresses, resolved within the deadline on this worker thread.
            address = try SocketAddress(ipAddress: try RedisConnector.resolve(host, deadline: deadline)[0], port: port)
        } catch let error as RedisConnectionError {
            throw error
        } catch {
            throw RedisConnectionError(.connect, "'\(host)' resolved to an address NIO cannot connect to")
        }
        let left = deadline - .now
        guard left > .milliseconds(1) else { throw RedisConnectionError(.timeout, "deadline reached") }
        let nioDeadline = NIODeadline.now() + .nanoseconds(Int64(left.components.seconds) * 1_000_000_000 + left.components.attoseconds / 1_000_000_000)

        let failure = NIOLockedValueBox<String?>(nil)
        let tcpConnected = NIOLockedValueBox(false)
        let handshake = loop.makePromise(of: Void.self)
        let serverHostname = client.settings.serverHostname(for: host)
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(Int64(left.components.seconds) * 1_000_000_000 + left.components.attoseconds / 1_000_000_000))
            .channelInitializer { channel in
                do {
                    let ssl = try NIOSSLClientHandler(context: client.context, serverHostname: serverHostname)
                    try channel.pipeline.syncOperations.addHandlers([ssl, RedisTLSGlue(handshake: handshake, failure: failure)])
                    return channel.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
            }
            .connect(to: address)

        // One outcome, whichever comes first: the handshake, a failure, or the deadline.
        let outcome = loop.makePromise(of: (any Channel).self)
        let timer = loop.scheduleTask(deadline: nioDeadline) { outcome.fail(BridgeTimeout()) }
        connected.whenComplete { result in
            switch result {
            case .failure(let error): outcome.fail(error)
            case .success(let channel):
                tcpConnected.withLockedValue { $0 = true }
                handshake.futureResult.whenComplete { result in
                    switch result {
                    case .success: outcome.succeed(channel)
                    case .failure(let error): outcome.fail(error)
                    }
                }
            }
        }
        outcome.futureResult.whenComplete { result in
            timer.cancel()
            if case .failure = result {
                // Also ends a handshake still waiting on a stalled server.
                handshake.fail(BridgeTimeout())
                connected.whenSuccess { $0.close(promise: nil) }
            }
        }
        let tlsChannel: any Channel
        do {
            tlsChannel = try outcome.futureResult.wait()
        } catch is BridgeTimeout {
            let during = tcpConnected.withLockedValue { $0 } ? "no TLS handshake from the server before the deadline" : "connect timed out"
            throw RedisConnectionError(.timeout, during)
        } catch {
            guard tcpConnected.withLockedValue({ $0 }) else {
                if let error = error as? ChannelError, case .connectTimeout = error { throw RedisConnectionError(.timeout, "connect timed out") }
                throw RedisConnectionError(.connect, Self.connectMessage(error))
            }
            if let sentence = failure.withLockedValue({ $0 }) { throw RedisConnectionError(.tls, "TLS handshake failed: \(sentence)") }
            // No TLS error seen: the server hung up mid-handshake (e.g. a plain-text server, or a proxy).
            throw RedisConnectionError(.tls, "the server closed the connection during the TLS handshake")
        }

        // The socketpair: hiredis gets fds[0]; the local channel takes ownership of fds[1].
        var fds: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            tlsChannel.close(promise: nil)
            throw RedisConnectionError(.io, "socketpair failed")
        }
        let local = ClientBootstrap(group: loop)
            .channelInitializer { local in
                do {
                    // On the loop, so atomic with the TLS channel's events: if it closed already
                    // (TLS 1.3: the server's refusal of a client certificate comes right after
                    // the handshake), pairing now would leave hiredis waiting on a dead bridge.
                    guard tlsChannel.isActive else { throw ClosedBeforePairing() }
                    let tlsGlue = try tlsChannel.pipeline.syncOperations.handler(type: RedisTLSGlue.self)
                    let localGlue = RedisTLSGlue(handshake: nil, failure: nil)
                    try local.pipeline.syncOperations.addHandler(localGlue)
                    RedisTLSGlue.pair(tlsGlue, localGlue)
                    return local.eventLoop.makeSucceededVoidFuture()
                } catch {
                    return local.eventLoop.makeFailedFuture(error)
                }
            }
            .withConnectedSocket(fds[1])
        let localChannel: any Channel
        do {
            localChannel = try Self.wait(local, on: loop, until: nioDeadline)
        } catch {
            Glibc.close(fds[0])
            tlsChannel.close(promise: nil)
            local.whenSuccess { $0.close(promise: nil) }
            if error is BridgeTimeout { throw RedisConnectionError(.timeout, "deadline reached") }
            if let sentence = failure.withLockedValue({ $0 }) { throw RedisConnectionError(.tls, sentence) }
            if error is ClosedBeforePairing { throw RedisConnectionError(.io, "server closed the connection after the TLS handshake") }
            throw RedisConnectionError(.io, "cannot set up the TLS bridge")
        }
        return (fds[0], RedisTLSBridge(tlsChannel: tlsChannel, localChannel: localChannel, failure: failure))
    }

    /// Waits on the worker thread for `future`, or fails at `deadline`.
    private static func wait<T: Sendable>(_ future: EventLoopFuture<T>, on loop: any EventLoop, until deadline: NIODeadline) throws -> T {
        let bounded = loop.makePromise(of: T.self)
        let timer = loop.scheduleTask(deadline: deadline) { bounded.fail(BridgeTimeout()) }
        future.whenComplete { result in
            timer.cancel()
            bounded.completeWith(result)
        }
        return try bounded.futureResult.wait()
    }

    private static func connectMessage(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first { return "connect failed: \(first.error)" }
        if let error = error as? IOError { return "connect failed: \(error.description)" }
        return "connect failed"
    }
}

private struct BridgeTimeout: Error {}
private struct ClosedBeforePairing: Error {}

/// Moves bytes between the two channels of a bridge; on the TLS side it also reports the
/// handshake and records TLS errors. Both handlers live on one event loop.
private final class RedisTLSGlue: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: RedisTLSGlue?
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private let handshake: EventLoopPromise<Void>?
    private let failure: NIOLockedValueBox<String?>?
    private var handshakeDone = false

    init(handshake: EventLoopPromise<Void>?, failure: NIOLockedValueBox<String?>?) {
        self.handshake = handshake
        self.failure = failure
    }

    static func pair(_ first: RedisTLSGlue, _ second: RedisTLSGlue) {
        first.partner = second
        second.partner = first
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            handshakeDone = true
            handshake?.succeed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Hiredis sends nothing before the bridge is paired; TLS data before that is dropped.
        partner?.write(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.flush()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure {
            let text = "\(error) \(String(reflecting: error))"
            var sentence = RedisTLSFailure.describe(text, duringHandshake: !handshakeDone)
            // The server's certificate was received before it failed to verify: its dates tell
            // an expired certificate from one no trusted CA signed.
            if !handshakeDone, RedisTLSFailure.isVerificationFailure(text),
                let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate()
            {
                sentence = RedisTLSFailure.describeVerification(
                    notValidBefore: Int(certificate.notValidBefore), notValidAfter: Int(certificate.notValidAfter), now: Int(time(nil)))
            }
            failure.withLockedValue { if $0 == nil { $0 = sentence } }
        }
        handshake?.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake?.fail(ChannelError.ioOnClosedChannel)
        partner?.partnerClosed()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Backpressure: read from the partner only while this side can take its bytes.
        if context.channel.isWritable { partner?.resumeReading() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if let partnerContext = partner?.context, !partnerContext.channel.isWritable {
            pendingRead = true
            return
        }
        context.read()
    }

    private func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func flush() {
        context?.flush()
    }

    private func resumeReading() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    private func partnerClosed() {
        partner = nil
        context?.close(promise: nil)
    }
}
