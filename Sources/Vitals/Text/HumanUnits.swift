import Foundation

/// Numbers as a person reads them, on the page and in `vitals report`: milliseconds rather than
/// seconds with six decimals, percentages, rates per second or minute.
public enum HumanUnits {
    /// Seconds as a person reads them: `0.42 ms`, `4.2 ms`, `182 ms`, `1.25 s`.
    public static func duration(_ seconds: Double?) -> String {
        guard let seconds, seconds.isFinite else { return "–" }
        let ms = seconds * 1000
        switch ms {
        case ..<1: return String(format: "%.2f ms", ms)
        case ..<10: return String(format: "%.1f ms", ms)
        case ..<1000: return String(format: "%.0f ms", ms)
        case ..<10000: return String(format: "%.2f s", seconds)
        default: return String(format: "%.1f s", seconds)
        }
    }

    public static func rate(_ perSecond: Double) -> String {
        switch perSecond {
        case 0: "0/s"
        case ..<0.1: String(format: "%.1f/min", perSecond * 60)
        case ..<10: String(format: "%.1f/s", perSecond)
        default: String(format: "%.0f/s", perSecond)
        }
    }

    public static func percent(_ ratio: Double?) -> String {
        guard let ratio, ratio.isFinite else { return "–" }
        return String(format: "%.1f %%", ratio * 100)
    }

    public static func count(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(format: "%.1f", value)
    }

    /// A stretch of time: `45 s`, `12 min`, `3.5 h`.
    public static func span(_ seconds: Double) -> String {
        switch seconds {
        case ..<90: "\(Int(seconds.rounded())) s"
        case ..<(90 * 60): "\(Int((seconds / 60).rounded())) min"
        default: String(format: "%.1f h", seconds / 3600)
        }
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
