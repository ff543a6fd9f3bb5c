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
        out.reserveCapacity(families.reduce(4096) { $0 + 128 + $1.series.count * 96 })
        for family in families { write(family, into: &out) }
        if format == .openMetrics { out.append(contentsOf: "# EOF\n".utf8) }
        return out
    }

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
        out.append(contentsOf: familyName.utf8)
        out.append(UInt8(ascii: " "))
        appendEscaped(descriptor.help, into: &out, quotes: format == .openMetrics)
        out.append(contentsOf: "\n# TYPE ".utf8)
        out.append(contentsOf: familyName.utf8)
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: typeName.utf8)
        out.append(UInt8(ascii: "\n"))

        // A histogram's or summary's sample names and `le` values are the same for each of its
        // series: made once per family, not once per series and bucket.
        var suffixed: (bucket: String, sum: String, count: String)?
        var bounds: [String] = []
        for series in family.series {
            switch series.value {
            case .scalar(let value):
                appendSample(descriptor.name, descriptor.labelNames, series.labelValues, extra: nil, value: value, into: &out)
            case .histogram(let bucketCounts, let sum, let count, _):
                let names = suffixed ?? Self.suffixedNames(descriptor.name)
                suffixed = names
                if bounds.isEmpty { bounds = descriptor.buckets.map(formatBound) }
                var cumulative: UInt64 = 0
                for (i, bound) in bounds.enumerated() where i < bucketCounts.count {
                    cumulative &+= bucketCounts[i]
                    appendSample(names.bucket, descriptor.labelNames, series.labelValues, extra: ("le", bound), value: Double(cumulative), into: &out)
                }
                appendSample(names.bucket, descriptor.labelNames, series.labelValues, extra: ("le", "+Inf"), value: Double(count), into: &out)
                appendSample(names.sum, descriptor.labelNames, series.labelValues, extra: nil, value: sum, into: &out)
                appendSample(names.count, descriptor.labelNames, series.labelValues, extra: nil, value: Double(count), into: &out)
            case .summary(let quantiles, let sum, let count):
                let names = suffixed ?? Self.suffixedNames(descriptor.name)
                suffixed = names
                for quantile in quantiles {
                    appendSample(
                        descriptor.name, descriptor.labelNames, series.labelValues, extra: ("quantile", formatQuantile(quantile.quantile)),
                        value: quantile.value, into: &out)
                }
                appendSample(names.sum, descriptor.labelNames, series.labelValues, extra: nil, value: sum, into: &out)
                appendSample(names.count, descriptor.labelNames, series.labelValues, extra: nil, value: Double(count), into: &out)
            }
        }
    }

    private static func suffixedNames(_ name: String) -> (bucket: String, sum: String, count: String) {
        (name + "_bucket", name + "_sum", name + "_count")
    }

    private func appendSample(_ name: String, _ labelNames: [String], _ labelValues: [String], extra: (String, String)?, value: Double, into out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        if !labelNames.isEmpty || extra != nil {
            out.append(UInt8(ascii: "{"))
            var first = true
            for (labelName, labelValue) in zip(labelNames, labelValues) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                appendLabel(labelName, labelValue, into: &out)
            }
            if let extra {
                if !first { out.append(UInt8(ascii: ",")) }
                appendLabel(extra.0, extra.1, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        out.append(contentsOf: SampleValue.format(value).utf8)
        out.append(UInt8(ascii: "\n"))
    }

    private func appendLabel(_ name: String, _ value: String, into out: inout [UInt8]) {
        out.append(contentsOf: name.utf8)
        out.append(contentsOf: "=\"".utf8)
        appendEscaped(value, into: &out, quotes: true)
        out.append(UInt8(ascii: "\""))
    }

    private func appendEscaped(_ text: String, into out: inout [UInt8], quotes: Bool) {
        // Label values and help texts almost never need escaping: copy them in one block then. A byte
        // at a time was a quarter of the time spent writing 100,000 series (BENCHMARKS.md).
        var text = text
        text.withUTF8 { bytes in
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
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 {
            return String(Int64(value))
        }
        return value.description
    }
}
