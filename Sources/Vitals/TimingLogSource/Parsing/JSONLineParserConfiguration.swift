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

        public init(
            methodField: String = "method",
            pathField: String = "path",
            statusField: String? = "status",
            durationField: String = "duration_ms",
            durationUnit: DurationUnit = .milliseconds
        ) {
            self.methodField = methodField
            self.pathField = pathField
            self.statusField = statusField
            self.durationField = durationField
            self.durationUnit = durationUnit
        }
    }
}
