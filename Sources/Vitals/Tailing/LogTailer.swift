import Glibc

/// Follows log files the way `tail -F` does, surviving rotation, with memory bounded no matter
/// what the files contain.
///
/// The caller drives it by calling ``poll(onLine:)`` from one worker thread (``LogTail``). What
/// changed is always found by polling `fstat`s, which works on every filesystem (NFS, overlayfs,
/// bind mounts) and has no event queue that could overflow; ``LogChangeWatch`` (inotify) only
/// decides when an idle log is polled again, so a missed event costs latency, never lines.
///
/// ## Identity
/// A file is its `(st_dev, st_ino)`, not its name, and is kept open for as long as it is
/// followed. Renames within the patterns are therefore free (a rotated `app.log.1` that still
/// matches `app.log*` is never read twice), and inode numbers cannot be recycled under us.
///
/// ## Rotation
/// When a renamed or deleted file is closed is ``FileRotation``'s decision, a value tested from
/// tables; this class does the system calls around it.
/// - *Rename and create*: the old file is drained to its end before its replacement is read
///   (files are read oldest-first within a poll). It stays open while the writer may still be
///   appending to it: until its name is taken by a new file and it has then not grown for two
///   further polls. Its unfinished last line, if any, is delivered when it is closed.
/// - *Copytruncate*: a followed file that shrank — or whose bytes just before our offset
///   changed, which catches a truncation hidden by quick rewrites — is read again from 0.
/// - *Delete*: a file with no links left is drained and closed at once; keeping it open would
///   pin its disk space for nothing, as nobody can reach it by name. Files that appear later
///   (including a recreated one) are always read from the start.
///
/// ## What can be lost
/// Rename rotation is lossless as long as (1) some poll sees each file before it is renamed out
/// of the patterns (with a ``LogChangeWatch`` a name created or renamed in the directory is
/// polled at once, a ``PollKind/rotation`` poll, so only a file renamed away within that wake-up's
/// latency is skipped; without one, two rotations within one poll interval skip the middle file,
/// unless the rotated names match the patterns too), (2) the writer stops writing to the old file within
/// the grace period above, and (3) the old file is not deleted or compressed while the writer
/// still writes to it (logrotate's `delaycompress` exists for this).
///
/// Copytruncate is lossless too, within limits. Everything appended after our last read and
/// before the truncation exists only in the copy; the tailer finds it among the files named
/// like the followed one plus a suffix (`app.log.1`, `app.log-20261124`), picks the one whose
/// bytes before our offset match what we last read, and reads it from our offset to its end
/// before starting the truncated file from 0. It cannot recover a copy that was compressed or
/// removed before the next poll, or that two copytruncates within one poll overwrote, nor a
/// truncation that found our offset at 0 (nothing read of the file since it was created or last
/// truncated: it looks like an append), and an unfinished line at the moment of truncation is
/// dropped rather than delivered as a fragment. A rotation poll at the copy's creation usually
/// reads the file before it is truncated, but races the copy; what guarantees it is a scheduled
/// poll between the file's creation (or last truncation) and the truncation.
/// Keep the copies out of the patterns: a matched copy is a new file read from 0, duplicating it.
/// Lines are never delivered twice and, barring 64 bytes of new content coinciding
/// byte-for-byte with the old, never corrupted.
///
/// ## Memory
/// One shared read buffer of ``Configuration/readChunkSize`` plus, per followed file, at most
/// one unfinished line of ``Configuration/maxLineLength`` bytes; longer lines are dropped
/// while being read, never buffered. The number of followed files is capped by
/// ``Configuration/maxFiles``. A poll reads everything that was there when it looked, so a
/// large backlog (``Configuration/fromBeginning`` on a big file) makes for one long poll, but
/// not for more memory.
///
/// `@unchecked Sendable`: the tailer owns file descriptors and a reusable read buffer that
/// `poll` mutates without locking. It is built on one thread and handed to the polling thread,
/// and must only ever be used from one thread at a time.
public final class LogTailer: @unchecked Sendable {
    /// The pattern that names standard input (`--timing-log.path -`), for `docker logs -f app |
    /// vitals …`. It is read without blocking, like a file that only grows; its end ends it, and
    /// what it had is kept.
    public static let standardInputPattern = "-"

