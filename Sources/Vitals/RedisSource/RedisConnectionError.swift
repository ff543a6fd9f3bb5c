import Glibc
import NIOConcurrencyHelpers

/// Why talking to Redis failed. The message is short and secret-free (hiredis' `errstr` or the
/// server's error reply, which never echo a password); the `Code` is what labels and reasons use.
public struct RedisConnectionError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String { case connect, timeout, io, protocolError, auth, permission, busy, loading, reply, tls }
        private let base: Base
        /// TCP/unix connect failed (refused, unreachable, name not resolved).
        public static let connect = Code(base: .connect)
        /// The deadline passed while connecting or waiting for a reply.
        public static let timeout = Code(base: .timeout)
        /// The connection broke (reset, closed by the server).
        public static let io = Code(base: .io)
        public static let protocolError = Code(base: .protocolError)
        public static let auth = Code(base: .auth)
        /// NOPERM on a command vitals cannot do without (INFO).
        public static let permission = Code(base: .permission)
        /// BUSY: a script runs past busy-reply-threshold.
        public static let busy = Code(base: .busy)
        /// LOADING: the server is loading its dataset.
        public static let loading = Code(base: .loading)
        /// Any other error reply to a required command.
        public static let reply = Code(base: .reply)
        /// The TLS handshake failed or TLS broke the connection (certificate not trusted or
        /// refused, no common version). Not a deadline: a stalled handshake is `timeout`.
        public static let tls = Code(base: .tls)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        // Bounded, single line: it ends up in /ready and in logs.
        self.message = String(message.prefix(200).map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }

    public var description: String { "\(code): \(message)" }

    /// The fixed reason shown in `vitals_source_errors_total` and `/ready`.
    public var reason: SourceErrorReason {
        switch code {
        case .connect, .io: .connect
        case .timeout: .timeout
        case .auth: .auth
        case .permission: .permission
        case .protocolError: .parse
        case .tls: .tls
        default: .query  // busy, loading, other error replies: the server answered but refused
        }
    }

    /// Whether the connection is unusable afterwards and must be freed (hiredis contexts are not
    /// reusable after an I/O error or a timeout: a late reply would be read as the next one's).
    public var breaksConnection: Bool {
        switch code {
        case .connect, .timeout, .io, .protocolError, .auth, .tls: true
        default: false
        }
    }

    static func forReply(_ message: String) -> RedisConnectionError {
        switch RedisErrorReplyKind(reply: message) {
        case .authentication: RedisConnectionError(.auth, message)
        case .noPermission, .unsupported: RedisConnectionError(.permission, message)
        case .busy: RedisConnectionError(.busy, message)
        case .loading: RedisConnectionError(.loading, message)
        case .other: RedisConnectionError(.reply, message)
        }
    }
}

/// Lets another thread break a blocked hiredis call: `shutdown(2)` on the socket makes the
/// pending `read` return at once. The runner's abort uses it so a hung pass frees its thread promptly.
///
/// The descriptor is published only while the context is alive and withdrawn (under the same
/// lock) before `redisFree` closes it, so a recycled descriptor number is never shut down.
public final class RedisAbortHandle: Sendable {
    private let descriptor = NIOLockedValueBox<Int32?>(nil)

    public init() {}

    func attach(_ fd: Int32) { descriptor.withLockedValue { $0 = fd } }
    func detach() { descriptor.withLockedValue { $0 = nil } }

    public func abort() {
        descriptor.withLockedValue { fd in
            if let fd { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
    }
}

/// A request/reply channel to one server: what a pass needs from a connection.
///
/// A pass sees only this protocol, never the hiredis-backed class: a type that stores C
/// struct pointers, once referenced from other files, makes the compiler attribute glibc's
/// `struct stat` to CNIOLinux and reject the tailer's code under MemberImportVisibility.
protocol RedisCommandChannel: AnyObject {
    /// Sends the commands in one round trip and reads their replies, in order. Error replies are
    /// returned as `.error`, not thrown: whether one is fatal depends on the command. Thrown errors
    /// leave the channel closed.
    func commands(_ batch: [[String]], deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> [RedisReply]
    func close()
    var isOpen: Bool { get }
}

extension RedisCommandChannel {
    /// One command, one reply.
    func command(_ arguments: [String], deadline: ContinuousClock.Instant) throws(RedisConnectionError) -> RedisReply {
        try commands([arguments], deadline: deadline)[0]
    }
}

