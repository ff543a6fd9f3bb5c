#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Where one Redis target lives and how to log in, parsed from `--redis.addr`.
///
/// Accepted forms (redis_exporter's):
/// - `redis://host:port`, `redis://host` (port 6379), `redis://[::1]:6379`, bare `host:port`
/// - `redis://user:password@host:port/db` and `redis://:password@host:port` (percent-encoded)
/// - `rediss://…` (TLS, with the same forms), set up by the `--redis.tls-*` flags
/// - `unix:///path/to/redis.sock`
/// - `valkey://…` and `valkeys://…` as synonyms of `redis://` and `rediss://`
///
/// hiredis 0.14 (Debian 12) has no TLS of its own: `rediss://` goes through ``RedisTLSBridge``.
///
/// The database number is accepted for compatibility but unused: every command vitals sends
/// (INFO, SLOWLOG, LATENCY, CONFIG) is server-wide.
public struct RedisAddress: Sendable, Hashable {
    public enum Endpoint: Sendable, Hashable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var endpoint: Endpoint
    /// Credentials embedded in the address; they win over `--redis.user` / `--redis.password`.
    public var user: String?
    public var password: String?
    public var database: Int
    /// `rediss://`: talk TLS to the server.
    public var tls: Bool

    public static let defaultPort = 6379

    /// The value of the `target` label and of the source's `instance`: `host:port` or the socket
    /// path. Never carries credentials.
    public var label: String {
        switch endpoint {
        case .tcp(let host, let port):
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path):
            path
        }
    }

    public init(endpoint: Endpoint, user: String? = nil, password: String? = nil, database: Int = 0, tls: Bool = false) {
        self.endpoint = endpoint
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Why an address was refused. The message never repeats the address's userinfo.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        public struct Code: Sendable, Hashable {
            private enum Base { case unsupportedScheme, invalidHost, invalidPort, invalidDatabase, invalidPath, invalidEncoding }
            private let base: Base
            public static let unsupportedScheme = Code(base: .unsupportedScheme)
            public static let invalidHost = Code(base: .invalidHost)
            public static let invalidPort = Code(base: .invalidPort)
            public static let invalidDatabase = Code(base: .invalidDatabase)
            public static let invalidPath = Code(base: .invalidPath)
            public static let invalidEncoding = Code(base: .invalidEncoding)
        }

        public let code: Code
        public let message: String

        public var description: String { message }
    }

    public static func parse(_ text: String) throws(ParseError) -> RedisAddress {
        let trimmed = text.trimmingCharacters(in: " \t\r\n")
        guard let schemeEnd = trimmed.firstRange(of: "://") else {
            // redis_exporter accepts a bare host:port.
            return try parseNetwork(Substring(trimmed))
        }
        let scheme = trimmed[..<schemeEnd.lowerBound].lowercased()
        let rest = trimmed[schemeEnd.upperBound...]
        switch scheme {
        case "redis", "valkey":
            return try parseNetwork(rest)
        case "unix":
            let path = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard path.hasPrefix("/"), path.count > 1 else {
                throw ParseError(code: .invalidPath, message: "a unix address needs an absolute socket path (unix:///path/to/redis.sock)")
            }
            return RedisAddress(endpoint: .unix(path: path))
        case "rediss", "valkeys":
            var address = try parseNetwork(rest)
            address.tls = true
            return address
        default:
            throw ParseError(code: .unsupportedScheme, message: "unsupported scheme '\(scheme)://' (use redis://, rediss:// or unix://)")
        }
    }

    /// `[user[:password]@]host[:port][/db]`
    private static func parseNetwork(_ text: Substring) throws(ParseError) -> RedisAddress {
        var rest = text
        if let query = rest.firstIndex(of: "?") { rest = rest[..<query] }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let parts = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let decodedUser = try percentDecoded(parts[0])
            user = decodedUser.isEmpty ? nil : decodedUser
            if parts.count == 2 {
                let decoded = try percentDecoded(parts[1])
                password = decoded.isEmpty ? nil : decoded
            }
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let db = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !db.isEmpty {
                guard let number = Int(db), number >= 0 else {
                    throw ParseError(code: .invalidDatabase, message: "the database after '/' must be a number")
                }
                database = number
            }
        }
        let host: String
        var port = defaultPort
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw ParseError(code: .invalidHost, message: "unterminated IPv6 address")
            }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw ParseError(code: .invalidHost, message: "unexpected text after the IPv6 address") }
                port = try parsePort(after.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = String(rest[..<colon])
            port = try parsePort(rest[rest.index(after: colon)...])
        } else {
            host = String(rest)
        }
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_" || $0 == ":" || $0 == "%" }) else {
            throw ParseError(code: .invalidHost, message: "missing or invalid host name")
        }
        return RedisAddress(endpoint: .tcp(host: host, port: port), user: user, password: password, database: database)
    }

    private static func parsePort(_ text: Substring) throws(ParseError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else {
            throw ParseError(code: .invalidPort, message: "the port must be a number from 1 to 65535")
        }
        return port
    }

    private static func percentDecoded(_ text: Substring) throws(ParseError) -> String {
        guard let decoded = PercentEncoding.decoded(text.utf8) else {
            throw ParseError(code: .invalidEncoding, message: "invalid percent-encoding in the address's user or password")
        }
        return decoded
    }
}
