/// Turns request paths into low-cardinality route labels (`/markets/42` → `/markets/{id}`).
///
/// Every distinct label is a new Prometheus series, so ids must never reach the registry.
/// Rules, in order:
///
/// 1. The query string and fragment are dropped; an empty path becomes `/`. An absolute-form
///    target (`http://host/a?b`) is reduced to its path; `*` (as in `OPTIONS *`) stays `*`;
///    any other target not starting with `/` becomes ``invalidRoute``.
/// 2. The first user template (in the given order) with as many segments as the path, whose
///    literal segments are equal and whose `{…}` segments match non-empty segments, is
///    returned verbatim (`/files/{name}`). Templates are pre-split, matching is byte compares.
/// 3. Otherwise each segment that looks like an identifier becomes `{id}`: all digits; a UUID
///    (8-4-4-4-12 hex, any case); 16 or more hex digits; or 20 or more of `[A-Za-z0-9_-]`
///    with at least one digit (base64url tokens, ULIDs). Everything else (`v2`, `en-US`,
///    slugs without digits) is kept. Separators, empty segments and a trailing slash are kept.
/// 4. A templated route longer than ``maximumRouteLength`` bytes becomes ``overlongRoute``:
///    such paths are almost always scanners or garbage, and truncating them would still leak
///    one series per distinct prefix.
///
/// Works on the UTF-8 bytes without regexes or Foundation, and returns the input string itself
/// when nothing changes.
public struct RouteTemplater: Sendable {
    /// Longest route (in UTF-8 bytes) that is emitted as is; see ``overlongRoute``.
    public static let maximumRouteLength = 200
    /// Replaces routes longer than ``maximumRouteLength``.
    public static let overlongRoute = "__long__"
    /// Replaces request targets that are neither a path, an absolute URL nor `*`.
    public static let invalidRoute = "__invalid__"
    /// What identifier-like segments are replaced with.
    public static let idPlaceholder = "{id}"

    private enum Segment: Sendable {
        case literal([UInt8])
        case wildcard
    }

    private struct Template: Sendable {
        var route: String
        var segments: [Segment]
    }

    private let templates: [Template]

