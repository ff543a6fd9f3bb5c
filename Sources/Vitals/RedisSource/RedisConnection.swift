import CHiredis

enum RedisConnector {
    /// Opens a hiredis connection; no call blocks past `deadline`, host name resolution included.
    /// `tls` is required for a `rediss://` address and unused otherwise.
    static func connect(
        to address: RedisAddress, deadline: ContinuousClock.Instant, abortHandle: RedisAbortHandle, tls: RedisTLSClient? = nil
    ) throws(RedisConnectionError) -> any RedisCommandChannel {
        try RedisConnection.connect(to: address, deadline: deadline, abortHandle: abortHandle, tls: tls)
    }

    /// A host's addresses within the deadline (``HostResolver``), as a Redis connection error.
    static func resolve(_ host: String, deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> [String] {
        do {
            return try HostResolver.addresses(of: host, deadline: deadline)
        } catch {
            throw RedisConnectionError(error.code == .unknownHost ? .connect : .timeout, error.description)
        }
    }
}

/// One hiredis blocking connection. Not thread-safe: it belongs to the target's own thread.
///
/// Every call takes a deadline: connects use `redisConnectWithTimeout`, and before each command
/// the socket's send/receive timeouts (`redisSetTimeout`) are set to the time left, so no call
/// blocks past the pass's deadline. Host names are resolved first, by ``HostResolver`` within the
/// deadline, and hiredis gets the addresses.
private final class RedisConnection: RedisCommandChannel {
    private var handle: OpaquePointer?
    private var context: UnsafeMutablePointer<redisContext>? { handle.map(UnsafeMutablePointer<redisContext>.init) }
    private let abortHandle: RedisAbortHandle
    /// For `rediss://`: what carries hiredis' bytes through TLS (hiredis holds a socketpair's end).
    private let bridge: RedisTLSBridge?

    private init(context: UnsafeMutablePointer<redisContext>, abortHandle: RedisAbortHandle, bridge: RedisTLSBridge?) {
        self.handle = OpaquePointer(context)
        self.abortHandle = abortHandle
        self.bridge = bridge
        abortHandle.attach(context.pointee.fd)
    }

    deinit { close() }

    static func connect(
        to address: RedisAddress, deadline: ContinuousClock.Instant, abortHandle: RedisAbortHandle, tls: RedisTLSClient?
    ) throws(RedisConnectionError) -> RedisConnection {
        let timeout = try Self.timeLeft(until: deadline)
        let context: UnsafeMutablePointer<redisContext>?
        var bridge: RedisTLSBridge?
        switch address.endpoint {
        case .tcp(let host, let port) where address.tls:
            guard let tls else { throw RedisConnectionError(.tls, "rediss:// without TLS settings") }
            let opened = try RedisTLSBridge.open(host: host, port: port, client: tls, deadline: deadline)
            bridge = opened.bridge
            // hiredis takes the descriptor as connected and owns it from here (redisFree closes it).
            context = redisConnectFd(opened.descriptor)
            if context == nil {
                RedisTLSBridge.closeDescriptor(opened.descriptor)
                opened.bridge.close()
            }
        case .tcp(let host, let port):
            // hiredis would resolve inside its connect, unbounded; it gets addresses, tried in order.
            let addresses = try RedisConnector.resolve(host, deadline: deadline)
            var opened = vitals_redisConnectWithTimeoutMs(addresses[0], Int32(port), try Self.timeLeft(until: deadline))
            for address in addresses.dropFirst() {
                guard let failed = opened, failed.pointee.err != 0, let left = try? Self.timeLeft(until: deadline) else { break }
                redisFree(failed)
                opened = vitals_redisConnectWithTimeoutMs(address, Int32(port), left)
            }
            context = opened
        case .unix(let path):
            context = vitals_redisConnectUnixWithTimeoutMs(path, timeout)
        }
        guard let context else { throw RedisConnectionError(.connect, "cannot allocate a connection") }
        if context.pointee.err != 0 {
            let error = Self.error(of: context, whileConnecting: true)
            redisFree(context)
            bridge?.close()
            throw error
        }
        return RedisConnection(context: context, abortHandle: abortHandle, bridge: bridge)
    }

