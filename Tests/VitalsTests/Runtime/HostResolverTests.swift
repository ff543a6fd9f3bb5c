import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing

@testable import Vitals

/// Host name resolution bounded by a deadline: a resolver that never answers costs the caller its
/// deadline, no more, and ties up only the resolver's own threads and a bounded queue.
@Suite struct HostResolverTests {
    /// A stand-in for getaddrinfo that answers only when the test lets it.
    final class HeldLookup: Sendable {
        private let released = StopSignal(wakesDescriptors: false)
        let calls = Atomic<Int>(0)
        func release() { released.stop() }
        var lookup: HostResolver.Lookup {
            { [self] _ in
                calls.add(1, ordering: .relaxed)
                _ = released.wait(for: .seconds(60))
                return ["192.0.2.1"]
            }
        }
    }

    @Test func addressesAreReturnedAsTheyAreWithoutALookup() throws {
        let held = HeldLookup()
        defer { held.release() }
        let resolver = HostResolver(threads: 1, maxPendingLookups: 1, lookup: held.lookup)
        for address in ["127.0.0.1", "::1", "fd00::5", "10.1.2.3"] {
            #expect(try resolver.addresses(of: address, deadline: .now + .seconds(1)) == [address])
        }
        #expect(held.calls.load(ordering: .relaxed) == 0)
        #expect(HostResolver.isNumeric("::ffff:10.0.0.1"))
        #expect(!HostResolver.isNumeric("db.internal") && !HostResolver.isNumeric("10.0.0") && !HostResolver.isNumeric(""))
    }

    @Test func theSystemResolverFindsLocalhost() throws {
        let addresses = try HostResolver.addresses(of: "localhost", deadline: .now + .seconds(30))
        #expect(addresses.contains("127.0.0.1") || addresses.contains("::1"), "\(addresses)")
        #expect(Set(addresses).count == addresses.count)
    }

    @Test func aNameNoResolverKnowsIsAnUnknownHost() {
        let resolver = HostResolver(threads: 1, maxPendingLookups: 1) { _ in nil }
        #expect(throws: HostResolutionError(code: .unknownHost, host: "db.invalid", limit: 1)) {
            try resolver.addresses(of: "db.invalid", deadline: .now + .seconds(30))
        }
        let empty = HostResolver(threads: 1, maxPendingLookups: 1) { _ in [] }
        #expect(throws: HostResolutionError(code: .unknownHost, host: "db.invalid", limit: 1)) {
            try empty.addresses(of: "db.invalid", deadline: .now + .seconds(30))
        }
    }

    /// The deadline ends the wait while the lookup still hangs; the caller is told why, and the
    /// error names the host and nothing else.
    @Test func aLookupThatHangsEndsAtTheDeadline() throws {
        let held = HeldLookup()
        defer { held.release() }
        let resolver = HostResolver(threads: 1, maxPendingLookups: 4, lookup: held.lookup)
        var caught: HostResolutionError?
        do {
            _ = try resolver.addresses(of: "hung.internal", deadline: .now + .milliseconds(200))
        } catch {
            caught = error
        }
        // Returned while the lookup is still held: the wait did not depend on it.
        #expect(caught?.code == .timeout)
        #expect(caught?.description == "cannot resolve 'hung.internal' before the deadline (DNS did not answer)")
        #expect(held.calls.load(ordering: .relaxed) == 1)
    }

    /// With every thread held and the queue full, a further lookup fails at once instead of
    /// queueing without bound; once the resolver answers, lookups work again, and the ones the
    /// callers gave up on are skipped rather than run late.
    @Test func aResolverThatNeverAnswersHoldsABoundedQueue() throws {
        let held = HeldLookup()
        let resolver = HostResolver(threads: 1, maxPendingLookups: 3, lookup: held.lookup)
        for _ in 0..<3 {
            #expect(throws: HostResolutionError.self) { try resolver.addresses(of: "hung.internal", deadline: .now + .milliseconds(50)) }
        }
        #expect(throws: HostResolutionError(code: .busy, host: "hung.internal", limit: 3)) {
            try resolver.addresses(of: "hung.internal", deadline: .now + .seconds(30))
        }
        held.release()
        // The held lookup finishes, the two abandoned ones are skipped and free their places.
        var answered: [String]?
        for _ in 0..<500 where answered == nil {
            answered = try? resolver.addresses(of: "db.internal", deadline: .now + .seconds(5))
            if answered == nil { usleep(10_000) }
        }
        #expect(answered == ["192.0.2.1"])
        #expect(held.calls.load(ordering: .relaxed) == 2)
    }

    /// On an event loop the lookup never waits there: the future fails at the deadline while the
    /// lookup still hangs, and a full queue fails at once.
    @Test func onALoopAHungLookupFailsAtTheDeadline() async throws {
        let held = HeldLookup()
        defer { held.release() }
        let resolver = HostResolver(threads: 1, maxPendingLookups: 2, lookup: held.lookup)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let first = resolver.addresses(of: "hung.internal", deadline: .now + .milliseconds(200), on: loop)
        // The loop runs other work while the lookup hangs.
        #expect(try await loop.submit { 7 }.get() == 7)
        await #expect(throws: HostResolutionError(code: .timeout, host: "hung.internal", limit: 2)) { try await first.get() }
        _ = resolver.addresses(of: "hung.internal", deadline: .now + .milliseconds(50), on: loop)
        await #expect(throws: HostResolutionError(code: .busy, host: "hung.internal", limit: 2)) {
            try await resolver.addresses(of: "hung.internal", deadline: .now + .seconds(30), on: loop).get()
        }
        #expect(try await resolver.addresses(of: "10.0.0.1", deadline: .now + .seconds(1), on: loop).get() == ["10.0.0.1"])
    }

    /// NIO's resolver interface: one lookup answers both queries, each with its own family.
    @Test func theNIOResolverSplitsOneLookupByFamily() async throws {
        let resolver = HostResolver(threads: 1, maxPendingLookups: 2) { _ in ["192.0.2.1", "2001:db8::1", "192.0.2.2"] }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let bounded = BoundedResolver(host: "db.internal", deadline: .now + .seconds(30), on: loop, resolver: resolver)
        let v4 = try await bounded.initiateAQuery(host: "db.internal", port: 8000).get()
        let v6 = try await bounded.initiateAAAAQuery(host: "db.internal", port: 8000).get()
        #expect(v4 == [try SocketAddress(ipAddress: "192.0.2.1", port: 8000), try SocketAddress(ipAddress: "192.0.2.2", port: 8000)])
        #expect(v6 == [try SocketAddress(ipAddress: "2001:db8::1", port: 8000)])
        let unknown = BoundedResolver(
            host: "db.invalid", deadline: .now + .seconds(30), on: loop, resolver: HostResolver(threads: 1, maxPendingLookups: 1) { _ in nil })
        await #expect(throws: HostResolutionError(code: .unknownHost, host: "db.invalid", limit: 1)) {
            try await unknown.initiateAQuery(host: "db.invalid", port: 1).get()
        }
    }
}