    /// - Parameter templates: routes like `/markets/{id}/applications`, tried in order. A
    ///   template without a leading `/` is treated as if it had one; its query part is ignored.
    public init(templates: [String] = []) {
        self.templates = templates.map { template in
            var bytes = Array(template.utf8)
            if let queryStart = bytes.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
                bytes.removeSubrange(queryStart...)
            }
            if bytes.first == UInt8(ascii: "/") {
                bytes.removeFirst()
            }
            let segments = bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false).map {
                segment -> Segment in
                if segment.count >= 2, segment.first == UInt8(ascii: "{"), segment.last == UInt8(ascii: "}") {
                    return .wildcard
                }
                return .literal(Array(segment))
            }
            return Template(route: template, segments: segments)
        }
    }

    public func route(for path: some StringProtocol) -> String {
        if let route = path.utf8.withContiguousStorageIfAvailable({ self.route(bytes: $0, original: path) }) {
            return route
        }
        return Array(path.utf8).withUnsafeBufferPointer { self.route(bytes: $0, original: path) }
    }

    private func route(bytes: UnsafeBufferPointer<UInt8>, original: some StringProtocol) -> String {
        let slash = UInt8(ascii: "/")
        var end = bytes.count
        for index in 0..<bytes.count where bytes[index] == UInt8(ascii: "?") || bytes[index] == UInt8(ascii: "#") {
            end = index
            break
        }
        guard end > 0 else {
            return "/"
        }
        var start = 0
        if bytes[0] != slash {
            if end == 1, bytes[0] == UInt8(ascii: "*") {
                return "*"
            }
            guard let pathStart = Self.absoluteFormPathStart(bytes, end: end) else {
                return Self.invalidRoute
            }
            guard pathStart < end else {
                return "/"
            }
            start = pathStart
        }

        // From here on `bytes[start] == "/"`; segments are the pieces between slashes.
        if let template = self.matchingTemplate(bytes, start: start, end: end) {
            return template
        }

        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Self.maximumRouteLength) { output in
            var count = 0
            var changed = false
            var segmentStart = start + 1
            output[0] = slash
            count = 1
            while true {
                var segmentEnd = segmentStart
                while segmentEnd < end, bytes[segmentEnd] != slash {
                    segmentEnd += 1
                }
                let isIdentifier = Self.isIdentifier(UnsafeBufferPointer(rebasing: bytes[segmentStart..<segmentEnd]))
                let replacementCount = isIdentifier ? 4 : segmentEnd - segmentStart
                let separatorCount = segmentEnd < end ? 1 : 0
                guard count + replacementCount + separatorCount <= Self.maximumRouteLength else {
                    return Self.overlongRoute
                }
                if isIdentifier {
                    changed = true
                    for byte in Self.idPlaceholder.utf8 {
                        output[count] = byte
                        count += 1
                    }
                } else {
                    for index in segmentStart..<segmentEnd {
                        output[count] = bytes[index]
                        count += 1
                    }
                }
                guard segmentEnd < end else {
                    break
                }
                output[count] = slash
                count += 1
                segmentStart = segmentEnd + 1
            }
            if !changed, start == 0, end == bytes.count {
                return String(original)
            }
            return String(decoding: UnsafeBufferPointer(rebasing: output[0..<count]), as: UTF8.self)
        }
    }

    /// For `scheme://authority/path…`, the index of the path's `/` (or `end` when there is no
    /// path); `nil` when `bytes` is not an absolute URL.
    private static func absoluteFormPathStart(_ bytes: UnsafeBufferPointer<UInt8>, end: Int) -> Int? {
        var index = 0
        while index < end, isSchemeByte(bytes[index]) {
            index += 1
        }
        guard index > 0, index + 3 <= end, bytes[index] == UInt8(ascii: ":"),
            bytes[index + 1] == UInt8(ascii: "/"), bytes[index + 2] == UInt8(ascii: "/")
        else {
            return nil
        }
        index += 3
        while index < end, bytes[index] != UInt8(ascii: "/") {
            index += 1
        }
        return index
    }

    @inline(__always)
    private static func isSchemeByte(_ byte: UInt8) -> Bool {
        LineBytes.isLetter(byte) || LineBytes.isDigit(byte) || byte == UInt8(ascii: "+")
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    private func matchingTemplate(_ bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int) -> String? {
        guard !self.templates.isEmpty else {
            return nil
        }
        var segmentCount = 1
        for index in (start + 1)..<end where bytes[index] == UInt8(ascii: "/") {
            segmentCount += 1
        }
        templates: for template in self.templates where template.segments.count == segmentCount {
            var segmentStart = start + 1
            for segment in template.segments {
                var segmentEnd = segmentStart
                while segmentEnd < end, bytes[segmentEnd] != UInt8(ascii: "/") {
                    segmentEnd += 1
                }
                switch segment {
                case .wildcard:
                    guard segmentEnd > segmentStart else {
                        continue templates
                    }
                case .literal(let literal):
                    guard UnsafeBufferPointer(rebasing: bytes[segmentStart..<segmentEnd]).elementsEqual(literal) else {
                        continue templates
                    }
                }
                segmentStart = segmentEnd + 1
            }
            return template.route
        }
        return nil
    }

    /// Whether a segment looks like an identifier (see the type's documentation, rule 3).
    @inline(__always)
    private static func isIdentifier(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        guard !segment.isEmpty else {
            return false
        }
        var allDigits = true
        var allHex = true
        var hasDigit = false
        for byte in segment {
            if LineBytes.isDigit(byte) {
                hasDigit = true
                continue
            }
            allDigits = false
            if LineBytes.hexValue(byte) != nil {
                continue
            }
            allHex = false
            guard LineBytes.isLetter(byte) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-") else {
                // Outside the token alphabet: no rule can match any more.
                return false
            }
        }
        if allDigits {
            return true
        }
        if segment.count == 36, isUUID(segment) {
            return true
        }
        if allHex, segment.count >= 16 {
            return true
        }
        return segment.count >= 20 && hasDigit
    }

    private static func isUUID(_ segment: UnsafeBufferPointer<UInt8>) -> Bool {
        for (index, byte) in segment.enumerated() {
            switch index {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else {
                    return false
                }
            default:
                guard LineBytes.hexValue(byte) != nil else {
                    return false
                }
            }
        }
        return true
    }
}
