/// Resolves settings from flags, environment and a YAML file against the declared keys.
public struct ConfigurationLoader: Sendable {
    public let keys: [ConfigurationKey]
    private let byName: [String: ConfigurationKey]

    public init(keys: [ConfigurationKey]) {
        self.keys = keys
        self.byName = Dictionary(keys.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// - Parameters:
    ///   - flags: `(key, value)` pairs in command-line order; a repeatable key accumulates.
    ///   - file: the YAML text and its name for messages.
    public func load(flags: [(String, String)], environment: [String: String], file: (name: String, contents: String)?) throws(ConfigurationError) -> ConfigurationValues {
        var values: [String: (value: ConfigurationValue, origin: ConfigurationValues.Origin)] = [:]

        if let file {
            for (name, raw) in try parseYAML(file.contents, fileName: file.name) {
                values[name] = (try convert(raw, for: try key(name, context: file.name)), .file)
            }
        }
        for key in keys where !key.environment.isEmpty {
            for variable in key.environment {
                guard let raw = environment[variable], !raw.isEmpty else { continue }
                let parts: [String] = (key.kind == .strings || key.kind == .doubles)
                    ? raw.split(separator: ",").map { String($0).trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
                    : [raw]
                values[key.name] = (try convert(.list(parts), for: key, context: "environment variable \(variable)"), .environment)
                break
            }
        }
        var fromFlags: [String: [String]] = [:]
        var flagOrder: [String] = []
        for (name, raw) in flags {
            if case .inputs = try key(name, context: "flag").kind {
                throw ConfigurationError(.invalidValue, key: name, "is a list of mappings and can only be set in the file given with --config.file")
            }
            if fromFlags[name] == nil { flagOrder.append(name) }
            fromFlags[name, default: []].append(raw)
        }
        for name in flagOrder {
            let key = byName[name]!
            let raws = fromFlags[name]!
            switch key.kind {
            case .strings, .doubles:
                values[name] = (try convert(.list(raws), for: key), .flag)
            default:
                values[name] = (try convert(.scalar(raws.last!), for: key), .flag)
            }
        }
        return ConfigurationValues(keys: keys, values: values)
    }

    private func key(_ name: String, context: String) throws(ConfigurationError) -> ConfigurationKey {
        guard let key = byName[name] else {
            let hint = byName.keys.min { editDistance($0, name) < editDistance($1, name) }
            let suggestion = hint.map { editDistance($0, name) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""
            throw ConfigurationError(.unknownKey, key: name, "unknown \(context == "flag" ? "flag" : "key in \(context)")\(suggestion)")
        }
        return key
    }

    enum Raw {
        case scalar(String)
        case list([String])
        /// Each input's settings, flattened to full key names.
        case inputs([[(String, Raw)]])
    }

    private func convert(_ raw: Raw, for key: ConfigurationKey, context: String? = nil) throws(ConfigurationError) -> ConfigurationValue {
        func fail(_ message: String) -> ConfigurationError {
            ConfigurationError(.invalidValue, key: key.name, message + (context.map { " (from \($0))" } ?? ""))
        }
        let items: [String]
        switch raw {
        case .scalar(let s): items = [s]
        case .list(let list): items = list
        case .inputs(let inputs):
            guard case .inputs = key.kind else { throw fail("expects a value, not a list of mappings") }
            var converted: [[String: ConfigurationValue]] = []
            for input in inputs {
                var values: [String: ConfigurationValue] = [:]
                for (name, raw) in input {
                    values[name] = try convert(raw, for: try self.key(name, context: context ?? "an input"), context: context)
                }
                converted.append(values)
            }
            return .inputs(converted)
        }
        switch key.kind {
        case .inputs:
            throw fail("expects a list of mappings, one per input")
        case .strings:
            return .strings(items)
        case .doubles:
            var numbers: [Double] = []
            for item in items {
                for part in item.split(separator: ",") {
                    guard let number = Double(String(part).trimmingCharacters(in: " \t")), number.isFinite else {
                        throw fail("'\(part)' is not a number")
                    }
                    numbers.append(number)
                }
            }
            return .doubles(numbers)
        default:
            guard items.count == 1, let item = items.first else { throw fail("expects a single value, not a list") }
            switch key.kind {
            case .string:
                return .string(item)
            case .bool:
                switch item.lowercased() {
                case "true", "yes", "1", "on": return .bool(true)
                case "false", "no", "0", "off": return .bool(false)
                default: throw fail("'\(item)' is not a boolean (true or false)")
                }
            case .int:
                guard let number = Int(item) else { throw fail("'\(item)' is not an integer") }
                return .int(number)
            case .double:
                guard let number = Double(item), number.isFinite else { throw fail("'\(item)' is not a number") }
                return .double(number)
            case .duration:
                guard let duration = DurationParser.parse(item) else { throw fail("'\(item)' is not a duration (e.g. 200ms, 5s, 1m)") }
                return .duration(duration)
            case .strings, .doubles, .inputs:
                preconditionFailure("handled above")
            }
        }
    }

    /// Flattens nested maps into dotted keys: `timing-log: {path: x}` and `timing-log.path: x` are the same.
    private func parseYAML(_ text: String, fileName: String) throws(ConfigurationError) -> [(String, Raw)] {
        let document: YAMLTree
        do {
            document = try YAMLTree.parse(text)
        } catch {
            throw ConfigurationError(.invalidFile, key: fileName, "is not valid YAML: \(error.message)")
        }
        let root: [(key: String, value: YAMLTree)]
        switch document {
        case .null: return []
        case .mapping(let pairs): root = pairs
        default: throw ConfigurationError(.invalidFile, key: fileName, "must be a mapping of keys to values")
        }
        var result: [(String, Raw)] = []
        func walk(_ map: [(key: String, value: YAMLTree)], prefix: String) throws(ConfigurationError) {
            for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                let path = prefix.isEmpty ? name : prefix + "." + name
                switch value {
                case .mapping(let nested):
                    guard byName.keys.contains(where: { $0.hasPrefix(path + ".") }) else {
                        _ = try key(path, context: fileName)
                        throw ConfigurationError(.invalidValue, key: path, "expects a value, not a mapping (in \(fileName))")
                    }
                    try walk(nested, prefix: path)
                case .list(let list):
                    let listKey = try key(path, context: fileName)
                    if case .inputs(let allowed) = listKey.kind {
                        result.append((path, .inputs(try inputs(list, key: path, allowed: allowed, fileName: fileName))))
                        continue
                    }
                    var items: [String] = []
                    for element in list {
                        guard case .scalar(let scalar) = element else {
                            throw ConfigurationError(.invalidValue, key: path, "list items must be plain values (in \(fileName))")
                        }
                        items.append(scalar)
                    }
                    result.append((path, .list(items)))
                case .scalar(let scalar):
                    _ = try key(path, context: fileName)
                    result.append((path, .scalar(scalar)))
                case .null:
                    _ = try key(path, context: fileName)
                    throw ConfigurationError(.invalidValue, key: path, "has no value (in \(fileName))")
                }
            }
        }
        try walk(root, prefix: "")
        return result
    }

    /// The entries of an inputs list: each a mapping (nested or dotted) of keys from `allowed`,
    /// named relative to the list key's parent (`path` under `timing-log.inputs` is `timing-log.path`).
    private func inputs(_ list: [YAMLTree], key listName: String, allowed: [String], fileName: String) throws(ConfigurationError) -> [[(String, Raw)]] {
        let parent = listName.split(separator: ".").dropLast().joined(separator: ".")
        var entries: [[(String, Raw)]] = []
        for (index, element) in list.enumerated() {
            let context = "\(listName)[\(index)]"
            guard case .mapping(let pairs) = element else {
                throw ConfigurationError(.invalidValue, key: context, "must be a mapping such as {path: /var/log/nginx/access.log, format: nginx} (in \(fileName))")
            }
            var entry: [(String, Raw)] = []
            func walk(_ map: [(key: String, value: YAMLTree)], prefix: String) throws(ConfigurationError) {
                for (name, value) in map.sorted(by: { $0.key < $1.key }) {
                    let relative = prefix.isEmpty ? name : prefix + "." + name
                    if case .mapping(let nested) = value {
                        try walk(nested, prefix: relative)
                        continue
                    }
                    guard allowed.contains(relative) else {
                        throw ConfigurationError(
                            .unknownKey, key: "\(context).\(relative)",
                            "is not a key of an input (in \(fileName)); an input sets \(allowed.joined(separator: ", "))")
                    }
                    let full = parent.isEmpty ? relative : parent + "." + relative
                    switch value {
                    case .scalar(let scalar): entry.append((full, .scalar(scalar)))
                    case .list(let items):
                        var scalars: [String] = []
                        for item in items {
                            guard case .scalar(let scalar) = item else {
                                throw ConfigurationError(.invalidValue, key: "\(context).\(relative)", "list items must be plain values (in \(fileName))")
                            }
                            scalars.append(scalar)
                        }
                        entry.append((full, .list(scalars)))
                    case .null:
                        throw ConfigurationError(.invalidValue, key: "\(context).\(relative)", "has no value (in \(fileName))")
                    case .mapping:
                        preconditionFailure("walked above")
                    }
                }
            }
            try walk(pairs, prefix: "")
            entries.append(entry)
        }
        return entries
    }

}

func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a.utf8), b = Array(b.utf8)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = previous
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}
