/// One request as a timing-log line describes it.
///
/// Parsers produce it from the raw bytes of a single line (without its newline); the
/// source turns `path` into a route template before anything reaches the registry.
public struct TimingRecord: Sendable, Equatable {
    public var method: String
    /// The request target as logged, query string included.
    public var path: String
    /// The HTTP status, when the format carries one.
    public var status: Int?
    public var durationSeconds: Double

    public init(method: String, path: String, status: Int? = nil, durationSeconds: Double) {
        self.method = method
        self.path = path
        self.status = status
        self.durationSeconds = durationSeconds
    }
}

/// What one line of an application log turned out to be.
public enum TimingLineResult: Sendable, Equatable {
    case request(TimingRecord)
    /// asyncio's debug-mode warning `Executing <Task …> took 0.523 seconds`: the app's event loop was blocked.
    case eventLoopBlocked(seconds: Double)
    case unparsed
}

/// Parses single log lines. Implementations are pure: no I/O, no shared state.
public protocol TimingLineParser: Sendable {
    /// Whether records from this parser carry an HTTP status (decides the `status_class` label).
    var hasStatus: Bool { get }
    /// - Parameter line: the line's bytes without the trailing newline (a trailing `\r` may remain).
    func parse(_ line: UnsafeRawBufferPointer) -> TimingLineResult
}
