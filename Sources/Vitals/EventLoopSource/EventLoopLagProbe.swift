import Logging
import NIOCore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// Measures how late vitals' own event loops run a timer scheduled on them.
///
/// A late timer means something blocked the loop: every connection it serves stalls for as long.
/// This is the proof that libpq, hiredis and file I/O never run on an event loop. Each loop
/// re-arms its own timer when it fires, so there is one timer per loop, a loop blocked for seconds
/// yields one observation of seconds rather than a queue of them, and probing wakes nothing but
/// the loop itself: no task hop and no cross-thread wake-up, which made the earlier
/// `Task.sleep` + `execute` probe cost 3 ms of CPU a second (BENCHMARKS.md).
public final class EventLoopLagProbe: VitalsSource {
    public let name = "event_loop"
    public let status: SourceStatus
    private let loops: [any EventLoop]
    private let interval: Duration
    private let slots: Int
    private let histogram: HistogramFamily
    private let maxGauge: GaugeFamily
    private let state: NIOLockedValueBox<State>

    public static let buckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    struct State {
        var timers: [Scheduled<Void>?]
        var stopped = false
        /// Largest lag seen in each recent interval, oldest first; bounded by window / interval.
        var recentMaxima: [Double] = []
        var currentMaximum: Double = 0
    }

    public init(group: any EventLoopGroup, interval: Duration, window: Duration, context: SourceContext) throws {
        self.loops = Array(group.makeIterator())
        self.interval = interval
        self.slots = max(1, Int((window / interval).rounded(.up)))
        self.status = context.health.makeStatus(source: "event_loop")
        self.histogram = try context.registry.histogram(
            "vitals_event_loop_lag_seconds", help: "How late a timer scheduled on one of vitals' event loops ran.", buckets: Self.buckets)
        self.maxGauge = try context.registry.gauge(
            "vitals_event_loop_lag_max_seconds", help: "The largest event-loop lag over the last window (--event-loop.window).")
        self.state = NIOLockedValueBox(State(timers: Array(repeating: nil, count: loops.count)))
    }

    public func run() async throws {
        state.withLockedValue { $0.stopped = false }
        for index in loops.indices { arm(index) }
        status.recordSuccess(duration: 0)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { try? await LoopTimer.sleep(for: .seconds(3600)) }
        }
        let timers = state.withLockedValue { state in
            state.stopped = true
            defer { state.timers = Array(repeating: nil, count: state.timers.count) }
            return state.timers
        }
        for timer in timers { timer?.cancel() }
    }

    private func arm(_ index: Int) {
        let deadline = NIODeadline.now() + TimeAmount(interval)
        let timer = loops[index].scheduleTask(deadline: deadline) { [self] in fire(index, deadline: deadline) }
        state.withLockedValue { state in
            if state.stopped { timer.cancel() } else { state.timers[index] = timer }
        }
    }

    /// Runs on loop `index` when its timer fires, however late.
    private func fire(_ index: Int, deadline: NIODeadline) {
        let now = NIODeadline.now()
        let lag = Double(max(0, (now - deadline).nanoseconds)) / 1e9
        histogram.observe([], lag)
        let windowMaximum = state.withLockedValue { state -> Double? in
            state.currentMaximum = max(state.currentMaximum, lag)
            // The first loop's timer closes each interval of the window.
            guard index == 0 else { return nil }
            state.recentMaxima.append(state.currentMaximum)
            state.currentMaximum = 0
            if state.recentMaxima.count > slots { state.recentMaxima.removeFirst(state.recentMaxima.count - slots) }
            return state.recentMaxima.max() ?? 0
        }
        if let windowMaximum {
            maxGauge.set(to: windowMaximum)
            status.recordSuccess(duration: Double((NIODeadline.now() - now).nanoseconds) / 1e9)
        }
        arm(index)
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
