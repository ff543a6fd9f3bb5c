import CCrypt
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// The request context of vitals' router: whether the request may see details.
struct VitalsRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Basic auth passed, or none is configured. `/ready` serves details only then.
    var isAuthenticated = false

    init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// HTTP basic authentication against the users of the web configuration in force (reloaded on
/// SIGHUP), as the exporter-toolkit does it. Requests on `exemptPaths` pass without
/// credentials but are marked unauthenticated.
struct BasicAuthMiddleware: RouterMiddleware {
    typealias Context = VitalsRequestContext

    let web: WebState
    let exemptPaths: Set<String>
    let failures: CounterFamily

    init(web: WebState, exemptPaths: Set<String>, registry: MetricRegistry) throws {
        self.web = web
        self.exemptPaths = exemptPaths
        failures = try registry.counter("vitals_http_auth_failures_total", help: "Requests refused or marked unauthenticated by basic auth.")
        failures.initialize([])
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        guard let verifier = web.current.authentication else {
            context.isAuthenticated = true
            return try await next(request, context)
        }
        let exempt = exemptPaths.contains(request.uri.path)
        let header = request.headers[.authorization]
        if exempt, header == nil { return try await next(request, context) }
        switch await verifier.verify(authorization: header) {
        case .accepted:
            context.isAuthenticated = true
            return try await next(request, context)
        case .rejected:
            failures.increment()
            return exempt ? try await next(request, context) : Self.unauthorized()
        case .busy:
            return exempt
                ? try await next(request, context)
                : Response(
                    status: .serviceUnavailable, headers: [.retryAfter: "1", .contentType: "text/plain"],
                    body: .init(byteBuffer: .init(string: "Too many password checks in progress\n")))
        }
    }

    static func unauthorized() -> Response {
        Response(
            status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"vitals\"", .contentType: "text/plain"],
            body: .init(byteBuffer: .init(string: "Unauthorized\n")))
    }
}

/// Checks basic-auth credentials with constant work whatever the user name.
///
/// - An unknown user is checked against a dummy hash of the configured users' highest cost, so
///   it costs one full bcrypt like a known user with a wrong password: timing does not tell
///   which user names exist.
/// - bcrypt (`crypt_r`, tens of milliseconds of CPU) runs on a small thread pool of its own,
///   never on an event loop or Swift's cooperative pool; at most `maxInFlight` checks are
///   queued or running, and a check beyond that is refused at once (`busy`).
/// - Outcomes are remembered per (user, hash, password) digest — never the password: successes
///   until the configuration changes, failures for `failureTTL`, so a retried wrong password
///   costs no second bcrypt and a scrape with the right one costs none after the first.
final class BasicAuthVerifier: Sendable {
    enum Outcome: Sendable {
        case accepted
        case rejected
        case busy
    }

    /// Two threads: a check is one core for tens of milliseconds, and vitals needs the others.
    static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    let users: [String: String]
    /// What an unknown user's password is checked against, at the users' highest cost.
    let dummyHash: String
    private let maxInFlight: Int
    private let failureTTL: TimeAmount
    private let inFlight = NIOLockedValueBox(0)
    private let outcomes = NIOLockedValueBox(OutcomeCache())

    init(users: [String: String], maxInFlight: Int = 8, failureTTL: Duration = .seconds(10)) {
        self.users = users
        let cost = users.values.compactMap(BcryptHash.cost(of:)).max() ?? 10
        self.dummyHash = BcryptHash.dummy(cost: cost)
        self.maxInFlight = maxInFlight
        self.failureTTL = TimeAmount(failureTTL)
    }

    func verify(authorization header: String?) async -> Outcome {
        guard let header, let (user, password) = Self.credentials(header) else { return .rejected }
        let known = users[user]
        let hash = known ?? dummyHash
        var hasher = Hasher()
        hasher.combine(user)
        hasher.combine(hash)
        hasher.combine(password)
        let key = hasher.finalize()
        if let remembered = outcomes.withLockedValue({ $0.lookup(key, now: .now()) }) {
            return remembered && known != nil ? .accepted : .rejected
        }
        let admitted = inFlight.withLockedValue { count in
            guard count < maxInFlight else { return false }
            count += 1
            return true
        }
        guard admitted else { return .busy }
        defer { inFlight.withLockedValue { $0 -= 1 } }
        let matches = (try? await Self.pool.runIfActive { Self.verify(password: password, hash: hash) }) ?? false
        let ttl = failureTTL
        outcomes.withLockedValue { $0.store(key, matches, expires: matches ? nil : .now() + ttl) }
        return matches && known != nil ? .accepted : .rejected
    }

    static func credentials(_ header: String) -> (String, String)? {
        guard header.count < 4096, header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .spaceAndTab)),
            let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }

    /// `crypt_r` with the stored hash as setting re-hashes the password with the same salt and
    /// cost. Blocking: call it on ``pool`` only.
    static func verify(password: String, hash: String) -> Bool {
        var data = crypt_data()
        guard let result = crypt_r(password, hash, &data) else { return false }
        let computed = Array(String(cString: result).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for (a, b) in zip(computed, expected) { difference |= a ^ b }
        return difference == 0
    }
}

/// Digests of credentials already checked, bounded: cleared whole when full.
struct OutcomeCache {
    private var entries: [Int: (matches: Bool, expires: NIODeadline?)] = [:]
    private let limit = 1024

    func lookup(_ key: Int, now: NIODeadline) -> Bool? {
        guard let entry = entries[key] else { return nil }
        if let expires = entry.expires, expires <= now { return nil }
        return entry.matches
    }

    mutating func store(_ key: Int, _ matches: Bool, expires: NIODeadline?) {
        if entries.count >= limit { entries.removeAll() }
        entries[key] = (matches, expires)
    }
}

/// `http_server_config.headers` on every response, the refusals included.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = VitalsRequestContext
    let web: WebState

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            // A 404 or a 400 is a response too: it gets the headers.
            response = try error.response(from: request, context: context)
        }
        for (name, value) in web.current.configuration.headers {
            if let field = HTTPField.Name(name) { response.headers[field] = value }
        }
        return response
    }
}
