import Logging

/// The daemon's settings: the global keys plus every registered source's keys.
public struct VitalsConfiguration: Sendable {
    public static let defaultListenAddress = ":10188"

    public static let globalKeys: [ConfigurationKey] = [
        ConfigurationKey(
            "web.listen-address", .string, default: .string(defaultListenAddress),
            help: "Address to listen on for metrics and health endpoints (host:port; an empty host means all interfaces)."),
        ConfigurationKey("web.telemetry-path", .string, default: .string("/metrics"), help: "Path under which to expose metrics."),
        ConfigurationKey(
            "web.config.file", .string,
            help:
                "Prometheus exporter-toolkit web configuration (TLS certificate, key, client CA and ciphers, basic-auth users with bcrypt hashes, security headers); re-read on SIGHUP."
        ),
        ConfigurationKey(
            "web.auth-exempt-probes", .bool, default: .bool(false),
            help: "Serve /health and /ready without basic auth (for load-balancer and Kubernetes probes)."),
    ] + ListenerLimits.keys + [
        ConfigurationKey("log.level", .string, default: .string("info"), help: "Only log messages with the given severity or above: debug, info, warn, error."),
        ConfigurationKey("log.format", .string, default: .string("logfmt"), help: "Output format of log messages: logfmt or json."),
    ]

    /// Every key vitals understands, global first, then each source's in registration order.
    public static var allKeys: [ConfigurationKey] {
        globalKeys + SourceCatalog.factories.flatMap { $0.configurationKeys } + FindingsReport.keys
    }

    public let values: ConfigurationValues
    public let host: String
    public let port: Int
    public let telemetryPath: String
    public let logLevel: Logger.Level
    public let logFormat: StructuredLogHandler.Format
    public let web: WebConfiguration
    public let authExemptProbes: Bool
    public let listenerLimits: ListenerLimits

    public init(values: ConfigurationValues) throws(ConfigurationError) {
        self.values = values
        (host, port) = try Self.parseListenAddress(values.string("web.listen-address") ?? Self.defaultListenAddress)
        let path = values.string("web.telemetry-path") ?? "/metrics"
        guard path.hasPrefix("/"), path.count > 1, !path.contains(" ") else {
            throw ConfigurationError(.invalidValue, key: "web.telemetry-path", "'\(path)' must be an absolute path other than '/'")
        }
        telemetryPath = path
        switch values.string("log.level") ?? "info" {
        case "debug": logLevel = .debug
        case "info": logLevel = .info
        case "warn", "warning": logLevel = .warning
        case "error": logLevel = .error
        case let other: throw ConfigurationError(.invalidValue, key: "log.level", "'\(other)' is not one of debug, info, warn, error")
        }
        guard let format = StructuredLogHandler.Format(rawValue: values.string("log.format") ?? "logfmt") else {
            throw ConfigurationError(.invalidValue, key: "log.format", "'\(values.string("log.format") ?? "")' is not one of logfmt, json")
        }
        logFormat = format
        if let path = values.string("web.config.file"), !path.isEmpty {
            web = try WebConfiguration.load(path: path)
        } else {
            web = WebConfiguration()
        }
        authExemptProbes = values.bool("web.auth-exempt-probes")
        // The soft limit in force: `serve` raises it to the hard limit before this runs.
        listenerLimits = try ListenerLimits(values: values, descriptorLimit: DescriptorLimit.current)
    }

    /// `:10188`, `127.0.0.1:10188`, `[::1]:10188`, `localhost:0`.
    static func parseListenAddress(_ text: String) throws(ConfigurationError) -> (String, Int) {
        let fail = ConfigurationError(.invalidValue, key: "web.listen-address", "'\(text)' is not host:port")
        guard let colon = text.lastIndex(of: ":") else { throw fail }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { throw fail }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}
