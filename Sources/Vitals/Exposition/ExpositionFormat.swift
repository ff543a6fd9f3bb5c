/// The wire formats vitals serves on `/metrics`.
public enum ExpositionFormat: Sendable, Equatable, CaseIterable {
    /// Prometheus text format 0.0.4.
    case prometheusText
    /// OpenMetrics 1.0 text.
    case openMetrics
    /// Prometheus's protobuf format: length-delimited `io.prometheus.client.MetricFamily` messages.
    /// The only format that carries native histograms.
    case protobufDelimited

    public var contentType: String {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        case .protobufDelimited: "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
        }
    }

    /// The `format` label of `vitals_scrapes_total`.
    public var label: String {
        switch self {
        case .prometheusText: "text"
        case .openMetrics: "openmetrics"
        case .protobufDelimited: "protobuf"
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
            // Only the delimited MetricFamily stream is served; other protobuf encodings fall through.
            case "application/vnd.google.protobuf":
                format =
                    range.parameters["proto"] == "io.prometheus.client.MetricFamily" && range.parameters["encoding"] == "delimited"
                    ? .protobufDelimited : nil
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

extension ExpositionFormat {
    /// A whole body in this format.
    func body(of families: [FamilySnapshot]) -> [UInt8] {
        switch self {
        case .prometheusText, .openMetrics: ExpositionWriter(format: self).write(families)
        case .protobufDelimited: ProtobufExpositionWriter().write(families)
        }
    }

    /// One family's part of a body in this format.
    func bytes(of family: FamilySnapshot) -> [UInt8] {
        var out: [UInt8] = []
        write(family, into: &out)
        return out
    }

    /// ``bytes(of:)`` appended to `out`: the text formats write there directly.
    func write(_ family: FamilySnapshot, into out: inout [UInt8]) {
        switch self {
        case .prometheusText, .openMetrics: ExpositionWriter(format: self).write(family, into: &out)
        case .protobufDelimited: out.append(contentsOf: ProtobufExpositionWriter.message(family))
        }
    }

    /// What ends a body in this format: OpenMetrics's `# EOF`.
    var trailer: [UInt8] {
        self == .openMetrics ? Array("# EOF\n".utf8) : []
    }
}

/// One scrape's answer: `families` in the format the `Accept` header asks for, gzipped when
/// `Accept-Encoding` allows it. `/metrics`, `/probe` and `/scrape` all answer through this.
public struct ExpositionAnswer: Sendable {
    public let format: ExpositionFormat
    /// `gzip`, or nil when the body is not compressed.
    public let contentEncoding: String?
    public let body: [UInt8]

    /// `format`: ``ExpositionFormat/negotiate(accept:)`` of the request's `Accept` header. With a
    /// `cache` (the daemon's own `/metrics`), a compressed body copies the families unchanged since
    /// the cache's last compressed scrape.
    public init(_ families: [FamilySnapshot], format: ExpositionFormat, acceptEncoding: String?, cache: CompressedExpositionCache? = nil) {
        var body: [UInt8]?
        var encoding: String?
        if HeaderValue.acceptsGzip(acceptEncoding) {
            if let cache {
                body = try? cache.gzip(families, format: format).body
            } else {
                body = try? Gzip.compress(format.body(of: families))
            }
            if body != nil { encoding = "gzip" }
        }
        self.format = format
        self.contentEncoding = encoding
        self.body = body ?? format.body(of: families)
    }
}

/// Minimal parsing of list-valued HTTP headers (`Accept`, `Accept-Encoding`) with q-values.
enum HeaderValue {
    struct Item: Equatable {
        var value: String
        var q: Double
        /// Media-type parameters other than `q`, names lowercased.
        var parameters: [String: String] = [:]
    }

    static func parseList(_ header: String) -> [Item] {
        header.split(separator: ",").compactMap { element in
            let parts = element.split(separator: ";")
            guard let first = parts.first else { return nil }
            let value = first.trimmingWhitespace()
            guard !value.isEmpty else { return nil }
            var q = 1.0
            var parameters: [String: String] = [:]
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1)
                guard pair.count == 2 else { continue }
                let name = pair[0].trimmingWhitespace().lowercased()
                let parameterValue = pair[1].trimmingWhitespace()
                if name == "q" {
                    q = Double(parameterValue) ?? 0
                } else {
                    parameters[name] = parameterValue.count >= 2 && parameterValue.hasPrefix("\"") && parameterValue.hasSuffix("\"")
                        ? String(parameterValue.dropFirst().dropLast()) : parameterValue
                }
            }
            return Item(value: value, q: q, parameters: parameters)
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