    /// Sends the commands in one write and reads their replies, in order. Error replies are
    /// returned as `.error`, not thrown: whether one is fatal depends on the command. Thrown errors
    /// break the connection. One round trip is one wake-up of the target's thread, which at rest is
    /// most of what a pass costs (BENCHMARKS.md, "Cost to run").
    func commands(_ batch: [[String]], deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> [RedisReply] {
        guard let context else { throw RedisConnectionError(.io, "connection closed") }
        let timeout = try Self.timeLeft(until: deadline)
        guard vitals_redisSetTimeoutMs(context, timeout) == REDIS_OK else {
            let error = Self.error(of: context, whileConnecting: false)
            close()
            throw error
        }
        for arguments in batch {
            // Only buffers the command (hiredis fails here on allocation alone); the first
            // redisGetReply writes them all.
            let appended = Self.withArgv(arguments) { argc, argv, lengths in
                redisAppendCommandArgv(context, argc, argv, lengths)
            }
            guard appended == REDIS_OK else { throw broken(context, deadline: deadline) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(batch.count)
        for _ in batch {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw broken(context, deadline: deadline) }
            defer { freeReplyObject(raw) }
            replies.append(Self.convert(raw.assumingMemoryBound(to: redisReply.self).pointee))
        }
        return replies
    }

    /// The error that broke the connection, which is then closed.
    private func broken(_ context: UnsafeMutablePointer<redisContext>, deadline: ContinuousClock.Instant) -> RedisConnectionError {
        var error = Self.error(of: context, whileConnecting: false, deadline: deadline)
        // The bridge closed hiredis' end because TLS failed (for TLS 1.3, a refused client
        // certificate shows only here, after the handshake): say so rather than "closed".
        if let failure = bridge?.tlsFailure, error.code != .timeout { error = RedisConnectionError(.tls, failure) }
        close()
        return error
    }

    func close() {
        guard let context else { return }
        abortHandle.detach()
        redisFree(context)
        bridge?.close()
        handle = nil
    }

    var isOpen: Bool { handle != nil }

    // MARK: C plumbing

    /// Milliseconds left before the deadline, at least 1; throws once it has passed.
    private static func timeLeft(until deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> Int64 {
        let left = deadline - .now
        guard left > .milliseconds(1) else { throw RedisConnectionError(.timeout, "deadline reached") }
        let (seconds, attoseconds) = left.components
        return max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    private static func error(of context: UnsafeMutablePointer<redisContext>, whileConnecting: Bool, deadline: ContinuousClock.Instant? = nil) -> RedisConnectionError {
        let errnoIsTimeout = vitals_errno_is_timeout() != 0
        let text = withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        let code = context.pointee.err
        // A receive timeout surfaces as an I/O error with EAGAIN ("Resource temporarily
        // unavailable"), a connect timeout with ETIMEDOUT; the runner's abort (shutdown()) as EOF once the
        // deadline has passed.
        let deadlinePassed = deadline.map { ContinuousClock.now >= $0 } ?? false
        let timedOut = deadlinePassed
            || (code == REDIS_ERR_IO
                && (errnoIsTimeout || text.contains("timed out")
                    || text.contains("temporarily unavailable")))
        if timedOut { return RedisConnectionError(.timeout, whileConnecting ? "connect timed out" : "no reply before the deadline") }
        if whileConnecting { return RedisConnectionError(.connect, text.isEmpty ? "connect failed" : text) }
        switch code {
        case REDIS_ERR_PROTOCOL: return RedisConnectionError(.protocolError, text)
        case REDIS_ERR_EOF: return RedisConnectionError(.io, "server closed the connection")
        default: return RedisConnectionError(.io, text.isEmpty ? "connection error" : text)
        }
    }

    private static func convert(_ reply: redisReply) -> RedisReply {
        switch reply.type {
        case REDIS_REPLY_STRING, REDIS_REPLY_STATUS:
            return .string(text(reply))
        case REDIS_REPLY_ERROR:
            return .error(text(reply))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(reply.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RedisReply] = []
            items.reserveCapacity(reply.elements)
            for index in 0..<reply.elements {
                if let element = reply.element[index] { items.append(convert(element.pointee)) } else { items.append(.null) }
            }
            return .array(items)
        default:
            return .null
        }
    }

    private static func text(_ reply: redisReply) -> String {
        guard let pointer = reply.str else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: Int(reply.len)), as: UTF8.self)
    }

    /// hiredis' `redisAppendCommand` is variadic (unavailable in Swift); `redisAppendCommandArgv` takes C arrays.
    private static func withArgv<R>(_ arguments: [String], _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R) -> R {
        // One NUL-separated buffer holds every argument; argv points into it.
        var storage: [CChar] = []
        var offsets: [Int] = []
        for argument in arguments {
            offsets.append(storage.count)
            storage.append(contentsOf: argument.utf8CString)
        }
        let lengths = arguments.map { $0.utf8.count }
        return storage.withUnsafeBufferPointer { storage in
            var argv: [UnsafePointer<CChar>?] = offsets.map { storage.baseAddress! + $0 }
            return argv.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { lengths in
                    body(Int32(arguments.count), argv.baseAddress!, lengths.baseAddress!)
                }
            }
        }
    }
}