    public struct Configuration: Sendable {
        /// Paths or glob(3) patterns, re-expanded on every poll so files that appear later are
        /// picked up.
        public var patterns: [String]
        /// For files present at the first poll: read them from the start, or only what is
        /// written after. Files that appear later are always read from the start.
        public var fromBeginning: Bool
        /// Lines longer than this many bytes (without the newline) are dropped and counted.
        public var maxLineLength: Int
        public var readChunkSize: Int
        /// Caps open descriptors so a glob over a huge directory cannot exhaust them.
        public var maxFiles: Int

        public init(
            patterns: [String],
            fromBeginning: Bool = false,
            maxLineLength: Int = 65_536,
            readChunkSize: Int = 262_144,
            maxFiles: Int = 256
        ) {
            self.patterns = patterns
            self.fromBeginning = fromBeginning
            self.maxLineLength = maxLineLength
            self.readChunkSize = readChunkSize
            self.maxFiles = maxFiles
        }
    }

    /// Why a poll is made.
    public enum PollKind: Sendable, Equatable {
        /// On the source's schedule: these polls count towards closing a rotated file.
        case scheduled
        /// At once, because a name changed in a log's directory: it opens new files before they
        /// can be rotated away unseen, and counts nothing (``FileRotation``).
        case rotation
    }

    public struct PollResult: Sendable, Equatable {
        public var bytesRead: Int
        public var lines: Int
        public var oversizedLines: Int
        /// Followed files that stopped being named by any matched path (renamed away or deleted).
        public var rotations: Int
        /// Followed files found truncated or rewritten in place, and read again from the start.
        public var truncations: Int
        /// Truncations whose missing tail was read from the rotated copy (see ``LogTailer``).
        public var recoveredFromCopies: Int = 0
        /// Problems that began during this poll. A problem is reported once when it starts, not
        /// on every poll while it lasts (see ``LogTailer/currentErrors``), though the failing
        /// operation is retried on every poll.
        public var errors: [TailError]

        public init(
            bytesRead: Int = 0,
            lines: Int = 0,
            oversizedLines: Int = 0,
            rotations: Int = 0,
            truncations: Int = 0,
            errors: [TailError] = []
        ) {
            self.bytesRead = bytesRead
            self.lines = lines
            self.oversizedLines = oversizedLines
            self.rotations = rotations
            self.truncations = truncations
            self.errors = errors
        }
    }

    private let configuration: Configuration
    /// In the order they were first followed, so a rotated file is always drained before the
    /// file that replaced it and lines come out in the order they were written.
    private var files: [TailedFile] = []
    private var filesByIdentity: [TailFileIdentity: TailedFile] = [:]
    /// Shared by all files: lines are handed out as pointers into it, so it must outlive each
    /// `onLine` call but nothing longer.
    private let buffer: UnsafeMutableRawBufferPointer
    private var hasPolled = false
    private var isClosed = false
    private var reportedProblems: Set<ProblemKey> = []

    private enum StandardInput {
        case unused
        case waiting
        case open(TailedFile, flags: CInt)
        case ended
    }
    private var standardInput: StandardInput

    /// Whether one of the patterns is standard input.
    public var readsStandardInput: Bool {
        if case .unused = standardInput { return false }
        return true
    }

    /// Whether standard input was followed and has ended (its writer closed the pipe).
    public var standardInputEnded: Bool {
        if case .ended = standardInput { return true }
        return false
    }

    /// Every problem that persisted through the last poll, e.g. for a readiness endpoint.
    public private(set) var currentErrors: [TailError] = []

    public init(configuration: Configuration) {
        var configuration = configuration
        configuration.maxLineLength = max(1, configuration.maxLineLength)
        configuration.readChunkSize = max(1, configuration.readChunkSize)
        configuration.maxFiles = max(1, configuration.maxFiles)
        self.standardInput = configuration.patterns.contains(Self.standardInputPattern) ? .waiting : .unused
        configuration.patterns.removeAll { $0 == Self.standardInputPattern }
        self.configuration = configuration
        // At least a fingerprint's worth so truncation checks can reuse it as scratch space.
        self.buffer = .allocate(
            byteCount: max(configuration.readChunkSize, TailedFile.fingerprintLength),
            alignment: 16
        )
    }

