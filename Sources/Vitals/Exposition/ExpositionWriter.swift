/// Writes gathered families in the Prometheus text format 0.0.4 or OpenMetrics 1.0.
///
/// It appends bytes to one growing buffer and never builds intermediate strings per sample.
public struct ExpositionWriter: Sendable {
    public let format: ExpositionFormat

    public init(format: ExpositionFormat) {
        self.format = format
    }

    public func write(_ families: [FamilySnapshot]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(families.reduce(4096) { $0 + 128 + Self.lines(of: $1) * 96 })
        for family in families { write(family, into: &out) }
        out.append(contentsOf: format.trailer)
        return out
    }

    /// One family's lines, appended to `out`: ``CompressedExpositionCache`` writes the families
    /// one at a time, to compress an unchanged one as a piece of its own.
    func write(_ family: FamilySnapshot, into out: inout [UInt8]) {
        let descriptor = family.descriptor
        // OpenMetrics names a counter family without `_total` and requires the suffix on its sample;
        // counters kept under a legacy name without `_total` (postgres_exporter compatibility) stay
        // `unknown` there so the sample name is the same in both formats.
        var familyName = descriptor.name
        var typeName = descriptor.type.rawValue
        if format == .openMetrics, descriptor.type == .counter {
            if descriptor.name.hasSuffix("_total") {
                familyName = String(descriptor.name.dropLast(6))
            } else {
                typeName = "unknown"
            }
        }
        out.append(contentsOf: "# HELP ".utf8)
        Self.append(familyName, to: &out)
        out.append(UInt8(ascii: " "))
        appendEscaped(descriptor.help, into: &out, quotes: format == .openMetrics)
        out.append(contentsOf: "\n# TYPE ".utf8)
        Self.append(familyName, to: &out)
        out.append(UInt8(ascii: " "))
        Self.append(typeName, to: &out)
        out.append(UInt8(ascii: "\n"))

        // A series' labels are escaped once, into `labels`, and copied into each of its lines (a
        // histogram series has one per bucket). A histogram's or summary's sample names and `le`
        // values are the same for each of its series: made once per family.
        var suffixed: (bucket: String, sum: String, count: String)?
        var bounds: [[UInt8]] = []
        var labels: [UInt8] = []
        for series in family.series {
            labels.removeAll(keepingCapacity: true)
            for (position, labelName) in descriptor.labelNames.enumerated() where position < series.labelValues.count {
                if position > 0 { labels.append(UInt8(ascii: ",")) }
                appendLabel(labelName, series.labelValues[position], into: &labels)
            }
            switch series.value {
            case .scalar(let value):
                appendSample(descriptor.name, labels, extra: nil, value: value, into: &out)
            case .histogram(let bucketCounts, let sum, let count, _):
                let names = suffixed ?? Self.suffixedNames(descriptor.name)
                suffixed = names
                if bounds.isEmpty { bounds = descriptor.buckets.map { Self.labelPair("le", formatBound($0)) } + [Self.labelPair("le", "+Inf")] }
                var cumulative: UInt64 = 0
                for position in 0..<min(bounds.count - 1, bucketCounts.count) {
                    cumulative &+= bucketCounts[position]
                    appendSample(names.bucket, labels, extra: bounds[position], value: Double(cumulative), into: &out)
                }
                appendSample(names.bucket, labels, extra: bounds[bounds.count - 1], value: Double(count), into: &out)
                appendSample(names.sum, labels, extra: nil, value: sum, into: &out)
                appendSample(names.count, labels, extra: nil, value: Double(count), into: &out)
            case .summary(let quantiles, let sum, let count):
                let names = suffixed ?? Self.suffixedNames(descriptor.name)
                suffixed = names
                for quantile in quantiles {
                    appendSample(
                        descriptor.name, labels, extra: Self.labelPair("quantile", formatQuantile(quantile.quantile)), value: quantile.value, into: &out)
                }
                appendSample(names.sum, labels, extra: nil, value: sum, into: &out)
                appendSample(names.count, labels, extra: nil, value: Double(count), into: &out)
            }
        }
    }

