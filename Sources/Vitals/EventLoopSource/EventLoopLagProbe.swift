import Logging
import NIOCore
import ServiceLifecycle

/// Measures how late vitals' own event loops run a task scheduled on them.
///
/// A late task means something blocked the loop: every connection it serves stalls for as long.
/// This is the proof that libpq, hiredis and file I/O never run on an event loop. Only one probe
/// is in flight per loop, so a loop blocked for seconds yields one observation of seconds, not a
/// queue of probes.
public final class EventLoopLagProbe: VitalsSource {
    public let name = "event_loop"
    public let status: SourceStatus
    private let loops: [any EventLoop]
    private let interval: Duration
    private let window: Duration
    private let histogram: HistogramFamily
    private let maxGauge: GaugeFamily
    private let state: Locked<State>

    public static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct State {
        var inFlight: [Bool]
        /// Largest lag seen in each recent interval, oldest first; bounded by window / interval.
        var recentMaxima: [Double] = []
        var currentMaximum: Double = 0
    }

    public init(group: any EventLoopGroup, interval: Duration, window: Duration, context: SourceContext) throws {
        self.loops = Array(group.makeIterator())
        self.interval = interval
        self.window = window
        self.status = context.health.makeStatus(source: "event_loop")
        self.histogram = try context.registry.histogram(
            "vitals_event_loop_lag_seconds", help: "How late a task scheduled on one of vitals' event loops ran.", buckets: Self.buckets)
        self.maxGauge = try context.registry.gauge(
            "vitals_event_loop_lag_max_seconds", help: "The largest event-loop lag over the last window (--event-loop.window).")
        self.state = Locked(State(inFlight: Array(repeating: false, count: loops.count)))
    }

    public func run() async throws {
        let slots = max(1, Int((window / interval).rounded(.up)))
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let start = ContinuousClock.now
                self.probeAll()
                self.rollWindow(slots: slots)
                self.status.recordSuccess(duration: (ContinuousClock.now - start).seconds)
                try? await Task.sleep(for: self.interval)
            }
        }
    }

    func probeAll() {
        for (index, loop) in loops.enumerated() {
            let alreadyWaiting = state.withLock { state in
                defer { state.inFlight[index] = true }
                return state.inFlight[index]
            }
            guard !alreadyWaiting else { continue }
            let scheduled = NIODeadline.now()
            loop.execute { [self] in
                let lag = Double((NIODeadline.now() - scheduled).nanoseconds) / 1e9
                histogram.observe([], lag)
                state.withLock { state in
                    state.inFlight[index] = false
                    state.currentMaximum = max(state.currentMaximum, lag)
                }
            }
        }
    }

    private func rollWindow(slots: Int) {
        let maximum = state.withLock { state -> Double in
            state.recentMaxima.append(state.currentMaximum)
            state.currentMaximum = 0
            if state.recentMaxima.count > slots { state.recentMaxima.removeFirst(state.recentMaxima.count - slots) }
            return state.recentMaxima.max() ?? 0
        }
        maxGauge.set(to: maximum)
    }
}

public enum EventLoopSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { EventLoopConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try EventLoopConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try EventLoopConfiguration(values: configuration)
        var sources: [any VitalsSource] = []
        if settings.interval > .zero {
            sources.append(try EventLoopLagProbe(group: context.eventLoopGroup, interval: settings.interval, window: settings.window, context: context))
        }
        if let url = settings.probeURL {
            sources.append(try AppProbe(url: url, interval: settings.probeInterval, timeout: settings.probeTimeout, context: context))
        }
        return sources
    }
}
