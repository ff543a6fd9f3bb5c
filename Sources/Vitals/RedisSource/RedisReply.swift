/// A RESP2 reply copied out of hiredis' `redisReply`, so nothing C-owned escapes the connection.
public enum RedisReply: Sendable, Equatable {
    /// Bulk and status strings (binary-safe in RESP; decoded as UTF-8 with replacement here).
    case string(String)
    case integer(Int64)
    case array([RedisReply])
    case null
    /// An error reply: the server answered, but refused the command.
    case error(String)

    public var string: String? {
        switch self {
        case .string(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    public var integer: Int64? {
        switch self {
        case .integer(let value): value
        case .string(let text): Int64(text)
        default: nil
        }
    }

    public var array: [RedisReply]? {
        if case .array(let items) = self { return items }
        return nil
    }
}

/// What an error reply means for vitals: the few kinds that change what it does next.
public enum RedisErrorReplyKind: Sendable, Equatable {
    /// `ERR unknown command`, `ERR unknown subcommand`, a renamed-away command, a managed service's
    /// block (`ERR command not allowed`): the command will never work on this connection.
    case unsupported
    /// `NOPERM`: the ACL user may not run it; equally permanent for this connection.
    case noPermission
    /// `NOAUTH`, `WRONGPASS`, `ERR invalid password`, `ERR AUTH … called without any password configured`.
    case authentication
    /// `BUSY`: a script or function runs past `busy-reply-threshold`; clears when it ends or is killed.
    case busy
    /// `LOADING`: the dataset is being loaded after a start.
    case loading
    case other

    public init(reply message: String) {
        let prefix = message.prefix { $0 != " " }
        switch prefix {
        case "NOPERM": self = .noPermission
        case "NOAUTH", "WRONGPASS": self = .authentication
        case "BUSY", "BUSYSCRIPT": self = .busy
        case "LOADING": self = .loading
        case "ERR":
            let rest = message.dropFirst(4).lowercased()
            if rest.hasPrefix("unknown command") || rest.hasPrefix("unknown subcommand") || rest.contains("not allowed")
                || rest.contains("not supported") || rest.contains("disabled")
            {
                self = .unsupported
            } else if rest.hasPrefix("invalid password") || rest.contains("without any password configured") {
                self = .authentication
            } else {
                self = .other
            }
        default:
            self = .other
        }
    }

    /// Whether the server will refuse this command for the rest of the connection.
    public var isPermanentRefusal: Bool { self == .unsupported || self == .noPermission }
}

/// One `SLOWLOG GET` entry. Arguments are never kept: they are user data (keys, values).
public struct RedisSlowlogEntry: Sendable, Equatable {
    public var id: Int64
    public var timestamp: Int64
    public var durationMicroseconds: Int64
    /// The command name, lower case (`get`, `eval`); subcommands are not split off.
    public var command: String

    public init(id: Int64, timestamp: Int64, durationMicroseconds: Int64, command: String) {
        self.id = id
        self.timestamp = timestamp
        self.durationMicroseconds = durationMicroseconds
        self.command = command
    }

    /// Parses the reply to `SLOWLOG GET n`: newest first, `[id, time, usec, [args…], addr, name]`
    /// (the last two since Redis 4). Malformed entries are skipped.
    public static func parse(_ reply: RedisReply) -> [RedisSlowlogEntry]? {
        guard let items = reply.array else { return nil }
        return items.compactMap { item in
            guard let fields = item.array, fields.count >= 4, let id = fields[0].integer, let timestamp = fields[1].integer,
                let usec = fields[2].integer, let arguments = fields[3].array
            else { return nil }
            let command = arguments.first?.string.map { String($0.lowercased().prefix(64)) } ?? ""
            return RedisSlowlogEntry(id: id, timestamp: timestamp, durationMicroseconds: usec, command: command)
        }
    }
}

/// One `LATENCY LATEST` row: `[event, unix time of the latest spike, latest ms, all-time max ms]`.
public struct RedisLatencySpike: Sendable, Equatable {
    public var event: String
    public var timestamp: Double
    public var latestMilliseconds: Double
    public var maxMilliseconds: Double

    public static func parse(_ reply: RedisReply) -> [RedisLatencySpike]? {
        guard let items = reply.array else { return nil }
        return items.compactMap { item in
            guard let fields = item.array, fields.count >= 3, let event = fields[0].string, let time = fields[1].integer,
                let latest = fields[2].integer
            else { return nil }
            let max = fields.count > 3 ? fields[3].integer ?? latest : latest
            return RedisLatencySpike(event: String(event.prefix(64)), timestamp: Double(time), latestMilliseconds: Double(latest), maxMilliseconds: Double(max))
        }
    }
}

/// The settings read with `CONFIG GET` (a flat `[name, value, name, value…]` array).
public struct RedisConfigValues: Sendable, Equatable {
    public var maxmemory: Double?
    public var maxclients: Double?

    public init(maxmemory: Double? = nil, maxclients: Double? = nil) {
        self.maxmemory = maxmemory
        self.maxclients = maxclients
    }

    public mutating func absorb(_ reply: RedisReply) {
        guard let items = reply.array else { return }
        var index = 0
        while index + 1 < items.count {
            let name = items[index].string?.lowercased()
            let value = items[index + 1].string.flatMap(Double.init)
            switch name {
            case "maxmemory": maxmemory = value
            case "maxclients": maxclients = value
            default: break
            }
            index += 2
        }
    }
}
