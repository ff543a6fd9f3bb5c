import Logging
import NIOConcurrencyHelpers

/// What a source that collects in passes supplies: the pass, and what it publishes. The runtime
/// does the rest (scheduling, deadline, abort, backoff, health, logs): see ``CollectionRunner``.
protocol CollectingSource: AnyObject, Sendable {
    /// One pass: connect if needed, query, map. Runs on the source's worker thread, one pass at a
    /// time, so the source's connection and mapping state need no lock. It must come back by
    /// `pass.deadline` (every blocking call bounded by it), or soon after ``abort()``.
    func collect(_ pass: CollectionPass) -> CollectedPass
    /// Makes a blocked pass return soon (shuts its socket down, sets a flag libpq's loop polls).
    /// Called from another thread while a pass overruns its deadline, or at shutdown.
    func abort()
    /// On the worker thread after the last pass: close connections, withdraw side publications.
    func close()
}

/// What a pass produced: the whole snapshot to publish, and how it went.
struct CollectedPass: Sendable {
    var families: [FamilySnapshot]
    var outcome: PassOutcome
}

/// The deadline of one running pass. A pass with several bounded steps (Postgres's slow pass
/// visits one database after another, each with its own timeout) moves it on as it starts each
/// step; the runner reports an overrun only when the current deadline has passed.
final class CollectionPass: Sendable {
    private let current: NIOLockedValueBox<ContinuousClock.Instant>
    /// A deadline no step may move past: a `/probe` must answer within the scrape's timeout, so
    /// its pass's steps share one budget instead of getting a timeout each. Nil for scheduled passes.
    let limit: ContinuousClock.Instant?

    init(deadline: ContinuousClock.Instant, limit: ContinuousClock.Instant? = nil) {
        let start = limit.map { min($0, deadline) } ?? deadline
        current = NIOLockedValueBox(start)
        self.limit = limit
    }

    var deadline: ContinuousClock.Instant { current.withLockedValue { $0 } }

    /// Gives the pass until `deadline` (never past ``limit``), if that is later than what it has.
    func extendDeadline(to deadline: ContinuousClock.Instant) {
        let bounded = limit.map { min($0, deadline) } ?? deadline
        current.withLockedValue { $0 = max($0, bounded) }
    }

    /// The deadline of a step that wants until `deadline`: that, cut to ``limit``; the pass's
    /// deadline moves on with it.
    func stepDeadline(_ deadline: ContinuousClock.Instant) -> ContinuousClock.Instant {
        let bounded = limit.map { min($0, deadline) } ?? deadline
        extendDeadline(to: bounded)
        return bounded
    }
}

/// Runs a ``CollectingSource`` until shutdown: its passes on a ``WorkerThread`` of its own, the
/// schedule and health from ``CollectionStateMachine``, the results into its publisher and status.
///
/// This is the only loop a collecting source has; it holds no rules of its own, only I/O: the
/// worker, a timer for the deadline, the publisher, the status and the log.
struct CollectionRunner: Sendable {
    /// How the log names what happened to this source.
    struct LogWords: Sendable {
        var down: Logger.Message
        var up: Logger.Message
        var partFailed: Logger.Message = "collection part failed"
        var partKey: String = "part"
    }

    let source: any CollectingSource
    let settings: CollectionStateMachine.Settings
    let status: SourceStatus
    let publisher: SnapshotPublisher
    /// Published while a pass has overrun its deadline: the source's `*_up 0` snapshot.
    let downFamilies: [FamilySnapshot]
    let logger: Logger
    let words: LogWords
    /// On every log line: which target.
    let metadata: Logger.Metadata
    /// How long past its deadline a pass may run before the target is reported down: the pass
    /// bounds its own calls by the deadline, so this only catches what those bounds cannot (DNS).
    var grace: Duration = .milliseconds(500)