    /// About how many lines the family writes: a buffer reserved too small is copied as it grows.
    private static func lines(of family: FamilySnapshot) -> Int {
        switch family.descriptor.type {
        case .histogram: family.series.count * (family.descriptor.buckets.count + 3)
        case .summary: family.series.count * 6
        default: family.series.count
        }
    }

    private static func suffixedNames(_ name: String) -> (bucket: String, sum: String, count: String) {
        (name + "_bucket", name + "_sum", name + "_count")
    }

    /// `name="value"` for a label the writer adds (`le`, `quantile`): its values need no escaping.
    private static func labelPair(_ name: String, _ value: String) -> [UInt8] {
        Array(name.utf8) + Array("=\"".utf8) + Array(value.utf8) + [UInt8(ascii: "\"")]
    }

    /// One line: `name{labels,extra} value`, without braces when there are neither.
    private func appendSample(_ name: String, _ labels: [UInt8], extra: [UInt8]?, value: Double, into out: inout [UInt8]) {
        Self.append(name, to: &out)
        if !labels.isEmpty || extra != nil {
            out.append(UInt8(ascii: "{"))
            out.append(contentsOf: labels)
            if let extra {
                if !labels.isEmpty { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: extra)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        SampleValue.append(value, to: &out)
        out.append(UInt8(ascii: "\n"))
    }

    /// A string's bytes in one copy, from its own storage (no copy of the string first).
    private static func append(_ text: String, to out: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ out.append(contentsOf: $0) }) == nil {
            out.append(contentsOf: text.utf8)
        }
    }

    private func appendLabel(_ name: String, _ value: String, into out: inout [UInt8]) {
        Self.append(name, to: &out)
        out.append(contentsOf: "=\"".utf8)
        appendEscaped(value, into: &out, quotes: true)
        out.append(UInt8(ascii: "\""))
    }

    private func appendEscaped(_ text: String, into out: inout [UInt8], quotes: Bool) {
        // Label values and help texts almost never need escaping: copy them in one block then. A byte
        // at a time was a quarter of the time spent writing 100,000 series (BENCHMARKS.md).
        func escape(_ bytes: UnsafeBufferPointer<UInt8>) {
            let clean = !bytes.contains { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\n") || (quotes && $0 == UInt8(ascii: "\"")) }
            if clean {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
                case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
                case UInt8(ascii: "\"") where quotes: out.append(contentsOf: "\\\"".utf8)
                default: out.append(byte)
                }
            }
        }
        if text.utf8.withContiguousStorageIfAvailable(escape) == nil {
            var copy = text
            copy.withUTF8(escape)
        }
    }

    private func formatQuantile(_ quantile: Double) -> String {
        // Canonical floats in OpenMetrics ("0.5", "1.0"); Go's shortest form in the text format.
        format == .openMetrics && quantile == quantile.rounded() ? formatBound(quantile) : SampleValue.format(quantile)
    }

    private func formatBound(_ bound: Double) -> String {
        // OpenMetrics wants canonical floats for `le` ("1.0"); the text format conventionally uses Go's shortest form ("1").
        if format == .openMetrics, bound == bound.rounded(), abs(bound) < 1e15 {
            return String(Int64(bound)) + ".0"
        }
        return SampleValue.format(bound)
    }
}

/// Sample values as Prometheus writes them: integers without a fraction, `+Inf`, `-Inf`, `NaN`.
enum SampleValue {
    /// ``format(_:)``'s bytes; a whole number's digits go straight into `out`, without a string.
    static func append(_ value: Double, to out: inout [UInt8]) {
        guard value == value.rounded(), abs(value) < 1e15 else {
            out.append(contentsOf: format(value).utf8)
            return
        }
        var number = Int64(value)
        if number < 0 {
            out.append(UInt8(ascii: "-"))
            number = -number
        }
        var digits: (UInt64, UInt64) = (0, 0)  // 16 bytes: enough for the 15 digits of 1e15 - 1
        withUnsafeMutableBytes(of: &digits) { buffer in
            var position = buffer.count
            repeat {
                position -= 1
                buffer[position] = UInt8(ascii: "0") + UInt8(number % 10)
                number /= 10
            } while number > 0
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[position...]))
        }
    }

    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }
}