    deinit {
        for file in files { file.close() }
        releaseStandardInput()
        buffer.deallocate()
    }

    /// Sum over followed files of (current size − read offset): how far behind the tailer is.
    public var bytesBehind: Int64 {
        files.reduce(0) { $0 + $1.bytesBehind }
    }

    /// Paths of the files currently open, including rotated files still being drained (under
    /// the last name they were seen at).
    public var followedFiles: [String] {
        files.map(\.path)
    }

    /// Whether a rotated file is still being drained or waited on. Its limits count polls, so
    /// until it is settled the source polls on its interval even when nothing changes.
    public var hasRotatedFiles: Bool {
        files.contains { $0.rotation.state != .named }
    }

    /// Delivers every file's unfinished last line as a complete line: for reading whole files
    /// (`vitals replay`), where the end of the file ends its last line.
    public func flushUnfinishedLines(onLine: (UnsafeRawBufferPointer) -> Void) -> PollResult {
        var result = PollResult()
        for file in files { file.flushPartialLine(result: &result, onLine: onLine) }
        return result
    }

    /// Closes every file. Unfinished lines are dropped; later polls do nothing.
    public func close() {
        guard !isClosed else { return }
        isClosed = true
        for file in files { file.close() }
        files = []
        filesByIdentity = [:]
        releaseStandardInput()
    }

    /// Puts standard input's flags back; the descriptor itself stays open (it is not ours).
    private func releaseStandardInput() {
        if case .open(_, let flags) = standardInput {
            TailSystemCalls.setStatusFlags(STDIN_FILENO, flags)
            standardInput = .ended
        }
    }

    /// One pass: reads everything new from every file and calls `onLine` once per complete line
    /// (bytes without the "\n"; a trailing "\r" is kept). Never blocks on anything but local
    /// file reads.
    ///
    /// The buffer passed to `onLine` is only valid during that call and usually points into the
    /// tailer's read buffer; copy what you need to keep. `onLine` must not call back into the
    /// tailer.
    public func poll(_ kind: PollKind = .scheduled, onLine: (UnsafeRawBufferPointer) -> Void) -> PollResult {
        var result = PollResult()
        guard !isClosed else { return result }
        let isFirstPoll = !hasPolled
        hasPolled = true
        var problems = ProblemList()

        let matches = expandPatterns(problems: &problems)
        var live = Set<TailFileIdentity>()
        var namedPaths = Set<String>()
        var blockedPaths: [String] = []

        for match in matches {
            namedPaths.insert(match.path)
            if let file = filesByIdentity[match.identity] {
                markLive(file, at: match.path, live: &live)
                continue
            }
            guard files.count < configuration.maxFiles else {
                blockedPaths.append(match.path)
                continue
            }
            switch follow(path: match.path, startAtEnd: isFirstPoll && !configuration.fromBeginning) {
            case .followed(let file):
                live.insert(file.identity)
            case .alreadyFollowed(let file):
                markLive(file, at: match.path, live: &live)
            case .failed(let error):
                problems.append(error)
            case .vanished:
                break
            }
        }

        if !blockedPaths.isEmpty {
            problems.append(
                TailError(
                    code: .tooManyFiles,
                    path: blockedPaths[0],
                    detail: "\(blockedPaths.count) matching file(s) not followed, limit is \(configuration.maxFiles)"
                )
            )
        }

        for file in files where !live.contains(file.identity) {
            if file.rotation.unnamed(nameTaken: namedPaths.contains(file.path)) { result.rotations += 1 }
        }

        var closing: [TailedFile] = []
        for file in files {
            let (bytes, error) = file.readAvailable(
                buffer: buffer,
                chunkSize: configuration.readChunkSize,
                maxLineLength: configuration.maxLineLength,
                result: &result,
                onLine: onLine
            )
            if let error {
                problems.append(TailError(code: .readFailed, path: file.path, detail: "read: \(error)"))
            }
            if file.rotation.read(bytes: bytes, linkCount: file.linkCount, counts: kind == .scheduled) == .close { closing.append(file) }
        }

        readStandardInput(result: &result, problems: &problems, onLine: onLine)

        for file in closing {
            file.flushPartialLine(result: &result, onLine: onLine)
            file.close()
            filesByIdentity[file.identity] = nil
        }
        if !closing.isEmpty {
            let closed = Set(closing.map(\.identity))
            files.removeAll { closed.contains($0.identity) }
        }

        result.errors = problems.newlyReported(since: &reportedProblems)
        currentErrors = problems.errors
        return result
    }