    func run() async {
        let worker = WorkerThread()
        var machine = CollectionStateMachine(settings: settings)
        var action = machine.start(now: .now)
        var finished: CollectedPass?
        while true {
            switch action {
            case .runPass(let deadline):
                (action, finished) = await runPass(CollectionPass(deadline: deadline), on: worker, machine: &machine)
            case .report(let report, let nextPassAt):
                carryOut(report, families: finished?.families)
                finished = nil
                action = Task.isCancelled ? machine.shutdown() : await wait(until: nextPassAt, machine: &machine)
            case .close:
                let source = self.source
                _ = await worker.run { source.close() }
                await worker.shutdown()
                publisher.clear()
                return
            case .reportOverrun, .abortPass, .none:
                // The first two come only while a pass runs, inside `runPass`; whatever is left, stop.
                action = machine.shutdown()
                if action == .none { return }
            }
        }
    }

    /// Runs one pass on the worker, racing its deadline; returns the machine's action once the
    /// pass came back, and what it collected.
    private func runPass(
        _ pass: CollectionPass, on worker: WorkerThread, machine: inout CollectionStateMachine
    ) async -> (CollectionStateMachine.Action, CollectedPass?) {
        enum Event: Sendable {
            case finished(CollectedPass?)
            case overran
            case cancelled
        }
        let source = self.source
        let grace = self.grace
        return await withTaskGroup(of: Event.self) { group in
            group.addTask {
                await withTaskCancellationHandler {
                    .finished(await worker.run { source.collect(pass) })
                } onCancel: {
                    source.abort()
                }
            }
            group.addTask {
                do {
                    while pass.deadline + grace > .now {
                        try await LoopTimer.sleep(until: pass.deadline + grace)
                    }
                    return .overran
                } catch {
                    return .cancelled
                }
            }
            while let event = await group.next() {
                switch event {
                case .finished(let collected):
                    group.cancelAll()
                    if Task.isCancelled { _ = machine.shutdown() }
                    // Nil: the worker is gone, so nothing more can run.
                    guard let collected else { return (machine.shutdown(), nil) }
                    return (machine.passFinished(collected.outcome, now: .now), collected)
                case .overran:
                    if case .reportOverrun(let report) = machine.deadlinePassed(now: .now) {
                        carryOut(report, families: nil)
                        source.abort()
                    }
                case .cancelled:
                    if machine.shutdown() == .abortPass { source.abort() }
                }
            }
            return (machine.shutdown(), nil)
        }
    }

    private func wait(until instant: ContinuousClock.Instant, machine: inout CollectionStateMachine) async -> CollectionStateMachine.Action {
        do {
            try await LoopTimer.sleep(until: instant, periodic: true)
            return machine.waitEnded(now: .now)
        } catch {
            return machine.shutdown()
        }
    }

    private func carryOut(_ report: CollectionStateMachine.Report, families: [FamilySnapshot]?) {
        let duration = report.duration.map(\.seconds)
        switch report.record {
        case .up:
            status.recordSuccess(duration: duration ?? 0)
        case .upWithFailedPart(let failure):
            status.recordError(failure.reason, message: failure.message, down: false, duration: duration)
            status.markUp()
        case .down(let failure):
            status.recordError(failure.reason, message: failure.message, down: true, duration: duration)
        case .unchanged:
            break
        }
        switch report.publication {
        case .pass: if let families { publisher.publish(families) }
        case .down: publisher.publish(downFamilies)
        }
        for event in report.logs {
            switch event {
            case .down(let failure):
                logger.warning(words.down, metadata: metadata.merging(["reason": "\(failure.reason.rawValue)", "error": "\(failure.detail)"]) { $1 })
            case .up(let details):
                logger.info(words.up, metadata: metadata.merging(details.mapValues { "\($0)" }) { $1 })
            case .partFailed(let part, let failure):
                logger.warning(
                    words.partFailed,
                    metadata: metadata.merging([words.partKey: "\(part)", "reason": "\(failure.reason.rawValue)", "error": "\(failure.detail)"]) { $1 })
            }
        }
    }
}
