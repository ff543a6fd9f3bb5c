/// Settings of the event-loop-lag probe and the optional application probe.
public struct EventLoopConfiguration: Sendable {
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "event-loop.interval", .duration, default: .duration(.seconds(15)),
            help: "How often a timer fires on one of vitals' event loops, taking them in turn, to measure their lag; 0 turns the probe off."),
        ConfigurationKey(
            "event-loop.window", .duration, default: .duration(.seconds(60)), help: "The window of vitals_event_loop_lag_max_seconds."),
        ConfigurationKey(
            "app-probe.url", .string,
            help: "An http:// URL of a cheap application endpoint (such as /health) to time every interval; off when empty."),
        ConfigurationKey(
            "app-probe.interval", .duration, default: .duration(.milliseconds(100)),
            help: "How often the application probe runs; a block of the application's loop as long as this is always met by a probe."),
        ConfigurationKey(
            "app-probe.timeout", .duration,
            help: "How long one application probe may take (default: 10 intervals, at most 1s)."),
    ]

    public var interval: Duration
    public var window: Duration
    public var probeURL: ProbeURL?
    public var probeInterval: Duration
    public var probeTimeout: Duration
    public static let defaultProbeInterval: Duration = .milliseconds(100)

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        // 15 s: a probe that fires on its own wakes the loop, and one wake costs about 120 µs of
        // CPU on a 2-core VM, most of it NIO's and the kernel's, not the probe's (BENCHMARKS.md "Cost
        // to run"). At 15 s its timer ends on the grid point the 15 s passes and findings already wake
        // for, so the probe adds no wake-up of its own. vitals' loops never run blocking work, so this
        // is a check that stays true, not a hunt for rare blocks: a block as long as the loops'
        // rotation is always seen, a shorter one in proportion.
        interval = values.duration("event-loop.interval") ?? .seconds(15)
        guard interval == .zero || interval >= .milliseconds(10) else {
            throw ConfigurationError(.invalidValue, key: "event-loop.interval", "must be 0 (off) or at least 10ms")
        }
        window = values.duration("event-loop.window") ?? .seconds(60)  // four probes
        guard window >= interval, window <= .seconds(3600) else {
            throw ConfigurationError(.invalidValue, key: "event-loop.window", "must be between the interval and 1h")
        }
        // 100 ms: a probe meets every block of the application's loop that long, so the 100 ms
        // blocks an asyncio app notices are seen (at 1 s, nine in ten fell between probes). Its
        // cost is one trivial request per interval (BENCHMARKS.md, "The application probe").
        probeInterval = values.duration("app-probe.interval") ?? Self.defaultProbeInterval
        guard probeInterval >= .milliseconds(20) else {
            throw ConfigurationError(.invalidValue, key: "app-probe.interval", "must be at least 20ms")
        }
        // Derived unless set, so changing the interval alone is never refused.
        probeTimeout = values.duration("app-probe.timeout") ?? min(.seconds(1), probeInterval * 10)
        guard probeTimeout > .zero, probeTimeout <= probeInterval * 10 else {
            throw ConfigurationError(.invalidValue, key: "app-probe.timeout", "must be positive and at most 10 intervals")
        }
        if let text = values.string("app-probe.url"), !text.isEmpty {
            guard let url = ProbeURL(text) else {
                throw ConfigurationError(
                    .invalidValue, key: "app-probe.url", "'\(text)' is not an http://host[:port]/path URL (https is not supported)")
            }
            probeURL = url
        }
    }
}

/// An `http://host[:port]/path` URL, parsed without Foundation so it is cheap and predictable.
public struct ProbeURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Path and query, as sent in the request line.
    public var target: String

    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        target = authorityEnd == rest.endIndex ? "/" : String(rest[authorityEnd...])
        if target.hasPrefix("?") { target = "/" + target }
        guard !target.contains(" "), !target.contains("\r"), !target.contains("\n") else { return nil }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = 80
            } else {
                guard after.hasPrefix(":"), let number = Int(after.dropFirst()), (1...65535).contains(number) else { return nil }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { return nil }
    }

    public var description: String {
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(target)"
    }
}
