import Logging

/// How a log-reading source's health follows its tailer: the tailer reports a problem once when
/// it starts, but the problem lasts until it is fixed, and the source is down only when no file
/// is followed at all.
struct LogTailHealth: Sendable, Equatable {
    struct Problem: Sendable, Equatable {
        var reason: SourceErrorReason
        var message: String
    }

    var problem: Problem?
    var problemIsNew: Bool
    var followedFiles: Int
    /// What the poll read: whether an idle log's watch missed a write (``LogPollSchedule``).
    var bytesRead: Int

    /// - Parameter describe: what `/ready` and the log say about a problem.
    init(tailer: LogTailer, poll: LogTailer.PollResult, describe: (TailError) -> String = { $0.description }) {
        problem = tailer.currentErrors.first.map { Problem(reason: Self.reason(for: $0), message: describe($0)) }
        problemIsNew = !poll.errors.isEmpty
        followedFiles = tailer.followedFiles.count
        bytesRead = poll.bytesRead
    }

    static func reason(for error: TailError) -> SourceErrorReason {
        switch error.code {
        case .notFound: .notFound
        case .permissionDenied: .permission
        default: .io
        }
    }
}

extension SourceStatus {
    /// Records one poll; logs a problem when it starts and when it clears, not on every poll.
    /// - Parameter subject: what is being read, for the log ("timing log", "Postgres server log").
    func record(_ health: LogTailHealth, duration: Double, subject: String, logger: Logger) {
        if let problem = health.problem {
            if health.problemIsNew {
                // A path missing while other files are still followed is usually the instant between a
                // rename rotation and the new file's creation: worth /ready, not a warning per rotation.
                let level: Logger.Level = problem.reason == .notFound && health.followedFiles > 0 ? .debug : .warning
                logger.log(level: level, "\(subject) unavailable", metadata: ["error": "\(problem.message)", "reason": "\(problem.reason.rawValue)"])
            }
            recordError(problem.reason, message: problem.message, down: health.followedFiles == 0, duration: duration)
            if health.followedFiles > 0 { markUp() }
        } else {
            if snapshot.lastError != nil { logger.info("\(subject) readable again") }
            recordSuccess(duration: duration)
        }
    }
}
