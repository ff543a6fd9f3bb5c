/// Why a pass failed: a reason from the fixed set (labels and `/ready`), a secret-free message for
/// `/ready`, and a detail for the log (a server's own words, secrets already removed).
public struct SourceFailure: Error, Sendable, Equatable {
    public var reason: SourceErrorReason
    public var message: String
    public var detail: String

    public init(_ reason: SourceErrorReason, message: String, detail: String? = nil) {
        self.reason = reason
        self.message = message
        self.detail = detail.flatMap { $0.isEmpty ? nil : $0 } ?? message
    }
}

/// What one collection pass found, in the terms the runtime acts on.
public struct PassOutcome: Sendable, Equatable {
    /// Nil when the target answered; otherwise why it is down.
    public var failure: SourceFailure?
    /// Parts that failed while the target stayed up (a Postgres collector), by part name: the
    /// source stays up, the error is counted, and the log says so when a part's reason changes.
    public var partFailures: [String: SourceFailure]
    /// Said in the log line when the target comes up (a server's version).
    public var upDetails: [String: String]
    public var duration: Duration

    public init(failure: SourceFailure? = nil, partFailures: [String: SourceFailure] = [:], upDetails: [String: String] = [:], duration: Duration) {
        self.failure = failure
        self.partFailures = partFailures
        self.upDetails = upDetails
        self.duration = duration
    }
}

/// The life of a source that collects in passes, as a value: inputs (the pass finished, its
/// deadline passed, the wait ended, shutdown) go in, and the actions to take come out. It does no
/// I/O and reads no clock, so every rule below is tested from tables; ``CollectionRunner`` is
/// the thin shell that runs passes on a worker thread and carries the actions out.
///
/// The rules:
/// - One pass at a time: a pass that overruns its deadline is reported down (reason `timeout`)
///   and aborted, and the next pass starts only once it has come back, so connections cannot
///   pile up behind a hung server.
/// - Passes start every `interval` while the target answers; after failures they start sooner
///   at first (``Backoff``), never later than `interval`.
/// - A finished pass is always published: its own mapping of the target's state, down included.
/// - Status before publication: a scrape that sees `*_up 0` also sees the error counted.
/// - The log speaks when something changes (down, a new reason, up again, a part failing
///   differently), never once per pass.
struct CollectionStateMachine: Sendable {
    struct Settings: Sendable, Equatable {
        var interval: Duration
        var timeout: Duration
        var backoffBase: Duration = .seconds(1)
    }

    enum Health: Sendable, Equatable {
        case unknown
        case up
        case down(SourceErrorReason)
    }

    enum Action: Sendable, Equatable {
        /// Start a pass on the worker thread; it must be back by the deadline.
        case runPass(deadline: ContinuousClock.Instant)
        /// Carry out the pass's report, then wait for the next pass.
        case report(Report, nextPassAt: ContinuousClock.Instant)
        /// The running pass overran: carry out the report, abort the pass, and keep waiting for it.
        case reportOverrun(Report)
        /// Shutdown while a pass runs: abort it, and keep waiting for it.
        case abortPass
        /// Shutdown: close the source's connections on its worker thread and withdraw its series.
        case close
        case none
    }

    struct Report: Sendable, Equatable {
        enum Record: Sendable, Equatable {
            case up
            case upWithFailedPart(SourceFailure)
            case down(SourceFailure)
            /// Already recorded (a pass that comes back failed after its overrun was reported).
            case unchanged
        }

        enum Publication: Sendable, Equatable {
            /// What the pass produced (its mapping of a down target included).
            case pass
            /// The source's fixed down snapshot (`*_up 0`): the pass has not come back.
            case down
        }

        var record: Record
        var publication: Publication
        var logs: [LogEvent]
        var duration: Duration?
    }

    enum LogEvent: Sendable, Equatable {
        case down(SourceFailure)
        case up(details: [String: String])
        case partFailed(String, SourceFailure)
    }

    private enum State: Sendable, Equatable {
        case idle
        case running(started: ContinuousClock.Instant, overran: Bool)
        case waiting
        /// Shutdown came while a pass was running.
        case stopping
        case stopped
    }

    let settings: Settings
    private var state = State.idle
    private(set) var health = Health.unknown
    private var backoff: Backoff
    private var loggedParts: [String: SourceErrorReason] = [:]

    init(settings: Settings) {
        self.settings = settings
        self.backoff = Backoff(base: settings.backoffBase, cap: settings.interval)
    }

    mutating func start(now: ContinuousClock.Instant) -> Action {
        guard state == .idle else { return .none }
        return startPass(now: now)
    }

    /// The wait between passes ended.
    mutating func waitEnded(now: ContinuousClock.Instant) -> Action {
        guard state == .waiting else { return .none }
        return startPass(now: now)
    }

    mutating func passFinished(_ outcome: PassOutcome, now: ContinuousClock.Instant) -> Action {
        switch state {
        case .stopping:
            state = .stopped
            return .close
        case .running(let started, let overran):
            state = .waiting
            var logs: [LogEvent] = []
            let record: Report.Record
            let delay: Duration
            if let failure = outcome.failure {
                delay = backoff.failed()
                loggedParts = [:]
                if overran {
                    // The overrun was reported as a timeout; what the aborted pass says is its echo.
                    record = .unchanged
                } else {
                    if health != .down(failure.reason) { logs.append(.down(failure)) }
                    health = .down(failure.reason)
                    record = .down(failure)
                }
            } else {
                backoff.succeeded()
                delay = settings.interval
                if health != .up { logs.append(.up(details: outcome.upDetails)) }
                health = .up
                for (part, failure) in outcome.partFailures.sorted(by: { $0.key < $1.key }) where loggedParts[part] != failure.reason {
                    logs.append(.partFailed(part, failure))
                }
                loggedParts = outcome.partFailures.mapValues(\.reason)
                if let (_, first) = outcome.partFailures.min(by: { $0.key < $1.key }) {
                    record = .upWithFailedPart(first)
                } else {
                    record = .up
                }
            }
            let report = Report(record: record, publication: .pass, logs: logs, duration: outcome.duration)
            return .report(report, nextPassAt: started + delay)
        case .idle, .waiting, .stopped:
            return .none
        }
    }

    /// The running pass's deadline passed and it has not come back.
    mutating func deadlinePassed(now: ContinuousClock.Instant) -> Action {
        guard case .running(let started, false) = state else { return .none }
        state = .running(started: started, overran: true)
        let failure = SourceFailure(.timeout, message: "no complete collection within \(DurationParser.format(settings.timeout))")
        var logs: [LogEvent] = []
        if health != .down(.timeout) { logs.append(.down(failure)) }
        health = .down(.timeout)
        loggedParts = [:]
        return .reportOverrun(Report(record: .down(failure), publication: .down, logs: logs, duration: now - started))
    }

    mutating func shutdown() -> Action {
        switch state {
        case .running:
            state = .stopping
            return .abortPass
        case .idle, .waiting:
            state = .stopped
            return .close
        case .stopping, .stopped:
            return .none
        }
    }

    private mutating func startPass(now: ContinuousClock.Instant) -> Action {
        state = .running(started: now, overran: false)
        return .runPass(deadline: now + settings.timeout)
    }
}
