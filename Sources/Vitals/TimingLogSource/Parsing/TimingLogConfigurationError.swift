/// A timing-log source was configured in a way that cannot work (bad regex, missing named group, …).
///
/// Thrown at startup so the daemon refuses to run instead of silently counting nothing.
public struct TimingLogConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Human-readable explanation, suitable for printing to the operator as is.
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String {
        self.message
    }
}
