import Logging
import NIOCore
import ServiceLifecycle

/// Times a request to a cheap endpoint of the application, every interval.
///
/// For a single-threaded async server (uvicorn, Node) the delay of a trivial endpoint is
/// dominated by how long its event loop takes to get to the request, so this is the sidecar's
/// view of the application's event-loop lag. Probes never overlap: the next starts only after the
/// previous one finished or timed out.
public final class AppProbe: VitalsSource {
    public let name = "app_probe"
    public let status: SourceStatus
    private let url: ProbeURL
    private let interval: Duration
    private let timeout: Duration
    private let group: any EventLoopGroup
    private let duration: HistogramFamily
    private let up: GaugeFamily
    private let logger: Logger

    public static let buckets: [Double] = [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    public init(url: ProbeURL, interval: Duration, timeout: Duration, context: SourceContext) throws {
        self.url = url
        self.interval = interval
        self.timeout = timeout
        self.group = context.eventLoopGroup
        self.logger = context.logger
        self.status = context.health.makeStatus(source: "app_probe")
        self.duration = try context.registry.histogram(
            "app_probe_duration_seconds", help: "How long the application took to answer vitals' probe request (--app-probe.url).",
            buckets: Self.buckets)
        self.up = try context.registry.gauge("app_probe_up", help: "Whether the application answered the last probe in time with a 2xx or 3xx status.")
    }

    public func run() async throws {
        logger.info("application probe started", metadata: ["url": "\(url)"])
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let start = ContinuousClock.now
                await self.probeOnce()
                let elapsed = ContinuousClock.now - start
                if elapsed < self.interval { try? await LoopTimer.sleep(for: self.interval - elapsed) }
            }
        }
    }

    func probeOnce() async {
        let start = ContinuousClock.now
        do {
            let code = try await HTTPProbeClient.get(url, timeout: timeout, group: group)
            let elapsed = (ContinuousClock.now - start).seconds
            duration.observe([], elapsed)
            if (200..<400).contains(code) {
                up.set(to: 1)
                status.recordSuccess(duration: elapsed)
            } else {
                up.set(to: 0)
                status.recordError(.query, message: "the application answered the probe with HTTP \(code)", duration: elapsed)
            }
        } catch let error as HTTPProbeClient.Failure {
            let elapsed = (ContinuousClock.now - start).seconds
            // A timed-out probe still says the application took at least this long.
            if error.code == .timeout { duration.observe([], elapsed) }
            up.set(to: 0)
            status.recordError(error.code == .timeout ? .timeout : .connect, message: "probe of \(url): \(error)", duration: elapsed)
        } catch {
            up.set(to: 0)
            status.recordError(.connect, message: "probe of \(url) failed")
        }
    }
}
