/// The rotation policy for one followed file, as a value with no I/O: what the tailer does with a
/// file as the names that led to it come and go. ``LogTailer`` feeds it what one poll saw and
/// carries out the action; the tests drive it from tables.
///
/// Each poll gives a file two inputs, in this order:
/// 1. after the patterns are expanded, ``named()`` (some matched path still leads to it) or
///    ``unnamed(nameTaken:)`` (none does; `nameTaken` when a new file now has its last name);
/// 2. after it was read, ``read(bytes:linkCount:counts:)``, which says whether to close it.
///
/// Only the polls of the source's schedule count towards closing. A poll made at once because a
/// name changed in a log's directory (``LogTailer/PollKind/rotation``) opens the new file and
/// reads what is there, but counts nothing, so a burst of rotation events cannot shorten the
/// grace a writer has to move over: it stays as many intervals as without those polls.
///
/// A file no name leads to is kept open while its writer may still append to it:
/// - no new file has its name yet: the writer was renamed away from and has not reopened, so the
///   file stays open until it has not grown for ``idlePollLimit`` polls;
/// - a new file has its name: the writer is moving over, so the file is closed once it has not
///   grown for ``quietPollLimit`` polls after the one that noticed the replacement;
/// - no links left (deleted): nobody can reach it by name, so it is closed after this read, which
///   drains it; keeping it open would pin its disk space.
struct FileRotation: Equatable {
    enum State: Equatable {
        /// A matched path leads to it.
        case named
        /// Nothing has taken its name yet: a writer renamed away from but not yet reopened is
        /// still appending here, so closing now would lose its lines.
        case awaitingReplacement(idlePolls: Int)
        /// A new file has its name. `noticedThisPoll`: the poll that noticed does not count
        /// towards closing, since the writer may be switching over right now.
        case replaced(quietPolls: Int, noticedThisPoll: Bool)
    }

    enum Action: Equatable {
        case keepOpen
        /// Deliver its unfinished last line and close it.
        case close
    }

    /// A file nothing replaced is normally a writer between rename and reopen; silent this
    /// long (a minute or two at the intended poll rate), the writer is gone and the descriptor
    /// is better spent elsewhere.
    static let idlePollLimit = 600
    /// Polls without growth, after a replacement took its name, before an old file is closed.
    static let quietPollLimit = 2

    private(set) var state: State = .named

    /// A matched path leads to the file again (renamed back, or matched under another name).
    mutating func named() {
        state = .named
    }

    /// No matched path leads to the file.
    /// - Returns: whether this is a new rotation (the file was named until now), for counting.
    mutating func unnamed(nameTaken: Bool) -> Bool {
        switch state {
        case .named:
            state = nameTaken ? .replaced(quietPolls: 0, noticedThisPoll: true) : .awaitingReplacement(idlePolls: 0)
            return true
        case .awaitingReplacement where nameTaken:
            state = .replaced(quietPolls: 0, noticedThisPoll: true)
            return false
        case .awaitingReplacement, .replaced:
            return false
        }
    }

    /// The file was read to its end; `bytes` is how much this poll read. `counts`: false for a
    /// rotation poll, which only resets the counts when the file grew.
    mutating func read(bytes: Int, linkCount: UInt64, counts: Bool = true) -> Action {
        switch state {
        case .named:
            return .keepOpen
        case _ where linkCount == 0:
            return .close
        case .awaitingReplacement where !counts:
            if bytes > 0 { state = .awaitingReplacement(idlePolls: 0) }
            return .keepOpen
        case .replaced(_, let noticedThisPoll) where !counts:
            if bytes > 0 { state = .replaced(quietPolls: 0, noticedThisPoll: noticedThisPoll) }
            return .keepOpen
        case .awaitingReplacement(let idlePolls):
            let idle = bytes > 0 ? 0 : idlePolls + 1
            guard idle < Self.idlePollLimit else { return .close }
            state = .awaitingReplacement(idlePolls: idle)
            return .keepOpen
        case .replaced(let quietPolls, let noticedThisPoll):
            guard !noticedThisPoll else {
                state = .replaced(quietPolls: quietPolls, noticedThisPoll: false)
                return .keepOpen
            }
            let quiet = bytes > 0 ? 0 : quietPolls + 1
            guard quiet < Self.quietPollLimit else { return .close }
            state = .replaced(quietPolls: quiet, noticedThisPoll: false)
            return .keepOpen
        }
    }
}
