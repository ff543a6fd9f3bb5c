import CCrypt
import Foundation
import Hummingbird

/// HTTP basic authentication against bcrypt hashes, as the exporter-toolkit does it.
///
/// bcrypt is slow on purpose (tens of milliseconds), so a successful check is remembered for the
/// exact (user, password) pair; the cache is bounded and keyed by a digest, never the password.
struct BasicAuthMiddleware<Context: RequestContext>: RouterMiddleware {
    let users: [String: String]
    let exemptPaths: Set<String>
    private let verified = VerifiedCredentials()

    init(users: [String: String], exemptPaths: Set<String>) {
        self.users = users
        self.exemptPaths = exemptPaths
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if exemptPaths.contains(request.uri.path) { return try await next(request, context) }
        guard let header = request.headers[.authorization], let (user, password) = Self.credentials(header), let hash = users[user] else {
            return Self.unauthorized()
        }
        var hasher = Hasher()
        hasher.combine(user)
        hasher.combine(password)
        hasher.combine(hash)
        let key = hasher.finalize()
        if verified.contains(key) { return try await next(request, context) }
        guard Self.verify(password: password, hash: hash) else { return Self.unauthorized() }
        verified.insert(key)
        return try await next(request, context)
    }

    static func credentials(_ header: String) -> (String, String)? {
        guard header.count < 4096, header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8), let colon = decoded.firstIndex(of: ":")
        else { return nil }
        return (String(decoded[..<colon]), String(decoded[decoded.index(after: colon)...]))
    }

    /// `crypt_r` with the stored hash as setting re-hashes the password with the same salt and cost.
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

    static func unauthorized() -> Response {
        Response(
            status: .unauthorized, headers: [.wwwAuthenticate: "Basic realm=\"vitals\"", .contentType: "text/plain"],
            body: .init(byteBuffer: .init(string: "Unauthorized\n")))
    }
}

/// Digests of credential pairs that passed bcrypt, bounded: cleared whole when full.
final class VerifiedCredentials: Sendable {
    private let keys = Locked<Set<Int>>([])
    private let limit = 1024

    func contains(_ key: Int) -> Bool { keys.withLock { $0.contains(key) } }

    func insert(_ key: Int) {
        keys.withLock { keys in
            if keys.count >= limit { keys.removeAll() }
            keys.insert(key)
        }
    }
}
