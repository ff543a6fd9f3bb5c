/// One setting, settable by flag (`--timing-log.path`), by YAML key (`timing-log: {path: …}` or
/// `timing-log.path: …`) and optionally by environment variable. Flags win over the environment,
/// which wins over the file.
public struct ConfigurationKey: Sendable {
    public enum Kind: Sendable, Equatable {
        case string
        /// Repeatable flag; a YAML list.
        case strings
        case bool
        case int
        case double
        /// `250ms`, `5s`, `1m30s`, as Prometheus writes durations; a bare number means seconds.
        case duration
        /// Comma-separated on the command line; a YAML list of numbers.
        case doubles
        /// Config file only: a list of mappings, each setting the keys named here (relative to the
        /// key's parent, `path` for `timing-log.path`) for one of several inputs.
        case inputs(keys: [String])
    }

    public let name: String
    public let kind: Kind
    public let help: String
    public let defaultValue: ConfigurationValue?
    /// Environment variables read when neither a flag nor the file sets the key, first match wins.
    public let environment: [String]
    /// Secrets are never printed, not even in `check-config`.
    public let isSecret: Bool

    public init(_ name: String, _ kind: Kind, default defaultValue: ConfigurationValue? = nil, environment: [String] = [], secret: Bool = false, help: String) {
        self.name = name
        self.kind = kind
        self.help = help
        self.defaultValue = defaultValue
        self.environment = environment
        self.isSecret = secret
    }
}

public enum ConfigurationValue: Sendable, Equatable, CustomStringConvertible {
    case string(String)
    case strings([String])
    case bool(Bool)
    case int(Int)
    case double(Double)
    case duration(Duration)
    case doubles([Double])
    /// One mapping of full key names to values per input.
    case inputs([[String: ConfigurationValue]])

    public var description: String {
        switch self {
        case .string(let s): s
        case .strings(let list): list.joined(separator: ",")
        case .bool(let b): String(b)
        case .int(let i): String(i)
        case .double(let d): String(d)
        case .duration(let d): DurationParser.format(d)
        case .doubles(let list): list.map { SampleValue.format($0) }.joined(separator: ",")
        case .inputs(let inputs):
            inputs.map { "{" + $0.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "}" }.joined(separator: ",")
        }
    }
}

/// A configuration problem, reported as one line that names the key. The CLI exits with status 2.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Sendable, Hashable {
        private enum Base { case unknownKey, invalidValue, missingValue, unreadableFile, invalidFile }
        private let base: Base
        public static let unknownKey = Code(base: .unknownKey)
        public static let invalidValue = Code(base: .invalidValue)
        public static let missingValue = Code(base: .missingValue)
        public static let unreadableFile = Code(base: .unreadableFile)
        public static let invalidFile = Code(base: .invalidFile)
    }

    public let code: Code
    public let key: String
    public let message: String

    public init(_ code: Code, key: String, _ message: String) {
        self.code = code
        self.key = key
        self.message = message
    }

    public var description: String { "\(key): \(message)" }
}
