import NIOConcurrencyHelpers

/// A value behind a lock, for state shared between the HTTP handlers, the sources' threads and
/// the event loops.
///
/// A pthread mutex (NIOLock) rather than `Synchronization.Mutex`: the latter is futex-based on
/// Linux, which ThreadSanitizer cannot see, so every guarded access was reported as a race and
/// real races would have been lost among them.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NIOLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        try lock.withLock { try body(&value) }
    }
}
