import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Collects one Redis server's INFO, slowlog, latency events and settings on an interval and
/// publishes each pass as one whole snapshot.
///
/// Design:
/// - Collection is decoupled from scrapes: `/metrics` reads the latest published snapshot and
///   never waits on Redis, however slow or hung it is.
/// - hiredis blocks, so each target gets its own thread (a one-thread `NIOThreadPool` started in
///   ``run()``): a hung server ties up only its own thread, never an event loop, the cooperative
///   pool, or the shared pool the timing-log source relies on.
/// - A watchdog bounds each pass: if it has not finished by `redis.timeout`, `redis_up 0` is
///   published with reason `timeout` at once, and the socket is shut down so the blocked thread
///   returns. The pass itself also never waits past the deadline (socket timeouts set to the time
///   left before every call); the watchdog covers what those cannot (a trickling reply, DNS).
public final class RedisSource: VitalsSource {
    public let name = "redis"
    public let status: SourceStatus
    private let collector: RedisCollector
    private let publisher: SnapshotPublisher
    private let downFamilies: [FamilySnapshot]
    private let interval: Duration
    private let timeout: Duration
    private let eventLoop: any EventLoop
    private let logger: Logger

    init(target: RedisConfiguration.Target, configuration: RedisConfiguration, context: SourceContext) throws {
        let multiTarget = configuration.targets.count > 1
        let descriptors = RedisMetricDescriptors(withTarget: multiTarget)
        let histogram = try context.registry.histogram(
            "redis_slowlog_duration_seconds",
            help: "Durations of slowlog entries by command, each entry counted once when first seen (entries present when vitals started are not counted).",
            labels: descriptors.slowlogHistogramLabels, buckets: RedisMetricDescriptors.slowlogBuckets)
        let targetLabel = multiTarget ? target.label : nil
        status = context.health.makeStatus(source: "redis", instance: target.label)
        publisher = context.registry.makePublisher()
        logger = context.logger
        interval = configuration.interval
        timeout = configuration.timeout
        eventLoop = context.eventLoopGroup.next()
        collector = RedisCollector(
            target: target, descriptors: descriptors, targetLabel: targetLabel, configuration: configuration, slowlogHistogram: histogram,
            logger: context.logger)
        downFamilies = RedisMetricMapper(descriptors: descriptors, target: targetLabel, maxLabelValues: 1).downFamilies()
    }

    public func run() async throws {
        logger.info("redis source started", metadata: ["target": "\(collector.target.label)", "interval": "\(DurationParser.format(interval))"])
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await cancelWhenGracefulShutdown {
            await self.collectLoop(on: thread)
        }
        // Unblock a pass stuck on the network, then let the thread finish and close the connection.
        collector.abortHandle.abort()
        let collector = self.collector
        _ = try? await thread.runIfActive { collector.disconnect() }
        try? await thread.shutdownGracefully()
        publisher.clear()
    }

    private func collectLoop(on thread: NIOThreadPool) async {
        var inFlight: EventLoopFuture<RedisCollector.Outcome>?
        while !Task.isCancelled {
            let started = ContinuousClock.now
            let deadline = started + timeout
            if let late = inFlight {
                // The previous pass overran and was aborted; its thread must be free before the next.
                guard await Self.value(of: late, before: deadline, on: eventLoop) != nil else {
                    if Task.isCancelled { return }
                    reportTimeout(elapsed: ContinuousClock.now - started)
                    try? await Task.sleep(until: started + interval)
                    continue
                }
                inFlight = nil
            }
            let collector = self.collector
            let pass = thread.runIfActive(eventLoop: eventLoop) { collector.runPass(deadline: deadline) }
            inFlight = pass
            if let outcome = await Self.value(of: pass, before: deadline, on: eventLoop) {
                inFlight = nil
                apply(outcome, elapsed: ContinuousClock.now - started)
            } else {
                if Task.isCancelled { return }
                collector.abortHandle.abort()
                reportTimeout(elapsed: ContinuousClock.now - started)
            }
            try? await Task.sleep(until: started + interval)
        }
    }

    /// Status first, then the snapshot: a scrape that sees `redis_up 0` also sees why in `/ready`.
    private func apply(_ outcome: RedisCollector.Outcome, elapsed: Duration) {
        if let failure = outcome.failure {
            // A pass that only waited out the reconnect backoff is not a new error.
            if outcome.attempted {
                status.recordError(failure.reason, message: failure.message, down: true, duration: elapsed.seconds)
            }
        } else {
            status.recordSuccess(duration: elapsed.seconds)
        }
        publisher.publish(outcome.families)
    }

    private func reportTimeout(elapsed: Duration) {
        status.recordError(.timeout, message: "no complete collection within \(DurationParser.format(timeout))", down: true, duration: elapsed.seconds)
        publisher.publish(downFamilies)
    }

    /// The future's value, or nil if the deadline passes or the task is cancelled first. The
    /// future keeps running either way; callers abort it through the collector.
    static func value<T: Sendable>(of future: EventLoopFuture<T>, before deadline: ContinuousClock.Instant, on eventLoop: any EventLoop) async -> T? {
        let gate = RedisResumeOnce<T?>()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                gate.install(continuation)
                let left = deadline - .now
                let timer = eventLoop.scheduleTask(in: .nanoseconds(max(0, left.nanoseconds))) { gate.resume(nil) }
                future.whenComplete { result in
                    timer.cancel()
                    gate.resume(try? result.get())
                }
            }
        } onCancel: {
            gate.resume(nil)
        }
    }
}

/// Resumes a continuation exactly once, whichever of the work, the timer or cancellation comes
/// first — including a resume that arrives before the continuation is installed.
final class RedisResumeOnce<T: Sendable>: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<T, Never>)
        case resolved(T)
        case done
    }

    private let state = Locked<State>(.idle)

    func install(_ continuation: CheckedContinuation<T, Never>) {
        let early: T? = state.withLock { state in
            switch state {
            case .idle:
                state = .waiting(continuation)
                return nil
            case .resolved(let value):
                state = .done
                return value
            case .waiting, .done:
                return nil
            }
        }
        if let early { continuation.resume(returning: early) }
    }

    func resume(_ value: T) {
        let continuation: CheckedContinuation<T, Never>? = state.withLock { state in
            switch state {
            case .idle:
                state = .resolved(value)
                return nil
            case .waiting(let continuation):
                state = .done
                return continuation
            case .resolved, .done:
                return nil
            }
        }
        continuation?.resume(returning: value)
    }
}

extension Duration {
    fileprivate var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}

public enum RedisSourceFactory: SourceFactory {
    public static var configurationKeys: [ConfigurationKey] { RedisConfiguration.keys }

    public static func validate(values: ConfigurationValues) throws {
        _ = try RedisConfiguration(values: values)
    }

    public static func makeSources(configuration: ConfigurationValues, context: SourceContext) throws -> [any VitalsSource] {
        let settings = try RedisConfiguration(values: configuration)
        return try settings.targets.map { try RedisSource(target: $0, configuration: settings, context: context) }
    }
}
