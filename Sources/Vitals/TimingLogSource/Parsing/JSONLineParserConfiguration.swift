extension JSONLineParser {
    /// Which top-level keys of a JSON log line hold the request's fields.
    ///
    /// Structured loggers disagree on names (`duration_ms`, `latency`, `elapsed`, …), so every
    /// key is configurable; the defaults match the most common middleware output.
    public struct Configuration: Sendable, Hashable {
        public var methodField: String
        public var pathField: String
        /// `nil` when the lines carry no status; records then have none and `hasStatus` is false.
        public var statusField: String?
        public var durationField: String
        public var durationUnit: DurationUnit
        /// When set, a field such as `request.method` names a key inside a nested object
        /// (Caddy's access log); when `nil`, every field is one top-level key, dots included.
        public var keyPathSeparator: UInt8?

        public init(
            methodField: String = "method",
            pathField: String = "path",
            statusField: String? = "status",
            durationField: String = "duration_ms",
            durationUnit: DurationUnit = .milliseconds,
            keyPathSeparator: UInt8? = nil
        ) {
            self.methodField = methodField
            self.pathField = pathField
            self.statusField = statusField
            self.durationField = durationField
            self.durationUnit = durationUnit
            self.keyPathSeparator = keyPathSeparator
        }
    }
}

extension JSONLineParser.Configuration {
    /// Caddy's JSON access log (`log { format json }`): the request is a nested object and
    /// `duration` is in seconds.
    public static let caddy = Self(
        methodField: "request.method", pathField: "request.uri", statusField: "status", durationField: "duration",
        durationUnit: .seconds, keyPathSeparator: UInt8(ascii: "."))

    /// Traefik's access log with `format: json`: flat keys, `Duration` in nanoseconds, and
    /// `DownstreamStatus` the status the client received (`OriginStatus` is the backend's).
    public static let traefik = Self(
        methodField: "RequestMethod", pathField: "RequestPath", statusField: "DownstreamStatus", durationField: "Duration",
        durationUnit: .nanoseconds)
}