    // MARK: Standard input

    private func readStandardInput(result: inout PollResult, problems: inout ProblemList, onLine: (UnsafeRawBufferPointer) -> Void) {
        if case .waiting = standardInput {
            let info: stat
            switch TailSystemCalls.fstat(STDIN_FILENO) {
            case .success(let value): info = value
            case .failure(let error):
                problems.append(TailError(code: .readFailed, path: Self.standardInputPattern, detail: "fstat: \(error)"))
                return
            }
            switch TailSystemCalls.makeNonBlocking(STDIN_FILENO) {
            case .success(let flags):
                // A pipe holds 64 KiB, and its writer waits once it is full: read every second, that
                // held up anything logging more than 64 KiB a second. 1 MiB is kernel memory, taken
                // only as lines wait in it.
                TailSystemCalls.growPipe(STDIN_FILENO, to: Self.standardInputPipeBytes)
                let stream = TailedFile(
                    identity: TailFileIdentity(info), fd: STDIN_FILENO, path: Self.standardInputPattern, info: info, offset: 0,
                    skippingFirstLine: false)
                standardInput = .open(stream, flags: flags)
            case .failure(let error):
                problems.append(TailError(code: .readFailed, path: Self.standardInputPattern, detail: "fcntl: \(error)"))
                return
            }
        }
        guard case .open(let stream, _) = standardInput else { return }
        let (ended, error) = stream.readStream(
            buffer: buffer, chunkSize: configuration.readChunkSize, maxLineLength: configuration.maxLineLength,
            maxBytes: Self.maximumStandardInputBytesPerPoll, result: &result, onLine: onLine)
        if let error {
            problems.append(TailError(code: .readFailed, path: Self.standardInputPattern, detail: "read: \(error)"))
        }
        if ended {
            // The writer is gone, so its unfinished last line is all there will be.
            stream.flushPartialLine(result: &result, onLine: onLine)
            releaseStandardInput()
        }
    }

    /// 64 MiB: far more than one poll interval of any log, small enough that files are not
    /// starved behind a pipe that never pauses.
    private static let maximumStandardInputBytesPerPoll = 64 << 20
    private static let standardInputPipeBytes = 1 << 20

    // MARK: Following

    private func markLive(_ file: TailedFile, at path: String, live: inout Set<TailFileIdentity>) {
        // With hard links several matched paths name one file; the first (sorted) one wins.
        guard live.insert(file.identity).inserted else { return }
        file.path = path
        file.rotation.named()
    }

    private enum FollowOutcome {
        case followed(TailedFile)
        /// The name was swapped for a file we already follow between our `stat` and `open`.
        case alreadyFollowed(TailedFile)
        case failed(TailError)
        case vanished
    }

    private func follow(path: String, startAtEnd: Bool) -> FollowOutcome {
        let fd: CInt
        switch TailSystemCalls.openForReading(path: path) {
        case .success(let value):
            fd = value
        case .failure(let error):
            if error.isMissing { return .vanished }
            let code: TailError.Code =
                error.isPermission ? .permissionDenied : error.isDescriptorExhaustion ? .tooManyFiles : .readFailed
            return .failed(TailError(code: code, path: path, detail: "open: \(error)"))
        }

        let info: stat
        switch TailSystemCalls.fstat(fd) {
        case .success(let value):
            info = value
        case .failure(let error):
            TailSystemCalls.close(fd)
            return .failed(TailError(code: .readFailed, path: path, detail: "fstat: \(error)"))
        }
        guard TailSystemCalls.kind(of: info) == .regular else {
            // Something else took the name after our stat; look again next poll.
            TailSystemCalls.close(fd)
            return .vanished
        }

        let identity = TailFileIdentity(info)
        if let existing = filesByIdentity[identity] {
            TailSystemCalls.close(fd)
            return .alreadyFollowed(existing)
        }

        var offset: Int64 = 0
        var skipping = false
        if startAtEnd {
            (offset, skipping) = TailedFile.startOfUnfinishedLine(
                fd: fd,
                size: Int64(info.st_size),
                maxLineLength: configuration.maxLineLength,
                scratch: buffer,
                chunkSize: configuration.readChunkSize
            )
        }
        let file = TailedFile(identity: identity, fd: fd, path: path, info: info, offset: offset, skippingFirstLine: skipping)
        if offset > 0 { file.loadFingerprint(scratch: buffer) }
        files.append(file)
        filesByIdentity[identity] = file
        return .followed(file)
    }

