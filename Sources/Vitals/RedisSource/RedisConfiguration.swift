#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The Redis source's settings, validated. The source is off unless `redis.addr` is set.
public struct RedisConfiguration: Sendable {
    /// One server to collect from, with the credentials to use.
    public struct Target: Sendable, Equatable {
        public var address: RedisAddress
        public var user: String?
        public var password: String?
        /// `host:port` or the socket path: the `target` label and the source's `instance`.
        public var label: String { address.label }
    }

    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "redis.addr", .strings, environment: ["REDIS_ADDR"], secret: true,
            help: "Redis server: redis://host:port, redis://user:pass@host:port, rediss://host:port (TLS) or unix:///path; repeatable. The source is off without it."),
        ConfigurationKey("redis.user", .string, environment: ["REDIS_USER"], help: "ACL user name (Redis 6+); default: the address's, else none."),
        ConfigurationKey(
            "redis.password", .string, environment: ["REDIS_PASSWORD"], secret: true,
            help: "Password for AUTH; an address's own password wins."),
        ConfigurationKey(
            "redis.password-file", .string, environment: ["REDIS_PASSWORD_FILE"],
            help: "File holding the password (trimmed), instead of redis.password."),
        ConfigurationKey(
            RedisProbeTarget.fileKey, .string,
            help: "YAML file of auth_modules (type userpass; username optional, password) for /scrape?auth_module=NAME; re-read on SIGHUP."),
        ConfigurationKey(
            "redis.interval", .duration, default: .duration(.seconds(15)),
            help: "How often to collect; scrapes read the latest collection and never wait on Redis."),
        ConfigurationKey(
            "redis.timeout", .duration, default: .duration(.seconds(5)),
            help: "Deadline of one collection (connect and every command); past it redis_up is 0 with reason timeout."),
        ConfigurationKey(
            "redis.config-interval", .duration, default: .duration(.seconds(300)),
            help: "How often to re-read maxmemory and maxclients with CONFIG GET."),
        ConfigurationKey(
            "redis.max-label-values", .int, default: .int(200),
            help: "Distinct cmd, err (and slowlog cmd) label values kept; further ones count under \"__other__\"."),
    ] + RedisTLSSettings.keys

    public var targets: [Target]
    public var interval: Duration
    public var timeout: Duration
    public var configInterval: Duration
    public var maxLabelValues: Int
    /// The `--redis.tls-*` settings when a target is `rediss://` (the defaults if no flag is set);
    /// nil when no target uses TLS. Their files are read by ``RedisTLSSettings/makeContext()``.
    public var tls: RedisTLSSettings?

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        let password = try Self.password(values: values)
        let user = values.string("redis.user").flatMap { $0.isEmpty ? nil : $0 }
        var targets: [Target] = []
        for text in values.strings("redis.addr") {
            let address: RedisAddress
            do {
                address = try RedisAddress.parse(text)
            } catch {
                // The message never echoes the address: it may hold a password.
                throw ConfigurationError(.invalidValue, key: "redis.addr", error.message)
            }
            targets.append(Target(address: address, user: address.user ?? user, password: address.password ?? password))
        }
        let labels = targets.map(\.label)
        if Set(labels).count != labels.count {
            throw ConfigurationError(.invalidValue, key: "redis.addr", "the same server is listed twice")
        }
        guard targets.count <= 64 else {
            throw ConfigurationError(.invalidValue, key: "redis.addr", "at most 64 servers")
        }
        self.targets = targets

        let tlsSettings = try RedisTLSSettings(values: values)
        if targets.contains(where: \.address.tls) {
            tls = tlsSettings ?? RedisTLSSettings()
        } else if tlsSettings != nil, !targets.isEmpty {
            throw ConfigurationError(.invalidValue, key: "redis.addr", "the redis.tls-* settings need a rediss:// address (redis:// is plain text)")
        }

        interval = values.duration("redis.interval") ?? .seconds(15)
        guard interval >= .milliseconds(50) else {
            throw ConfigurationError(.invalidValue, key: "redis.interval", "must be at least 50ms")
        }
        timeout = values.duration("redis.timeout") ?? .seconds(5)
        guard timeout >= .milliseconds(10), timeout <= .seconds(300) else {
            throw ConfigurationError(.invalidValue, key: "redis.timeout", "must be between 10ms and 5m")
        }
        configInterval = values.duration("redis.config-interval") ?? .seconds(300)
        guard configInterval >= interval else {
            throw ConfigurationError(.invalidValue, key: "redis.config-interval", "must not be shorter than redis.interval")
        }
        maxLabelValues = values.int("redis.max-label-values") ?? 200
        guard (1...10_000).contains(maxLabelValues) else {
            throw ConfigurationError(.invalidValue, key: "redis.max-label-values", "must be between 1 and 10000")
        }
    }

    private static func password(values: ConfigurationValues) throws(ConfigurationError) -> String? {
        let direct = values.string("redis.password").flatMap { $0.isEmpty ? nil : $0 }
        guard let path = values.string("redis.password-file"), !path.isEmpty else { return direct }
        guard direct == nil else {
            throw ConfigurationError(.invalidValue, key: "redis.password-file", "set either redis.password or redis.password-file, not both")
        }
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.unreadableFile, key: "redis.password-file", "cannot read '\(path)'")
        }
        let trimmed = text.trimmingCharacters(in: .spaceTabAndNewlines)
        guard !trimmed.isEmpty else {
            throw ConfigurationError(.invalidValue, key: "redis.password-file", "'\(path)' is empty")
        }
        return trimmed
    }
}
