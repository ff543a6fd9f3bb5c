#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOPosix

/// Why a host name did not resolve in time.
public struct HostResolutionError: Error, Sendable, Equatable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        fileprivate let name: String
        /// The deadline came before the resolver answered (a hung or unreachable DNS server).
        public static let timeout = Code(name: "timeout")
        /// The resolver answered: no such host, or no address for it.
        public static let unknownHost = Code(name: "unknown host")
        /// Too many lookups are already waiting on a resolver that does not answer.
        public static let busy = Code(name: "resolver busy")
    }

    public let code: Code
    /// The name looked up: a host name is no secret, and says which target failed.
    public let host: String
    /// The resolver's bound on waiting lookups, for `.busy`'s sentence.
    let limit: Int

    public var description: String {
        switch code {
        case .timeout: return "cannot resolve '\(host)' before the deadline (DNS did not answer)"
        case .busy: return "cannot resolve '\(host)': \(limit) lookups already wait on DNS"
        default: return "cannot resolve '\(host)'"
        }
    }
}

/// Host names resolved within a deadline. `getaddrinfo(3)` takes no timeout: a DNS server that
/// does not answer holds its caller for the resolver's own timeouts and retries (5 s × attempts ×
/// servers in resolv.conf), past any pass's deadline. libpq and hiredis both resolve inside their
/// connect calls, so vitals resolves first, here, and hands them numeric addresses.
///
/// The lookup runs on a small pool of its own; the caller, on its source's worker thread, waits for
/// it at most until its deadline. A lookup the caller gave up on finishes (or is skipped, if it has
/// not started) on the pool, and at most `maxPendingLookups` may wait there at once, so a dead
/// DNS server ties up the pool's threads and a bounded queue, never a source.
public final class HostResolver: Sendable {
    /// The daemon's resolver: two threads, and at most 32 lookups queued or running at once.
    public static let shared = HostResolver(threads: 2, maxPendingLookups: 32)

    /// The function that resolves: `getaddrinfo` in the daemon; tests give a stand-in to hold it.
    typealias Lookup = @Sendable (_ host: String) -> [String]?

    /// How many lookups may be queued or running at once; more fail at once with `.busy`.
    let maxPendingLookups: Int
    private let pool: NIOThreadPool
    private let pending = NIOLockedValueBox(0)
    private let lookup: Lookup

    init(threads: Int, maxPendingLookups: Int, lookup: @escaping Lookup = HostResolver.systemLookup) {
        self.maxPendingLookups = maxPendingLookups
        self.lookup = lookup
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    /// The numeric addresses of `host` (IPv4 and IPv6, in the resolver's order, without repeats),
    /// or `[host]` when it already is one. Blocking: call it on a worker thread only.
    public static func addresses(of host: String, deadline: ContinuousClock.Instant) throws(HostResolutionError) -> [String] {
        try shared.addresses(of: host, deadline: deadline)
    }

    func addresses(of host: String, deadline: ContinuousClock.Instant) throws(HostResolutionError) -> [String] {
        if Self.isNumeric(host) { return [host] }
        let admitted = pending.withLockedValue { count in
            guard count < maxPendingLookups else { return false }
            count += 1
            return true
        }
        guard admitted else { throw HostResolutionError(code: .busy, host: host, limit: maxPendingLookups) }
        let request = PendingLookup()
        let (pending, lookup) = (self.pending, self.lookup)
        pool.submit { _ in
            defer { pending.withLockedValue { $0 -= 1 } }
            guard !request.isAbandoned else { return }
            request.finish(lookup(host))
        }
        let left = deadline - .now
        guard left > .zero, request.done.wait(for: left) else {
            request.abandon()
            throw HostResolutionError(code: .timeout, host: host, limit: maxPendingLookups)
        }
        guard let addresses = request.result, !addresses.isEmpty else { throw HostResolutionError(code: .unknownHost, host: host, limit: maxPendingLookups) }
        return addresses
    }

    /// Whether `host` is an IPv4 or IPv6 address already (nothing to resolve).
    public static func isNumeric(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    static let systemLookup: Lookup = { host in
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            var name = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(current.pointee.ai_addr, current.pointee.ai_addrlen, &name, socklen_t(name.count), nil, 0, NI_NUMERICHOST) == 0 {
                let address = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if !addresses.contains(address) { addresses.append(address) }
            }
            entry = current.pointee.ai_next
        }
        return addresses
    }
}

/// One lookup between the caller that waits and the pool thread that resolves.
private final class PendingLookup: Sendable {
    private let state = NIOLockedValueBox<(result: [String]?, abandoned: Bool)>((nil, false))
    /// Set once the lookup has finished; the caller sleeps on it.
    let done = StopSignal(wakesDescriptors: false)

    var isAbandoned: Bool { state.withLockedValue { $0.abandoned } }
    var result: [String]? { state.withLockedValue { $0.result } }

    func finish(_ addresses: [String]?) {
        state.withLockedValue { $0.result = addresses }
        done.stop()
    }

    func abandon() { state.withLockedValue { $0.abandoned = true } }
}
