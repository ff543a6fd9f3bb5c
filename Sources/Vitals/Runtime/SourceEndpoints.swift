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
        /// `gzip` when ``body`` is compressed.
        public var contentEncoding: String?
        public var body: [UInt8]

        public init(status: Int = 200, contentType: String = "application/json", body: String) {
            self.init(status: status, contentType: contentType, bytes: Array(body.utf8))
        }

        public init(status: Int = 200, contentType: String, contentEncoding: String? = nil, bytes: [UInt8]) {
            self.status = status
            self.contentType = contentType
            self.contentEncoding = contentEncoding
            self.body = bytes
        }

        /// The body as text (every endpoint but a compressed or protobuf scrape answers in UTF-8).
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// What an asynchronous endpoint sees of its request.
    public struct Request: Sendable {
        public var query: [String: String]
        /// Header names lower-cased.
        public var headers: [String: String]

        public init(query: [String: String] = [:], headers: [String: String] = [:]) {
            self.query = query
            self.headers = headers
        }
    }

    public struct Endpoint: Sendable {
        public let path: String
        public let summary: String
        public let respond: @Sendable (_ request: Request) async -> Response

        /// The synchronous view of ``respond`` for endpoints that only read collected state.
        public func handle(_ query: [String: String]) async -> Response { await respond(Request(query: query)) }
    }

    private let endpoints = NIOLockedValueBox<[Endpoint]>([])

    public init() {}

    /// - Parameters:
    ///   - path: absolute, e.g. `/statements`; registering a path twice keeps the first.
    ///   - summary: one line for the index page.
    public func register(path: String, summary: String, handle: @escaping @Sendable (_ query: [String: String]) -> Response) {
        endpoints.withLockedValue { list in
            guard !list.contains(where: { $0.path == path }) else { return }
            list.append(Endpoint(path: path, summary: summary, respond: { handle($0.query) }))
        }
    }

    /// An endpoint that waits for work done elsewhere (`/probe` runs a pass on a target's worker
    /// thread and awaits it with a deadline). The handler must never block: it awaits.
    public func registerAsync(path: String, summary: String, respond: @escaping @Sendable (_ request: Request) async -> Response) {
        endpoints.withLockedValue { list in
            guard !list.contains(where: { $0.path == path }) else { return }
            list.append(Endpoint(path: path, summary: summary, respond: respond))
        }
    }

    public var all: [Endpoint] { endpoints.withLockedValue { $0 } }
}
