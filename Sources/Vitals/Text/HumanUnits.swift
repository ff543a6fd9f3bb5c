#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Numbers as a person reads them, on the page and in `vitals report`: milliseconds rather than
/// seconds with six decimals, percentages, rates per second or minute.
public enum HumanUnits {
    /// Seconds as a person reads them: `0.42 ms`, `4.2 ms`, `182 ms`, `1.25 s`.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "–" }
        let ms = seconds * 1000
        switch ms {
        case ..<1: return fixed(ms, digits: 2) + " ms"
        case ..<10: return fixed(ms, digits: 1) + " ms"
        case ..<1000: return fixed(ms, digits: 0) + " ms"
        case ..<10000: return fixed(seconds, digits: 2) + " s"
        default: return fixed(seconds, digits: 1) + " s"
        }
    }

    public static func rate(_ perSecond: Double) -> String {
        switch perSecond {
        case 0: "0/s"
        case ..<0.1: fixed(perSecond * 60, digits: 1) + "/min"
        case ..<10: fixed(perSecond, digits: 1) + "/s"
        default: fixed(perSecond, digits: 0) + "/s"
        }
    }

    public static func percent(_ ratio: Double?) -> String {
        guard let ratio, ratio.isFinite else { return "–" }
        return fixed(ratio * 100, digits: 1) + " %"
    }

    public static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : fixed(value, digits: 1)
    }

    /// A stretch of time: `45 s`, `12 min`, `3.5 h`.
    public static func span(_ seconds: Double) -> String {
        switch seconds {
        case ..<90: "\(Int(seconds.rounded())) s"
        case ..<(90 * 60): "\(Int((seconds / 60).rounded())) min"
        default: fixed(seconds / 3600, digits: 1) + " h"
        }
    }

    /// `value` with `digits` decimals, rounded as printf's `%.Nf` rounds (C's own, without Foundation).
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : value < 0 ? "-inf" : "inf" }
        // %.Nf of the largest double is 309 digits before the point.
        var buffer = [CChar](repeating: 0, count: 330 + max(0, digits))
        let written = withVaList([value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.\(max(0, min(digits, 17)))f", arguments) }
        }
        guard written > 0 else { return "" }
        return buffer.withUnsafeBufferPointer { String(decoding: UnsafeRawBufferPointer($0).prefix(Int(written)), as: UTF8.self) }
    }

    /// A finding's evidence value in its unit.
    public static func evidence(_ evidence: Finding.Evidence) -> String {
        switch evidence.unit {
        case "seconds": duration(evidence.value)
        case "ratio": percent(evidence.value)
        case "per_minute": count(evidence.value) + "/min"
        default: count(evidence.value)
        }
    }
}
