/// Keeps a label's distinct values bounded: the first `capacity` values seen keep their own
/// series for the life of the process; later ones share `__other__`, and each observation sent
/// there is counted so a source can publish how much the cap hid.
///
/// Admission is sticky rather than "top N by count", so a value never moves in and out of
/// `__other__` between passes, which would make both series non-monotonic counters. Every label
/// that user or server data can grow (routes, fingerprints' databases and users, relations, Redis
/// commands and errors) goes through one of these.
public struct LabelLimiter<Value: Hashable & Sendable>: Sendable {
    public static var overflowValue: String { "__other__" }

    public let capacity: Int
    public private(set) var admitted: Set<Value> = []
    /// Observations refused since the last ``takeOverflowCount()``.
    public private(set) var overflowCount = 0

    public init(capacity: Int) { self.capacity = max(0, capacity) }

    /// `value` itself while it has (or can get) a series of its own; nil when the cap is reached.
    public mutating func admit(_ value: Value) -> Value? {
        if admitted.contains(value) { return value }
        guard admitted.count < capacity else {
            overflowCount += 1
            return nil
        }
        admitted.insert(value)
        return value
    }

    /// The refused observations counted since the last call, and resets the count.
    public mutating func takeOverflowCount() -> Int {
        defer { overflowCount = 0 }
        return overflowCount
    }
}

extension LabelLimiter where Value == String {
    /// The label value to use: `value`, or `__other__` past the cap.
    public mutating func limit(_ value: String) -> String {
        admit(value) ?? Self.overflowValue
    }
}
