/// The wire formats vitals serves on `/metrics`.
public enum ExpositionFormat: Sendable, Equatable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0 text.
    case openMetrics

    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// Picks the format from an `Accept` header the way Prometheus's own negotiation does: the
    /// highest-q media range that vitals can produce wins; no header, or nothing known, means text 0.0.4.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .prometheusText }
        var best: (format: ExpositionFormat, q: Double)?
        for range in HeaderValue.parseList(accept) {
            let format: ExpositionFormat?
            switch range.value.lowercased() {
            case "application/openmetrics-text": format = .openMetrics
            case "text/plain", "*/*", "text/*": format = .prometheusText
            default: format = nil
            }
            guard let format, range.q > 0 else { continue }
            if best == nil || range.q > best!.q {
                best = (format, range.q)
            }
        }
        return best?.format ?? .prometheusText
    }
}

/// Minimal parsing of list-valued HTTP headers (`Accept`, `Accept-Encoding`) with q-values.
enum HeaderValue {
    struct Item: Equatable {
        var value: String
        var q: Double
    }

    static func parseList(_ header: String) -> [Item] {
        header.split(separator: ",").compactMap { element in
            let parts = element.split(separator: ";")
            guard let first = parts.first else { return nil }
            let value = first.trimmingWhitespace()
            guard !value.isEmpty else { return nil }
            var q = 1.0
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmingWhitespace().lowercased() == "q" {
                    q = Double(pair[1].trimmingWhitespace()) ?? 0
                }
            }
            return Item(value: value, q: q)
        }
    }

    /// Whether `Accept-Encoding` allows gzip (an explicit `q=0` refuses it).
    static func acceptsGzip(_ header: String?) -> Bool {
        guard let header else { return false }
        return parseList(header).contains { ($0.value.lowercased() == "gzip" || $0.value == "*") && $0.q > 0 }
    }
}

extension Substring {
    func trimmingWhitespace() -> String {
        var slice = self[...]
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
