import Glibc

/// How a histogram family keeps native (exponential, sparse) buckets next to its classic ones.
///
/// Bucket boundaries are powers of `2^(2^-schema)`: schema 5 splits each power of two into 32
/// buckets about 2.2 % wide, so a quantile interpolated inside one is within about 1 % of the truth
/// whatever the latency distribution, without choosing bounds.
public struct NativeHistogramOptions: Sendable, Hashable {
    /// The schemas Prometheus accepts.
    public static let schemaRange: ClosedRange<Int> = -4...8
    public static let defaultSchema = 5
    /// Bounds the memory of one series whatever its input: a series whose populated index range
    /// grows past this halves its resolution (lowers its schema) until it fits, as client_golang's
    /// `NativeHistogramMaxBucketNumber` does. 512 buckets cover 16 powers of two (15 µs to 1 s, or
    /// 1 ms to 65 s) at schema 5.
    public static let defaultMaxBuckets = 512
    /// client_golang's default: only exact zeros (and denormals) land in the zero bucket.
    public static let zeroThreshold: Double = 0x1p-128

    public let schema: Int
    public let maxBuckets: Int

    public init(schema: Int = defaultSchema, maxBuckets: Int = defaultMaxBuckets) throws(RegistryError) {
        guard Self.schemaRange.contains(schema) else {
            throw RegistryError(code: .invalidBuckets, metric: "", detail: "native histogram schema must be between -4 and 8")
        }
        guard maxBuckets >= 8 else {
            throw RegistryError(code: .invalidBuckets, metric: "", detail: "native histograms need at least 8 buckets")
        }
        self.schema = schema
        self.maxBuckets = maxBuckets
    }
}

/// The native buckets of one histogram series: a zero bucket and dense runs of counters for
/// positive and negative observations, indexed as Prometheus indexes them.
public struct NativeHistogramBuckets: Sendable, Hashable {
    public private(set) var schema: Int
    public let maxBuckets: Int
    public private(set) var zeroCount: UInt64 = 0
    public private(set) var positive = ExponentialBucketCounts()
    public private(set) var negative = ExponentialBucketCounts()

    public var zeroThreshold: Double { NativeHistogramOptions.zeroThreshold }

    public init(_ options: NativeHistogramOptions) {
        schema = options.schema
        maxBuckets = options.maxBuckets
    }

    public mutating func observe(_ value: Double) {
        let magnitude = value.magnitude
        guard magnitude.isFinite else { return }  // NaN and ±Inf count in the histogram's count only
        if magnitude <= zeroThreshold {
            zeroCount &+= 1
        } else if value > 0 {
            positive.add(1, at: Self.index(of: magnitude, schema: schema))
        } else {
            negative.add(1, at: Self.index(of: magnitude, schema: schema))
        }
        if positive.width + negative.width > maxBuckets { shrinkToLimit() }
    }

    public mutating func merge(_ other: NativeHistogramBuckets) {
        var other = other
        while schema > other.schema { reduceResolution() }
        while other.schema > schema { other.reduceResolution() }
        zeroCount &+= other.zeroCount
        positive.merge(other.positive)
        negative.merge(other.negative)
        if positive.width + negative.width > maxBuckets { shrinkToLimit() }
    }

    private mutating func shrinkToLimit() {
        while positive.width + negative.width > maxBuckets, schema > NativeHistogramOptions.schemaRange.lowerBound {
            reduceResolution()
        }
    }

    /// Merges each pair of neighbouring buckets: bucket `i` of schema `s` lies inside bucket
    /// `⌊(i + 1) / 2⌋` of schema `s - 1`, because every second boundary is kept.
    mutating func reduceResolution() {
        positive.halveResolution()
        negative.halveResolution()
        schema -= 1
    }

    /// The index of the bucket `(base^(i-1), base^i]` holding `value` (> 0), `base = 2^(2^-schema)`.
    ///
    /// It works on the binary exponent and a table of boundaries instead of `log2`, so exact
    /// boundaries (powers of two, say) land in the bucket they close, as in Prometheus.
    public static func index(of value: Double, schema: Int) -> Int32 {
        // value = fraction × 2^exponent with fraction in [0.5, 1), as C's frexp splits it.
        let fraction = value.significand / 2
        let exponent = Int(value.exponent) + 1
        if schema > 0 {
            let bounds = BoundaryTable.fractions[schema]
            var low = 0
            var high = bounds.count
            while low < high {
                let mid = (low + high) >> 1
                if bounds[mid] < fraction { low = mid + 1 } else { high = mid }
            }
            return Int32(low + (exponent - 1) << schema)
        }
        let powerOfTwoIndex = fraction == 0.5 ? exponent - 1 : exponent
        let shift = -schema
        return Int32((powerOfTwoIndex + (1 << shift) - 1) >> shift)
    }

