#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How much the HTTP listener lets its clients take: connections, time and request size.
///
/// The defaults are far beyond what a Prometheus scraping every second needs (one connection,
/// a request every second, no body), and far below what a hostile client would need to starve
/// the sources of descriptors or hold connections open forever.
public struct ListenerLimits: Sendable, Equatable {
    /// Connections open at once; beyond it the oldest idle connection is closed, or the new one
    /// when every open connection is busy with a request.
    public var maxConnections: Int
    /// From accept to a completed TLS handshake (TLS only).
    public var tlsHandshakeTimeout: Duration
    /// From a request's first byte to the end of its header (and of its body, if any).
    public var headerTimeout: Duration
    /// A connection with no request in progress is closed after this long; so is one whose
    /// response is not written (read by the client) within this long.
    public var idleTimeout: Duration
    /// Request bodies larger than this close the connection (vitals reads no body).
    public var maxRequestBodySize: Int

    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "web.max-connections", .int, default: .int(0),
            help:
                "Connections served at once; past it the oldest idle connection is closed, or the new one if all are busy. 0: min(512, half the descriptor limit)."
        ),
        ConfigurationKey(
            "web.tls-handshake-timeout", .duration, default: .duration(.seconds(10)),
            help: "Close a connection whose TLS handshake is not done within this time."),
        ConfigurationKey(
            "web.header-timeout", .duration, default: .duration(.seconds(10)),
            help: "Close a connection whose request (header and body) is not complete this long after its first byte."),
        ConfigurationKey(
            "web.idle-timeout", .duration, default: .duration(.seconds(120)),
            help: "Close a connection that has had no request in progress for this long (keep-alive, or nothing sent at all), or whose response the client has not read within this long."),
        ConfigurationKey(
            "web.max-request-body", .int, default: .int(4096),
            help: "Largest request body in bytes; a larger one closes the connection (vitals reads no body)."),
    ]

    public init(maxConnections: Int, tlsHandshakeTimeout: Duration, headerTimeout: Duration, idleTimeout: Duration, maxRequestBodySize: Int) {
        self.maxConnections = maxConnections
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.maxRequestBodySize = maxRequestBodySize
    }

    /// Reads the `web.*` limit keys; `descriptorLimit` is the soft limit in force (after raising it).
    init(values: ConfigurationValues, descriptorLimit: Int) throws(ConfigurationError) {
        let configured = values.int("web.max-connections") ?? 0
        guard configured >= 0 else {
            throw ConfigurationError(.invalidValue, key: "web.max-connections", "must be 0 (automatic) or more")
        }
        maxConnections = configured > 0 ? configured : Self.defaultMaxConnections(descriptorLimit: descriptorLimit)
        func positive(_ key: String) throws(ConfigurationError) -> Duration {
            guard let value = values.duration(key), value > .zero else {
                throw ConfigurationError(.invalidValue, key: key, "must be a positive duration")
            }
            return value
        }
        tlsHandshakeTimeout = try positive("web.tls-handshake-timeout")
        headerTimeout = try positive("web.header-timeout")
        idleTimeout = try positive("web.idle-timeout")
        maxRequestBodySize = values.int("web.max-request-body") ?? 4096
        guard maxRequestBodySize >= 0 else {
            throw ConfigurationError(.invalidValue, key: "web.max-request-body", "must be 0 or more")
        }
    }

    /// Half the descriptors go to the listener at most, the other half stays for the sources'
    /// connections, log files, inotify and the process collector's reads of /proc.
    static func defaultMaxConnections(descriptorLimit: Int) -> Int {
        max(1, min(512, descriptorLimit / 2))
    }
}

/// `RLIMIT_NOFILE`: Go programs (every exporter) raise the soft limit to the hard one at start,
/// so systemd's default soft 1024 does not cap a daemon that holds many connections.
enum DescriptorLimit {
    /// Raises the soft limit to the hard limit; returns the soft limit in force afterwards.
    @discardableResult
    static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { return clamp(raised.rlim_cur) }
        }
        return clamp(limit.rlim_cur)
    }

    /// The soft limit in force now.
    static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return clamp(limit.rlim_cur)
    }

    /// RLIM_INFINITY and anything past Int32 count as Int32.max.
    private static func clamp(_ value: rlim_t) -> Int {
        value > rlim_t(Int32.max) ? Int(Int32.max) : Int(value)
    }
}
