import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import Vitals

@Suite struct EventLoopSourceTests {
    func makeContext(group: any EventLoopGroup) -> (SourceContext, MetricRegistry) {
        let registry = MetricRegistry()
        let context = SourceContext(
            registry: registry, health: SourceHealthBoard(), logger: Logger(label: "test"), eventLoopGroup: group)
        return (context, registry)
    }

    @Test func aBlockedLoopShowsInTheHistogramAndTheWindowMaximum() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let (context, registry) = makeContext(group: group)
        let probe = try EventLoopLagProbe(group: group, interval: .milliseconds(20), window: .seconds(5), context: context)

        // Wait until both loops' timers are ticking, then block one loop on purpose for 600 ms, as a
        // blocking C call on it would. Its timer fires when the block ends, late by about that much.
        let task = Task { try await probe.run() }
        for _ in 0..<200 {
            if let count = registry.histogramSnapshot("vitals_event_loop_lag_seconds")?.count, count > 6 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        let ticking = try #require(registry.histogramSnapshot("vitals_event_loop_lag_seconds"))
        #expect(ticking.count > 6)
        #expect(probe.status.snapshot.state == .up)
        let blocked = group.next()
        blocked.execute { usleep(600_000) }
        // Wait for the late fire rather than a fixed time: on a loaded host the loop may start the
        // block late, and the fire records the histogram just before the window maximum.
        for _ in 0..<1000 {
            if let maximum = registry.gaugeValue("vitals_event_loop_lag_max_seconds"), maximum >= 0.2 { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        task.cancel()
        _ = try? await task.value

        let after = try #require(registry.histogramSnapshot("vitals_event_loop_lag_seconds"))
        let bounds = EventLoopLagProbe.buckets
        let overQuarterSecond = after.bucketCounts.enumerated().filter { bounds[$0.offset] > 0.25 }.map(\.element).reduce(0, +)
            + (after.count - after.bucketCounts.reduce(0, +))
        #expect(overQuarterSecond >= 1, "no observation above 0.25 s in \(after.bucketCounts)")
        // One timer per loop: the blocked loop yields one long observation, not a backlog of them.
        #expect(overQuarterSecond <= 2)
        let maximum = try #require(registry.gaugeValue("vitals_event_loop_lag_max_seconds"))
        #expect(maximum >= 0.2)
        // Stopped means stopped: no timer re-arms itself after run() returns (a timer already firing
        // as run() returned may still land, hence the pause before counting).
        try await Task.sleep(for: .milliseconds(50))
        let stopped = try #require(registry.histogramSnapshot("vitals_event_loop_lag_seconds")).count
        try await Task.sleep(for: .milliseconds(100))
        #expect(registry.histogramSnapshot("vitals_event_loop_lag_seconds")?.count == stopped)
        try await group.shutdownGracefully()
    }

    @Test func appProbeTimesTheApplicationAndTimesOut() async throws {
        let router = Router()
        router.get("/health") { request, _ -> String in
            let delay = request.uri.queryParameters.get("delay", as: Int.self) ?? 0
            try await Task.sleep(for: .milliseconds(delay))
            return "ok"
        }
        router.get("/broken") { _, _ -> HTTPResponse.Status in .internalServerError }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let (context, registry) = makeContext(group: MultiThreadedEventLoopGroup.singleton)

            let fast = try AppProbe(
                // A timeout far above the 120 ms: under the whole suite the answer can be seconds late.
                url: try #require(ProbeURL("http://127.0.0.1:\(port)/health?delay=120")), interval: .seconds(1), timeout: .seconds(10), context: context)
            await fast.probeOnce()
            #expect(registry.gaugeValue("app_probe_up") == 1)
            let observed = try #require(registry.histogramSnapshot("app_probe_duration_seconds"))
            #expect(observed.count == 1)
            #expect(observed.sum >= 0.12 && observed.sum < 10)
            #expect(fast.status.snapshot.state == .up)

            // By name, through vitals' bounded resolver and NIO's Happy Eyeballs: localhost may
            // resolve to ::1 first, where nothing listens.
            let byName = try AppProbe(
                url: try #require(ProbeURL("http://localhost:\(port)/health")), interval: .seconds(1), timeout: .seconds(10), context: context)
            await byName.probeOnce()
            #expect(byName.status.snapshot.state == .up, "\(byName.status.snapshot)")

            let slow = try AppProbe(
                url: try #require(ProbeURL("http://127.0.0.1:\(port)/health?delay=6000")), interval: .seconds(1), timeout: .milliseconds(200),
                context: context)
            let start = ContinuousClock.now
            await slow.probeOnce()
            // A functional deadline with a wide margin: the server answers only after 6 s.
            #expect(ContinuousClock.now - start < .seconds(5), "the probe's timeout was not enforced")
            #expect(registry.gaugeValue("app_probe_up") == 0)
            #expect(slow.status.snapshot.lastErrorReason == .timeout)

            let broken = try AppProbe(
                url: try #require(ProbeURL("http://127.0.0.1:\(port)/broken")), interval: .seconds(1), timeout: .seconds(1), context: context)
            await broken.probeOnce()
            #expect(registry.gaugeValue("app_probe_up") == 0)
        }

        // Nothing listening: a connect failure, not a hang.
        let (context, registry) = makeContext(group: MultiThreadedEventLoopGroup.singleton)
        let closed = try AppProbe(
            url: try #require(ProbeURL("http://127.0.0.1:\(TestEnvironment.freePort())/health")), interval: .seconds(1), timeout: .seconds(1),
            context: context)
        await closed.probeOnce()
        #expect(registry.gaugeValue("app_probe_up") == 0)
        #expect(closed.status.snapshot.lastErrorReason == .connect)
    }

    @Test(arguments: [
        ("http://127.0.0.1:8000/health", "127.0.0.1", 8000, "/health"),
        ("http://app/", "app", 80, "/"),
        ("http://app", "app", 80, "/"),
        ("http://[::1]:9000/h?x=1", "::1", 9000, "/h?x=1"),
    ])
    func probeURLs(text: String, host: String, port: Int, target: String) throws {
        let url = try #require(ProbeURL(text))
        #expect(url.host == host)
        #expect(url.port == port)
        #expect(url.target == target)
    }

    @Test(arguments: ["https://app/health", "http://", "http://app:0/", "http://user:pw@app/", "ftp://x", "http://app/a b"])
    func invalidProbeURLs(text: String) {
        #expect(ProbeURL(text) == nil)
    }
}

extension MetricRegistry {
    func histogramSnapshot(_ name: String, labels: [String] = []) -> (bucketCounts: [UInt64], sum: Double, count: UInt64)? {
        guard let family = gather().first(where: { $0.descriptor.name == name }),
            let series = family.series.first(where: { $0.labelValues == labels }),
            case .histogram(let counts, let sum, let count, _) = series.value
        else { return nil }
        return (counts, sum, count)
    }

    func gaugeValue(_ name: String, labels: [String] = []) -> Double? {
        guard let family = gather().first(where: { $0.descriptor.name == name }),
            let series = family.series.first(where: { $0.labelValues == labels }),
            case .scalar(let value) = series.value
        else { return nil }
        return value
    }
}
