/// The type of a metric family, as the exposition formats name it.
public enum MetricType: String, Sendable, Hashable {
    case counter
    case gauge
    case histogram
    /// Quantiles computed elsewhere (a server's own percentiles), with their sum and count.
    case summary
}

/// What a metric family is: everything about it except its samples.
///
/// Two families with the same name must have equal descriptors; the registry refuses a
/// conflicting one instead of emitting an inconsistent family, which Prometheus would reject.
public struct MetricDescriptor: Sendable, Hashable {
    /// The fields, shared by every copy. A family's descriptor is copied several times a pass and
    /// a scrape (the sink, the publication, the gather, the writer): one reference is one retain
    /// and release per copy, where the fields themselves were four.
    private final class Storage: Sendable {
        let name: String
        let help: String
        let type: MetricType
        let labelNames: [String]
        let buckets: [Double]
        let nativeHistogram: NativeHistogramOptions?
        /// Everything above, hashed once: a compressed scrape hashes every family it writes
        /// (``CompressedExpositionCache``), and a descriptor's help text is most of its bytes.
        let fieldsHash: Int

        init(name: String, help: String, type: MetricType, labelNames: [String], buckets: [Double], nativeHistogram: NativeHistogramOptions?) {
            self.name = name
            self.help = help
            self.type = type
            self.labelNames = labelNames
            self.buckets = buckets
            self.nativeHistogram = nativeHistogram
            var hasher = Hasher()
            hasher.combine(name)
            hasher.combine(help)
            hasher.combine(type)
            hasher.combine(labelNames)
            hasher.combine(buckets)
            hasher.combine(nativeHistogram)
            fieldsHash = hasher.finalize()
        }
    }

    private let storage: Storage

    public var name: String { storage.name }
    public var help: String { storage.help }
    public var type: MetricType { storage.type }
    public var labelNames: [String] { storage.labelNames }
    /// Upper bounds of a histogram's finite buckets, ascending; empty for other types.
    public var buckets: [Double] { storage.buckets }
    /// Native buckets kept next to the classic ones, for histograms only; nil keeps classic buckets only.
    public var nativeHistogram: NativeHistogramOptions? { storage.nativeHistogram }

    public init(
        name: String, help: String, type: MetricType, labelNames: [String] = [], buckets: [Double] = [],
        nativeHistogram: NativeHistogramOptions? = nil
    ) throws(RegistryError) {
        guard MetricName.isValidMetricName(name) else {
            throw RegistryError(code: .invalidName, metric: name, detail: "invalid metric name")
        }
        var seen = Set<String>()
        for label in labelNames {
            guard MetricName.isValidLabelName(label), !label.hasPrefix("__") else {
                throw RegistryError(code: .invalidName, metric: name, detail: "invalid label name '\(label)'")
            }
            guard seen.insert(label).inserted else {
                throw RegistryError(code: .invalidName, metric: name, detail: "duplicate label name '\(label)'")
            }
        }
        if type == .summary, labelNames.contains("quantile") {
            throw RegistryError(code: .invalidName, metric: name, detail: "a summary cannot have a 'quantile' label")
        }
        if type == .histogram {
            guard !labelNames.contains("le") else {
                throw RegistryError(code: .invalidName, metric: name, detail: "a histogram cannot have an 'le' label")
            }
            guard !buckets.isEmpty, buckets.allSatisfy(\.isFinite), zip(buckets, buckets.dropFirst()).allSatisfy({ $0 < $1 })
            else {
                throw RegistryError(code: .invalidBuckets, metric: name, detail: "buckets must be finite and strictly ascending")
            }
        }
        storage = Storage(
            name: name, help: help, type: type, labelNames: labelNames, buckets: type == .histogram ? buckets : [],
            nativeHistogram: type == .histogram ? nativeHistogram : nil)
    }

    /// Whether both are copies of one descriptor (made once, e.g. a metric's constant): one
    /// pointer comparison, where equal descriptors made apart compare their fields.
    func isCopy(of other: MetricDescriptor) -> Bool { storage === other.storage }

    public static func == (lhs: MetricDescriptor, rhs: MetricDescriptor) -> Bool {
        lhs.storage === rhs.storage
            || (lhs.name == rhs.name && lhs.help == rhs.help && lhs.type == rhs.type && lhs.labelNames == rhs.labelNames
                && lhs.buckets == rhs.buckets && lhs.nativeHistogram == rhs.nativeHistogram)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(storage.fieldsHash)
    }
}

/// Why the registry refused something. Carries no user data beyond the metric name.
public struct RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String { case invalidName, invalidBuckets, conflictingDescriptor, labelCountMismatch }
        private let base: Base
        public static let invalidName = Code(base: .invalidName)
        public static let invalidBuckets = Code(base: .invalidBuckets)
        public static let conflictingDescriptor = Code(base: .conflictingDescriptor)
        public static let labelCountMismatch = Code(base: .labelCountMismatch)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let metric: String
    public let detail: String

    public var description: String { "metric \(metric): \(detail)" }
}

enum MetricName {
    static func isValidMetricName(_ name: String) -> Bool {
        var first = true
        for byte in name.utf8 {
            let ok: Bool
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "_"), UInt8(ascii: ":"):
                ok = true
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                ok = !first
            default:
                ok = false
            }
            if !ok { return false }
            first = false
        }
        return !first
    }

    static func isValidLabelName(_ name: String) -> Bool {
        isValidMetricName(name) && !name.utf8.contains(UInt8(ascii: ":"))
    }

    /// Turns arbitrary text (an INFO field, a setting name) into a valid metric-name fragment.
    public static func sanitize(_ text: some StringProtocol) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "_"))
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
