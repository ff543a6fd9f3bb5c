import Foundation
import Testing
import Yams

/// The deployment files of the repository (dashboards, rules, manifests), read for the Deployment tests.
enum DeploymentFiles {
    static var root: String { TestEnvironment.repositoryRoot }

    static func path(_ relative: String) -> String { root + "/" + relative }

    static func exists(_ relative: String) -> Bool { FileManager.default.fileExists(atPath: path(relative)) }

    static func text(_ relative: String) throws -> String {
        try String(contentsOfFile: path(relative), encoding: .utf8)
    }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path(relative)))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any], "\(relative) is not a JSON object")
    }

    /// One YAML document as Foundation values (dictionaries, arrays, strings, numbers, booleans).
    static func yaml(_ relative: String) throws -> [String: Any] {
        let node = try #require(try Yams.load(yaml: try text(relative)) as? [String: Any], "\(relative) is not a YAML mapping")
        return node
    }

    static func yamlText(_ text: String) throws -> Any? { try Yams.load(yaml: text) }

    /// Every mapping document of a multi-document YAML file.
    static func yamlDocuments(_ relative: String) throws -> [[String: Any]] {
        try Yams.load_all(yaml: try text(relative)).compactMap { $0 as? [String: Any] }
    }

    /// dashboards/*.json, sorted by name.
    static func dashboardNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path("dashboards")).filter { $0.hasSuffix(".json") }.sorted()
    }

    static func dashboards() throws -> [DeploymentDashboard] {
        try dashboardNames().map { DeploymentDashboard(file: $0, json: try json("dashboards/" + $0)) }
    }
}

/// A parsed dashboard with helpers to walk its panels and targets.
struct DeploymentDashboard {
    var file: String
    var json: [String: Any]

    var uid: String { json["uid"] as? String ?? "" }

    /// Every panel, including those nested in collapsed rows.
    var panels: [[String: Any]] {
        var out: [[String: Any]] = []
        for panel in json["panels"] as? [[String: Any]] ?? [] {
            out.append(panel)
            out.append(contentsOf: panel["panels"] as? [[String: Any]] ?? [])
        }
        return out
    }

    var variables: [[String: Any]] { (json["templating"] as? [String: Any])?["list"] as? [[String: Any]] ?? [] }

    func variable(_ name: String) -> [String: Any]? { variables.first { $0["name"] as? String == name } }

    struct Target {
        var dashboard: String
        var panel: String
        var refId: String
        var expr: String
        var description: String { "\(dashboard) / \(panel) / \(refId)" }
    }

    var targets: [Target] {
        panels.filter { $0["type"] as? String != "row" }.flatMap { panel in
            (panel["targets"] as? [[String: Any]] ?? []).map {
                Target(dashboard: uid, panel: panel["title"] as? String ?? "?", refId: $0["refId"] as? String ?? "?", expr: $0["expr"] as? String ?? "")
            }
        }
    }
}

/// A small PromQL scanner: enough to find every vector selector, its matchers, its range and the
/// function it is the direct argument of. It is not a parser; `promtool check rules` checks syntax.
enum DeploymentPromQL {
    struct Matcher: Equatable {
        var label: String
        var op: String
        var value: String
    }

    struct Selector {
        var name: String
        var matchers: [Matcher]
        var range: String?
        /// The function whose parentheses directly enclose the selector ("" for plain parentheses, nil at top level).
        var function: String?
    }

    static let aggregators: Set<String> = [
        "sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile", "stddev", "stdvar", "count_values", "group",
    ]
    static let groupingKeywords: Set<String> = ["by", "without", "on", "ignoring", "group_left", "group_right"]
    static let keywords: Set<String> = ["and", "or", "unless", "bool", "offset", "inf", "nan"]

    static func isIdentifierStart(_ c: Character) -> Bool { c.isLetter || c == "_" || c == ":" }
    static func isIdentifierPart(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == ":" }

