import Yams

/// A YAML document as the configuration needs it: scalars as their text, lists, and mappings whose
/// keys are plain scalars.
///
/// Built from Yams' node tree rather than `Yams.load`, whose untyped constructor traps on a mapping
/// with a non-scalar key (found by fuzzing `? {…}: x`): a configuration file must never crash vitals.
/// Node count is bounded so alias expansion ("billion laughs") cannot exhaust memory.
indirect enum YAMLTree: Equatable {
    case scalar(String)
    case list([YAMLTree])
    case mapping([(key: String, value: YAMLTree)])
    case null

    struct Problem: Error {
        var message: String
    }

    static let maximumNodes = 100_000
    static let maximumBytes = 1 << 20

    static func parse(_ text: String) throws(Problem) -> YAMLTree {
        guard text.utf8.count <= maximumBytes else { throw Problem(message: "larger than 1 MiB") }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Problem(message: Self.describe(error))
        } catch {
            throw Problem(message: "syntax error")
        }
        guard let node else { return .null }
        var budget = maximumNodes
        return try convert(node, budget: &budget)
    }

    private static func convert(_ node: Node, budget: inout Int) throws(Problem) -> YAMLTree {
        budget -= 1
        guard budget >= 0 else { throw Problem(message: "more than \(maximumNodes) nodes (alias expansion?)") }
        switch node {
        case .scalar(let scalar):
            if scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string) {
                return .null
            }
            return .scalar(scalar.string)
        case .sequence(let sequence):
            var items: [YAMLTree] = []
            for element in sequence { items.append(try convert(element, budget: &budget)) }
            return .list(items)
        case .mapping(let mapping):
            var pairs: [(key: String, value: YAMLTree)] = []
            for (key, value) in mapping {
                guard case .scalar(let scalarKey) = key else { throw Problem(message: "a mapping key is not a plain value") }
                pairs.append((scalarKey.string, try convert(value, budget: &budget)))
            }
            return .mapping(pairs)
        case .alias:
            throw Problem(message: "aliases are not supported")
        }
    }

    /// Keeps only the position: Yams' description quotes the offending line, which may hold a secret.
    private static func describe(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            "\(problem) at line \(mark.line), column \(mark.column)"
        default:
            "syntax error"
        }
    }

    static func == (lhs: YAMLTree, rhs: YAMLTree) -> Bool {
        switch (lhs, rhs) {
        case (.scalar(let a), .scalar(let b)): a == b
        case (.list(let a), .list(let b)): a == b
        case (.mapping(let a), .mapping(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case (.null, .null): true
        default: false
        }
    }
}
