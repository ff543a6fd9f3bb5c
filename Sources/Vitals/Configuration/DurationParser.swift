/// Parses and prints durations the way Prometheus configuration writes them.
public enum DurationParser {
    /// Accepts `250ms`, `5s`, `1m30s`, `2h`, `1.5s`, `100us`; a bare number is seconds.
    public static func parse(_ text: String) -> Duration? {
        let trimmed = text.trimmingCharacters(in: " \t")
        guard !trimmed.isEmpty else { return nil }
        if let seconds = Double(trimmed), seconds.isFinite, seconds >= 0 {
            return .nanoseconds(Int64((seconds * 1e9).rounded()))
        }
        var total = 0.0
        var rest = Substring(trimmed)
        while !rest.isEmpty {
            let number = rest.prefix { $0.isNumber || $0 == "." }
            guard !number.isEmpty, let value = Double(number) else { return nil }
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let multiplier: Double
            switch unit {
            case "ns": multiplier = 1e-9
            case "us", "µs": multiplier = 1e-6
            case "ms": multiplier = 1e-3
            case "s": multiplier = 1
            case "m": multiplier = 60
            case "h": multiplier = 3600
            case "d": multiplier = 86400
            default: return nil
            }
            total += value * multiplier
        }
        guard total.isFinite, total < 1e9 else { return nil }
        return .nanoseconds(Int64((total * 1e9).rounded()))
    }

    public static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        if seconds >= 1, seconds == seconds.rounded() { return "\(Int64(seconds))s" }
        let ms = seconds * 1000
        if ms == ms.rounded() { return "\(Int64(ms))ms" }
        return "\(seconds)s"
    }
}

extension Duration {
    public var seconds: Double {
        let (s, attoseconds) = components
        return Double(s) + Double(attoseconds) / 1e18
    }
}