    static func selectors(in expr: String) -> [Selector] {
        let chars = Array(expr)
        var i = 0
        var stack: [String] = []
        var pendingAggregator: String?
        var out: [Selector] = []

        func skipSpaces() { while i < chars.count, chars[i].isWhitespace { i += 1 } }
        func skipString() {
            let quote = chars[i]
            i += 1
            while i < chars.count, chars[i] != quote {
                if chars[i] == "\\" { i += 1 }
                i += 1
            }
            i += 1
        }
        /// With chars[i] == open: the text up to the matching close (strings respected); i moves past it.
        func readBalanced(open: Character, close: Character) -> String {
            var depth = 0
            let start = i + 1
            while i < chars.count {
                let c = chars[i]
                if c == "\"" || c == "'" {
                    skipString()
                    continue
                }
                if c == open { depth += 1 }
                if c == close {
                    depth -= 1
                    if depth == 0 {
                        i += 1
                        return String(chars[start..<(i - 1)])
                    }
                }
                i += 1
            }
            return String(chars[min(start, chars.count)...])
        }

        while i < chars.count {
            let c = chars[i]
            if c == "\"" || c == "'" || c == "`" {
                skipString()
            } else if c == "$" {
                i += 1
                while i < chars.count, isIdentifierPart(chars[i]) || chars[i] == "{" || chars[i] == "}" { i += 1 }
            } else if c.isNumber || (c == "." && i + 1 < chars.count && chars[i + 1].isNumber) {
                while i < chars.count, chars[i].isNumber || chars[i] == "." || chars[i] == "e" || chars[i] == "E"
                    || ((chars[i] == "-" || chars[i] == "+") && (chars[i - 1] == "e" || chars[i - 1] == "E"))
                {
                    i += 1
                }
                // durations such as 5m after offset
                while i < chars.count, chars[i].isLetter { i += 1 }
            } else if isIdentifierStart(c) {
                let start = i
                while i < chars.count, isIdentifierPart(chars[i]) { i += 1 }
                let word = String(chars[start..<i])
                skipSpaces()
                let next: Character? = i < chars.count ? chars[i] : nil
                if groupingKeywords.contains(word.lowercased()) {
                    if next == "(" { _ = readBalanced(open: "(", close: ")") }
                } else if keywords.contains(word.lowercased()) {
                    if word.lowercased() == "offset" {
                        while i < chars.count, chars[i].isLetter || chars[i].isNumber { i += 1 }
                    }
                } else if aggregators.contains(word) && next != "{" {
                    if next == "(" {
                        stack.append(word)
                        i += 1
                    } else {
                        pendingAggregator = word
                    }
                } else if next == "(" {
                    stack.append(word)
                    i += 1
                } else {
                    var matchers: [Matcher] = []
                    if next == "{" {
                        matchers = parseMatchers(readBalanced(open: "{", close: "}"))
                    }
                    skipSpaces()
                    var range: String?
                    if i < chars.count, chars[i] == "[" {
                        range = readBalanced(open: "[", close: "]")
                    }
                    out.append(Selector(name: word, matchers: matchers, range: range, function: stack.last))
                }
            } else if c == "(" {
                stack.append(pendingAggregator ?? "")
                pendingAggregator = nil
                i += 1
            } else if c == ")" {
                if !stack.isEmpty { stack.removeLast() }
                i += 1
            } else {
                i += 1
            }
        }
        return out
    }

    static func parseMatchers(_ body: String) -> [Matcher] {
        var out: [Matcher] = []
        let chars = Array(body)
        var i = 0
        while i < chars.count {
            while i < chars.count, chars[i].isWhitespace || chars[i] == "," { i += 1 }
            let start = i
            while i < chars.count, isIdentifierPart(chars[i]) { i += 1 }
            let label = String(chars[start..<i])
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            let opStart = i
            while i < chars.count, "=!~".contains(chars[i]) { i += 1 }
            let op = String(chars[opStart..<i])
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            guard i < chars.count, chars[i] == "\"" else { break }
            i += 1
            var value = ""
            while i < chars.count, chars[i] != "\"" {
                if chars[i] == "\\", i + 1 < chars.count { i += 1 }
                value.append(chars[i])
                i += 1
            }
            i += 1
            if !label.isEmpty { out.append(Matcher(label: label, op: op, value: value)) }
        }
        return out
    }