    /// The upper bound of bucket `index` at `schema`: `2^(index / 2^schema)`.
    public static func upperBound(of index: Int32, schema: Int) -> Double {
        guard schema >= 0 else {
            return Double(sign: .plus, exponent: Int(index) << -schema, significand: 1)
        }
        let wholePowers = Int(index) >> schema
        let part = Int(index) - wholePowers << schema
        let withinPower = part == 0 ? 1 : BoundaryTable.fractions[schema][part] * 2
        return Double(sign: .plus, exponent: wholePowers, significand: withinPower)
    }

    private enum BoundaryTable {
        /// `fractions[s][j] = 2^(j / 2^s - 1)`: the bucket boundaries inside [0.5, 1) for schema `s > 0`.
        static let fractions: [[Double]] = (0...8).map { schema in
            guard schema > 0 else { return [] }
            let count = 1 << schema
            return (0..<count).map { j in exp2(Double(j) / Double(count) - 1) }
        }
    }
}

/// Counters for a contiguous run of bucket indexes; grows at either end as observations arrive.
public struct ExponentialBucketCounts: Sendable, Hashable {
    public private(set) var firstIndex: Int32 = 0
    public private(set) var counts: [UInt64] = []

    /// How many indexes the run spans, populated or not: what the memory of a series costs.
    public var width: Int { counts.count }

    public mutating func add(_ amount: UInt64, at index: Int32) {
        if counts.isEmpty {
            firstIndex = index
            counts = [amount]
            return
        }
        if index < firstIndex {
            counts.insert(contentsOf: repeatElement(0, count: Int(firstIndex - index)), at: 0)
            firstIndex = index
        } else if Int(index - firstIndex) >= counts.count {
            counts.append(contentsOf: repeatElement(0, count: Int(index - firstIndex) - counts.count + 1))
        }
        counts[Int(index - firstIndex)] &+= amount
    }

    mutating func merge(_ other: ExponentialBucketCounts) {
        guard !other.counts.isEmpty else { return }
        if counts.isEmpty {
            self = other
            return
        }
        // Grow once to cover both runs, then add without further reallocation.
        let last = max(firstIndex + Int32(counts.count), other.firstIndex + Int32(other.counts.count)) - 1
        if other.firstIndex < firstIndex {
            counts.insert(contentsOf: repeatElement(0, count: Int(firstIndex - other.firstIndex)), at: 0)
            firstIndex = other.firstIndex
        }
        if Int(last - firstIndex) >= counts.count {
            counts.append(contentsOf: repeatElement(0, count: Int(last - firstIndex) - counts.count + 1))
        }
        let start = Int(other.firstIndex - firstIndex)
        for (offset, count) in other.counts.enumerated() { counts[start + offset] &+= count }
    }

    mutating func halveResolution() {
        guard !counts.isEmpty else { return }
        let newFirst = (firstIndex + 1) >> 1
        let newLast = (firstIndex + Int32(counts.count)) >> 1
        var reduced = [UInt64](repeating: 0, count: Int(newLast - newFirst) + 1)
        for (offset, count) in counts.enumerated() where count != 0 {
            reduced[Int((firstIndex + Int32(offset) + 1) >> 1 - newFirst)] &+= count
        }
        firstIndex = newFirst
        counts = reduced
    }

    /// The populated buckets as Prometheus's protobuf format encodes them: spans of consecutive
    /// indexes (each offset is the gap after the previous span) and each count as a difference from
    /// the previous one. Runs of up to two empty buckets stay inside a span, which costs less than a
    /// new span, as client_golang does.
    public func spansAndDeltas() -> (spans: [(offset: Int32, length: UInt32)], deltas: [Int64]) {
        var spans: [(offset: Int32, length: UInt32)] = []
        var deltas: [Int64] = []
        var previousCount: Int64 = 0
        var nextExpectedIndex: Int32 = 0
        var i = 0
        while i < counts.count {
            guard counts[i] != 0 else {
                i += 1
                continue
            }
            let index = firstIndex + Int32(i)
            let gap = index - nextExpectedIndex
            if spans.isEmpty || gap > 2 {
                spans.append((offset: spans.isEmpty ? index : gap, length: 0))
            } else {
                for _ in 0..<gap {  // keep a short run of empty buckets inside the span
                    deltas.append(-previousCount)
                    previousCount = 0
                    spans[spans.count - 1].length += 1
                }
            }
            let count = Int64(truncatingIfNeeded: counts[i])
            deltas.append(count &- previousCount)
            previousCount = count
            spans[spans.count - 1].length += 1
            nextExpectedIndex = index + 1
            i += 1
        }
        return (spans, deltas)
    }
}