    // MARK: Expansion

    private struct Match {
        var path: String
        var identity: TailFileIdentity
    }

    /// Stats every matching path, keeping regular files only (a `logs/*` glob also matches
    /// subdirectories, which are silently ignored).
    private func expandPatterns(problems: inout ProblemList) -> [Match] {
        var matches: [Match] = []
        /// Whether each path already examined turned out to be something to report or follow.
        var examined: [String: Bool] = [:]

        for pattern in configuration.patterns {
            let candidates: [String]
            let literal = !TailSystemCalls.hasGlobMagic(pattern)
            if !literal {
                switch TailSystemCalls.glob(pattern) {
                case .matches(let paths):
                    candidates = paths
                case .failed(let detail):
                    problems.append(TailError(code: .readFailed, path: pattern, detail: detail))
                    continue
                }
            } else {
                // Stat literal paths directly: glob(3) would hide why they are missing.
                candidates = [pattern]
            }

            var foundAny = false
            for path in candidates {
                if let known = examined[path] {
                    foundAny = foundAny || known
                    continue
                }
                var found = false
                switch TailSystemCalls.stat(path: path) {
                case .success(let info):
                    switch TailSystemCalls.kind(of: info) {
                    case .regular:
                        matches.append(Match(path: path, identity: TailFileIdentity(info)))
                        found = true
                    case .directory where literal:
                        // Named on its own, a directory is a mistake to report (`--timing-log.path /var/log/app`
                        // instead of `/var/log/app/*.log`), not a glob match to skip.
                        problems.append(TailError(code: .readFailed, path: path, detail: "is a directory, not a log file (for its files use a glob such as \(path)/*.log)"))
                        found = true
                    case .directory:
                        break
                    case .other:
                        problems.append(TailError(code: .readFailed, path: path, detail: "not a regular file"))
                        found = true
                    }
                case .failure(let error) where error.isMissing:
                    break
                case .failure(let error):
                    let code: TailError.Code = error.isPermission ? .permissionDenied : .readFailed
                    problems.append(TailError(code: code, path: path, detail: "stat: \(error)"))
                    found = true
                }
                examined[path] = found
                foundAny = foundAny || found
            }

            if !foundAny {
                if let (directory, error) = TailSystemCalls.unreadableDirectory(in: pattern) {
                    problems.append(TailError(code: .permissionDenied, path: directory, detail: "opendir: \(error)"))
                } else {
                    problems.append(TailError(code: .notFound, path: pattern, detail: "no regular file matches"))
                }
            }
        }
        return matches
    }
}

/// Identifies a problem across polls, so it is reported when it starts and not again while it
/// lasts. `tooManyFiles` is one problem however the set of blocked paths shifts.
private struct ProblemKey: Hashable {
    var code: TailError.Code
    var subject: String

    init(_ error: TailError) {
        self.code = error.code
        self.subject = error.code == .tooManyFiles ? "" : error.path
    }
}

private struct ProblemList {
    private(set) var errors: [TailError] = []
    private var keys: Set<ProblemKey> = []

    mutating func append(_ error: TailError) {
        if keys.insert(ProblemKey(error)).inserted { errors.append(error) }
    }

    func newlyReported(since reported: inout Set<ProblemKey>) -> [TailError] {
        let fresh = errors.filter { !reported.contains(ProblemKey($0)) }
        reported = keys
        return fresh
    }
}