    /// Substitutes dashboard variables with values a test Prometheus can evaluate.
    static func substitute(_ expr: String, values: [String: String] = [:]) -> String {
        var result = expr.replacingOccurrences(of: "$__rate_interval", with: values["__rate_interval"] ?? "1m")
        result = result.replacingOccurrences(of: "${datasource}", with: "prometheus")
        let defaults = ["job": "vitals", "slo": "0.2"]
        // Longest names first, so $instance is not eaten by a hypothetical $inst.
        let pattern = try! NSRegularExpression(pattern: #"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?"#)
        var out = ""
        var last = result.startIndex
        for match in pattern.matches(in: result, range: NSRange(result.startIndex..., in: result)) {
            let range = Range(match.range, in: result)!
            let name = String(result[Range(match.range(at: 1), in: result)!])
            out += result[last..<range.lowerBound]
            out += values[name] ?? defaults[name] ?? ".+"
            last = range.upperBound
        }
        out += result[last...]
        return out
    }
}

/// Locating and running the external tools the Deployment tests use.
enum DeploymentTools {
    static func promtool() throws -> String {
        try #require(
            TestEnvironment.tool("promtool", variable: "VITALS_TEST_PROMTOOL"),
            "promtool not found: set VITALS_TEST_PROMTOOL or install Debian's prometheus package (bash scripts/install-deps.sh)")
    }

    static func prometheus() throws -> String {
        try #require(
            TestEnvironment.tool("prometheus", variable: "VITALS_TEST_PROMETHEUS"),
            "prometheus not found: set VITALS_TEST_PROMETHEUS or install Debian's prometheus package (bash scripts/install-deps.sh)")
    }

    /// The system Python (the generators need only its standard library).
    static func python() throws -> String {
        for candidate in ["/usr/bin/python3"] where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return try #require(TestEnvironment.tool("python3", variable: "VITALS_TEST_PYTHON"), "python3 not found")
    }

    /// A Python that can import kubernetes_validate: VITALS_TEST_KUBE_PYTHON, else the virtual
    /// environment scripts/install-deps.sh creates in .build/deployment-venv.
    static func kubernetesValidatorPython() throws -> String {
        if let path = ProcessInfo.processInfo.environment["VITALS_TEST_KUBE_PYTHON"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        let venv = DeploymentFiles.path(".build/deployment-venv/bin/python3")
        return try #require(
            FileManager.default.isExecutableFile(atPath: venv) ? venv : nil,
            "kubernetes-validate not installed: run bash scripts/install-deps.sh (it creates .build/deployment-venv with `pip install kubernetes-validate`), or set VITALS_TEST_KUBE_PYTHON to a python3 that can import kubernetes_validate")
    }

    /// Runs a command in the repository root and returns (status, combined output).
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(120)) async throws -> (Int32, String) {
        let child = try ChildProcess(executable, arguments, environment: nil)
        let status = await child.wait(timeout: timeout) ?? -1
        return (status, child.output)
    }

    /// The vitals under test: VITALS_TEST_DEPLOYMENT_VITALS (e.g. another branch's build, to check the
    /// dashboards against its sources), else the one built next to the tests.
    static var vitalsBinary: String {
        if let path = ProcessInfo.processInfo.environment["VITALS_TEST_DEPLOYMENT_VITALS"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return TestEnvironment.vitalsBinary
    }

    /// The flags `vitals --help` lists, e.g. "--postgres.dsn".
    static func vitalsFlags() async throws -> Set<String> {
        let (status, output) = try await ChildProcess.run(vitalsBinary, ["--help"], timeout: .seconds(30))
        try #require(status == 0, "vitals --help failed: \(output)")
        let pattern = try NSRegularExpression(pattern: #"--[a-z][a-z0-9.-]*[a-z0-9]"#)
        return Set(pattern.matches(in: output, range: NSRange(output.startIndex..., in: output)).map { String(output[Range($0.range, in: output)!]) })
    }
}

/// Compares two values parsed from JSON or YAML for equality.
func deploymentValuesEqual(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case let (x as [String: Any], y as [String: Any]):
        return x.count == y.count && x.allSatisfy { key, value in y[key] != nil && deploymentValuesEqual(value, y[key]) }
    case let (x as [Any], y as [Any]):
        return x.count == y.count && zip(x, y).allSatisfy { deploymentValuesEqual($0, $1) }
    case let (x as String, y as String): return x == y
    case let (x as Bool, y as Bool): return x == y
    case let (x as Int, y as Int): return x == y
    case let (x as Double, y as Double): return x == y
    case let (x as Int, y as Double): return Double(x) == y
    case let (x as Double, y as Int): return x == Double(y)
    default:
        if a is NSNull && b is NSNull { return true }
        return false
    }
}
