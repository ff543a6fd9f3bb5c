import NIOConcurrencyHelpers

/// Extra read-only HTTP endpoints that sources offer next to `/metrics`, such as `/statements`
/// (query texts, which must never be labels) or `/slow-queries`.
///
/// Sources register while they are made; the HTTP layer mounts whatever is registered when the
/// application is built. Handlers run on request and must be cheap and non-blocking: they read
/// state the source already collected.
public final class SourceEndpoints: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int = 200, contentType: String = "application/json", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    public struct Endpoint: Sendable {
        public let path: String
        public let summary: String
        public let handle: @Sendable (_ query: [String: String]) -> Response
    }

    private let endpoints = NIOLockedValueBox<[Endpoint]>([])

    public init() {}

    /// - Parameters:
    ///   - path: absolute, e.g. `/statements`; registering a path twice keeps the first.
    ///   - summary: one line for the index page.
    public func register(path: String, summary: String, handle: @escaping @Sendable (_ query: [String: String]) -> Response) {
        endpoints.withLockedValue { list in
            guard !list.contains(where: { $0.path == path }) else { return }
            list.append(Endpoint(path: path, summary: summary, handle: handle))
        }
    }

    public var all: [Endpoint] { endpoints.withLockedValue { $0 } }
}
