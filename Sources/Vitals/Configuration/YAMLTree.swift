import CLibYAML

/// A YAML document as the configuration needs it: scalars as their text, lists, and mappings whose
/// keys are scalars.
///
/// Built from libyaml's event stream (Debian's libyaml, the parser Yams embeds) with an explicit
/// stack: a mapping with a non-scalar key (`? {…}: x`, which trapped Yams' untyped constructor
/// when fuzzed) is an error, never a crash. Node count and nesting are bounded, aliases refused,
/// and errors keep only libyaml's problem and its position, never the offending text, which may
/// hold a secret.
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
    static let maximumDepth = 64

    static func parse(_ text: String) throws(Problem) -> YAMLTree {
        var text = text
        guard text.utf8.count <= maximumBytes else { throw Problem(message: "larger than 1 MiB") }
        // libyaml reads the input while it parses: a copy that lives as long as the parser.
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(text.utf8.count, 1))
        defer { input.deallocate() }
        let count = text.withUTF8 { utf8 in
            _ = input.initialize(fromContentsOf: utf8)
            return utf8.count
        }
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw Problem(message: "out of memory") }
        defer { yaml_parser_delete(&parser) }
        yaml_parser_set_input_string(&parser, input.baseAddress, count)

        var builder = Builder()
        while true {
            var event = yaml_event_t()
            guard yaml_parser_parse(&parser, &event) == 1 else { throw Problem(message: Self.describe(parser)) }
            defer { yaml_event_delete(&event) }
            if event.type == YAML_STREAM_END_EVENT { break }
            try builder.accept(event)
        }
        return builder.root ?? .null
    }

    /// Turns events into a tree: each open list or mapping is a frame on the stack.
    private struct Builder {
        /// A struct, not an enum with payloads: `stack[top].items.append` then grows the array in
        /// place. Taking an enum's payload out and putting it back copied the whole array on every
        /// item, and a 100,000-item list took minutes.
        struct Frame {
            var isList: Bool
            var items: [YAMLTree] = []
            var pairs: [(key: String, value: YAMLTree)] = []
            /// A mapping's key whose value has not come yet.
            var key: String?
        }

        var stack: [Frame] = []
        var root: YAMLTree?
        var documents = 0
        var budget = YAMLTree.maximumNodes

        mutating func accept(_ event: yaml_event_t) throws(Problem) {
            switch event.type {
            case YAML_DOCUMENT_START_EVENT:
                documents += 1
                // As Yams' compose: one document per file.
                guard documents == 1 else { throw Problem(message: "but found another document \(Self.position(event.start_mark))") }
            case YAML_SCALAR_EVENT:
                let scalar = event.data.scalar
                let text = String(decoding: UnsafeBufferPointer(start: scalar.value, count: scalar.length), as: UTF8.self)
                if let top = stack.last, !top.isList, top.key == nil {
                    stack[stack.count - 1].key = text
                    return
                }
                let isNull = scalar.style == YAML_PLAIN_SCALAR_STYLE && ["", "~", "null", "Null", "NULL"].contains(text)
                try add(isNull ? .null : .scalar(text), at: event.start_mark)
            case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
                if let top = stack.last, !top.isList, top.key == nil {
                    throw Problem(message: "a mapping key is not a plain value \(Self.position(event.start_mark))")
                }
                try count(at: event.start_mark)
                guard stack.count < YAMLTree.maximumDepth else {
                    throw Problem(message: "nested deeper than \(YAMLTree.maximumDepth) levels \(Self.position(event.start_mark))")
                }
                stack.append(Frame(isList: event.type == YAML_SEQUENCE_START_EVENT))
            case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                let frame = stack.removeLast()
                try attach(frame.isList ? .list(frame.items) : .mapping(frame.pairs))
            case YAML_ALIAS_EVENT:
                throw Problem(message: "aliases are not supported \(Self.position(event.start_mark))")
            default:
                break  // stream start, document end
            }
        }

        private mutating func count(at mark: yaml_mark_t) throws(Problem) {
            budget -= 1
            guard budget >= 0 else { throw Problem(message: "more than \(YAMLTree.maximumNodes) nodes \(Self.position(mark))") }
        }

        private mutating func add(_ node: YAMLTree, at mark: yaml_mark_t) throws(Problem) {
            try count(at: mark)
            try attach(node)
        }

        /// Places a finished node in the frame that holds it: a list item, a mapping value, or the root.
        private mutating func attach(_ node: YAMLTree) throws(Problem) {
            let top = stack.count - 1
            guard top >= 0 else {
                root = node
                return
            }
            if stack[top].isList {
                stack[top].items.append(node)
            } else {
                // A key is always a scalar: collections in key position are refused on their start event.
                guard let key = stack[top].key else { preconditionFailure("a mapping value without its key") }
                stack[top].pairs.append((key, node))
                stack[top].key = nil
            }
        }

        static func position(_ mark: yaml_mark_t) -> String {
            "at line \(mark.line + 1), column \(mark.column + 1)"
        }
    }

    /// libyaml's problem is a fixed message; with its position it says where without quoting the line.
    private static func describe(_ parser: yaml_parser_t) -> String {
        guard let problem = parser.problem else { return "syntax error" }
        return "\(String(cString: problem)) \(Builder.position(parser.problem_mark))"
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
