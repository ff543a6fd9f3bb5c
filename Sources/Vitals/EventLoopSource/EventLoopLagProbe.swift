import Logging
import NIOCore
import ServiceLifecycle
import NIOConcurrencyHelpers

/// Measures how late vitals' own event loops run a timer scheduled on them.
///
/// A late timer means something blocked the loop: every connection it serves stalls for as long.
/// This is the proof that libpq, hiredis and file I/O never run on an event loop. The loops are
/// probed in turn: each re-arms its own timer every `interval` × the number of loops, the loops'
/// timers staggered by one interval, so probing costs one wake-up per interval whatever the number
/// of loops (at rest a wake-up is most of what vitals costs, BENCHMARKS.md "Cost to run"). Arming
/// the next loop's timer from the one that fired would add a cross-thread wake-up to each probe.
/// A loop blocked for seconds yields one observation of seconds rather than a queue of them, and
/// nothing but the probed loop wakes: no task hop, which made the earlier `Task.sleep` + `execute`
/// probe cost 3 ms of CPU a second.
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
        /// The lag of each recent fire (one per interval), oldest first; bounded by window / interval.
        var recentMaxima: [Double] = []
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
        let start = NIODeadline.now()
        for index in loops.indices { arm(index, deadline: LoopTimer.coalesced(start, after: interval * (index + 1))) }
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

    private func arm(_ index: Int, deadline: NIODeadline) {
        let timer = loops[index].scheduleTask(deadline: deadline) { [self] in fire(index, deadline: deadline) }
        state.withLockedValue { state in
            if state.stopped { timer.cancel() } else { state.timers[index] = timer }
        }
    }

    /// Runs on loop `index` when its timer fires, however late; re-arms it one rotation later.
    private func fire(_ index: Int, deadline: NIODeadline) {
        let now = NIODeadline.now()
        let lag = Double(max(0, (now - deadline).nanoseconds)) / 1e9
        histogram.observe([], lag)
        // Each fire closes one interval of the window.
        let windowMaximum = state.withLockedValue { state -> Double in
            state.recentMaxima.append(lag)
            if state.recentMaxima.count > slots { state.recentMaxima.removeFirst(state.recentMaxima.count - slots) }
            return state.recentMaxima.max() ?? 0
        }
        maxGauge.set(to: windowMaximum)
        status.recordSuccess(duration: Double((NIODeadline.now() - now).nanoseconds) / 1e9)
        // On the periodic waits' grid, so a probe shares the 15 s passes' wake-up (every one at
        // the default 15 s, every third at 5 s).
        arm(index, deadline: LoopTimer.coalesced(.now(), after: interval * loops.count))
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
