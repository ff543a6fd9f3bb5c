/// The resolved settings: typed accessors over flags, environment, file and defaults.
public struct ConfigurationValues: Sendable {
    public enum Origin: String, Sendable {
        case flag, environment, file, `default`
    }

    public let keys: [String: ConfigurationKey]
    private var values: [String: (value: ConfigurationValue, origin: Origin)]

    init(keys: [ConfigurationKey], values: [String: (value: ConfigurationValue, origin: Origin)]) {
        self.keys = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        self.values = values
    }

    /// For tests and `replay`: settings given directly, validated like flags.
    public static func make(keys: [ConfigurationKey], _ settings: [String: String] = [:]) throws(ConfigurationError) -> ConfigurationValues {
        try ConfigurationLoader(keys: keys).load(flags: settings.map { ($0.key, $0.value) }, environment: [:], file: nil)
    }

    public func value(_ name: String) -> ConfigurationValue? {
        values[name]?.value ?? keys[name]?.defaultValue
    }

    public func origin(_ name: String) -> Origin? {
        values[name]?.origin ?? (keys[name]?.defaultValue != nil ? .default : nil)
    }

    public func isSet(_ name: String) -> Bool { values[name] != nil }

    public func inputs(_ name: String) -> [[String: ConfigurationValue]] {
        if case .inputs(let inputs)? = value(name) { return inputs }
        return []
    }

    /// These values with one input's settings on top (an input inherits what it does not set).
    public func overlaid(with settings: [String: ConfigurationValue]) -> ConfigurationValues {
        var copy = self
        for (name, value) in settings { copy.values[name] = (value, .file) }
        return copy
    }

    public func string(_ name: String) -> String? {
        if case .string(let s)? = value(name) { return s }
        return nil
    }

    public func strings(_ name: String) -> [String] {
        switch value(name) {
        case .strings(let list)?: list
        case .string(let s)?: [s]
        default: []
        }
    }

    public func bool(_ name: String) -> Bool {
        if case .bool(let b)? = value(name) { return b }
        return false
    }

    public func int(_ name: String) -> Int? {
        if case .int(let i)? = value(name) { return i }
        return nil
    }

    public func double(_ name: String) -> Double? {
        if case .double(let d)? = value(name) { return d }
        return nil
    }

    public func duration(_ name: String) -> Duration? {
        if case .duration(let d)? = value(name) { return d }
        return nil
    }

    public func doubles(_ name: String) -> [Double] {
        if case .doubles(let list)? = value(name) { return list }
        return []
    }

    /// Every key with its effective value, secrets masked: what `check-config` prints.
    public func describe() -> [(key: String, value: String, origin: Origin)] {
        keys.keys.sorted().compactMap { name in
            guard let value = value(name), let origin = origin(name) else { return nil }
            let shown = keys[name]?.isSecret == true ? "<secret>" : value.description
            return (name, shown, origin)
        }
    }
}
