/// The unit a log format writes request durations in.
///
/// Metrics are always exported in seconds (Prometheus convention), so every parser converts
/// through this type.
public enum DurationUnit: String, Sendable, Hashable, CaseIterable {
    case seconds
    case milliseconds
    case microseconds
    case nanoseconds

    /// Parses a unit as users write it in configuration: symbols (`s`, `ms`, `us`, `µs`, `ns`)
    /// or words (`seconds`, `millisecond`, …), case-insensitively.
    public init?(name: String) {
        switch name.lowercased() {
        case "s", "sec", "secs", "second", "seconds":
            self = .seconds
        case "ms", "msec", "msecs", "millisecond", "milliseconds":
            self = .milliseconds
        // Both the micro sign (U+00B5) and the Greek small mu (U+03BC) occur in the wild.
        case "us", "\u{00B5}s", "\u{03BC}s", "usec", "usecs", "microsecond", "microseconds":
            self = .microseconds
        case "ns", "nsec", "nsecs", "nanosecond", "nanoseconds":
            self = .nanoseconds
        default:
            return nil
        }
    }

    /// Factor that turns a value in this unit into seconds.
    public var secondsMultiplier: Double {
        switch self {
        case .seconds: 1
        case .milliseconds: 1e-3
        case .microseconds: 1e-6
        case .nanoseconds: 1e-9
        }
    }

    /// Converts `value` (in this unit) to seconds.
    ///
    /// Divides by the exact power of ten instead of multiplying by the inexact
    /// `secondsMultiplier`, so the result is the correctly rounded quotient.
    @inlinable
    public func seconds(_ value: Double) -> Double {
        switch self {
        case .seconds: value
        case .milliseconds: value / 1e3
        case .microseconds: value / 1e6
        case .nanoseconds: value / 1e9
        }
    }
}
