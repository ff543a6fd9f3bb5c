#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOConcurrencyHelpers
import NIOCore
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
        let request = try submit(host)
        let left = deadline - .now
        guard left > .zero, request.done.wait(for: left) else {
            request.abandon()
            throw HostResolutionError(code: .timeout, host: host, limit: maxPendingLookups)
        }
        return try Self.answer(request.result, host: host, limit: maxPendingLookups)
    }

    /// The same lookup for a caller on an event loop, which must not wait: the future completes
    /// with the addresses, or fails at `deadline`, when the lookup is abandoned as above.
    func addresses(of host: String, deadline: ContinuousClock.Instant, on loop: any EventLoop) -> EventLoopFuture<[String]> {
        if Self.isNumeric(host) { return loop.makeSucceededFuture([host]) }
        let promise = loop.makePromise(of: [String].self)
        let limit = maxPendingLookups
        let request: PendingLookup
        do {
            request = try submit(host) { result in promise.completeWith(Result { () throws(HostResolutionError) in try Self.answer(result, host: host, limit: limit) }) }
        } catch {
            promise.fail(error)
            return promise.futureResult
        }
        let timer = loop.scheduleTask(in: TimeAmount(max(.zero, deadline - .now))) {
            request.abandon()
            promise.fail(HostResolutionError(code: .timeout, host: host, limit: limit))
        }
        promise.futureResult.whenComplete { _ in timer.cancel() }
        return promise.futureResult
    }

    /// Queues a lookup on the pool, or fails at once with `.busy` when `maxPendingLookups` wait.
    private func submit(_ host: String, onFinish: (@Sendable ([String]?) -> Void)? = nil) throws(HostResolutionError) -> PendingLookup {
        let admitted = pending.withLockedValue { count in
            guard count < maxPendingLookups else { return false }
            count += 1
            return true
        }
        guard admitted else { throw HostResolutionError(code: .busy, host: host, limit: maxPendingLookups) }
        let request = PendingLookup(onFinish: onFinish)
        let (pending, lookup) = (self.pending, self.lookup)
        pool.submit { _ in
            defer { pending.withLockedValue { $0 -= 1 } }
            guard !request.isAbandoned else { return }
            request.finish(lookup(host))
        }
        return request
    }

    /// A finished lookup's addresses, or `.unknownHost` when it found none.
    private static func answer(_ result: [String]?, host: String, limit: Int) throws(HostResolutionError) -> [String] {
        guard let addresses = result, !addresses.isEmpty else { throw HostResolutionError(code: .unknownHost, host: host, limit: limit) }
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
    /// Set once the lookup has finished; a blocking caller sleeps on it.
    let done = StopSignal(wakesDescriptors: false)
    /// Called with the result by the pool thread, for a caller on an event loop.
    private let onFinish: (@Sendable ([String]?) -> Void)?

    init(onFinish: (@Sendable ([String]?) -> Void)?) { self.onFinish = onFinish }

    var isAbandoned: Bool { state.withLockedValue { $0.abandoned } }
    var result: [String]? { state.withLockedValue { $0.result } }

    func finish(_ addresses: [String]?) {
        state.withLockedValue { $0.result = addresses }
        done.stop()
        onFinish?(addresses)
    }

    func abandon() { state.withLockedValue { $0.abandoned = true } }
}

/// NIO's resolver interface over ``HostResolver``, for a client bootstrap's connect by name. NIO's
/// own resolver runs getaddrinfo on a serial Dispatch queue of each event loop, with no deadline and
/// no bound: while DNS does not answer, every connect adds a lookup that runs later, in turn, for
/// nobody. Here a lookup nobody waits for is skipped, and at most `maxPendingLookups` wait. One
/// lookup serves both of Happy Eyeballs' queries (the pool's getaddrinfo asks for both families).
final class BoundedResolver: Resolver, Sendable {
    private let lookup: EventLoopFuture<[String]>

    init(host: String, deadline: ContinuousClock.Instant, on loop: any EventLoop, resolver: HostResolver = .shared) {
        lookup = resolver.addresses(of: host, deadline: deadline, on: loop)
    }

    func initiateAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> { addresses(port: port, family: .inet) }

    func initiateAAAAQuery(host: String, port: Int) -> EventLoopFuture<[SocketAddress]> { addresses(port: port, family: .inet6) }

    /// Nothing to cancel: a lookup nobody waits for any more ends on the pool, bounded there.
    func cancelQueries() {}

    private func addresses(port: Int, family: NIOBSDSocket.ProtocolFamily) -> EventLoopFuture<[SocketAddress]> {
        lookup.map { addresses in
            addresses.compactMap { try? SocketAddress(ipAddress: $0, port: port) }.filter { $0.protocol == family }
        }
    }
}
