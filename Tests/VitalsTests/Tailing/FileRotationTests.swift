import Testing

@testable import Vitals

/// The tailer's rotation policy, from tables: each row is what successive polls saw of one file,
/// and when (if ever) the file is closed. No files, no clock.
@Suite struct FileRotationTests {
    /// What one poll saw of the file.
    enum Poll: CustomStringConvertible {
        /// A matched path leads to it; this many bytes were read.
        case named(bytes: Int)
        /// No matched path leads to it; `taken`: a new file has its name.
        case unnamed(taken: Bool, bytes: Int, links: UInt64 = 1)
        /// A rotation poll (a name changed in the directory), which counts nothing.
        case rotationPoll(taken: Bool, bytes: Int, links: UInt64 = 1)

        var description: String {
            switch self {
            case .named(let bytes): "named(\(bytes))"
            case .unnamed(let taken, let bytes, let links): "unnamed(taken: \(taken), \(bytes), links: \(links))"
            case .rotationPoll(let taken, let bytes, let links): "rotationPoll(taken: \(taken), \(bytes), links: \(links))"
            }
        }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        let name: String
        let polls: [Poll]
        /// The poll (0-based) after whose read the file is closed; nil if it stays open.
        let closedAfter: Int?
        /// How many rotations are counted.
        let rotations: Int
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "a named file is never closed, however idle", polls: Array(repeating: .named(bytes: 0), count: 700), closedAfter: nil, rotations: 0),
        Row(
            name: "rename and create: closed after the noticing poll and two quiet ones",
            polls: [.named(bytes: 10), .unnamed(taken: true, bytes: 5), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0)],
            closedAfter: 3, rotations: 1),
        Row(
            name: "a writer still finishing the old file keeps it open",
            polls: [
                .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 7), .unnamed(taken: true, bytes: 0),
                .unnamed(taken: true, bytes: 0),
            ],
            closedAfter: 4, rotations: 1),
        Row(
            name: "renamed and not yet replaced: waits for the writer to reopen",
            polls: [.unnamed(taken: false, bytes: 0), .unnamed(taken: false, bytes: 3), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0)],
            closedAfter: 4, rotations: 1),
        Row(
            name: "renamed, never replaced, silent: closed after the idle limit",
            polls: Array(repeating: .unnamed(taken: false, bytes: 0), count: FileRotation.idlePollLimit + 5),
            closedAfter: FileRotation.idlePollLimit - 1, rotations: 1),
        Row(
            name: "renamed, never replaced, still written: stays open",
            polls: Array(repeating: .unnamed(taken: false, bytes: 1), count: FileRotation.idlePollLimit + 5),
            closedAfter: nil, rotations: 1),
        Row(
            name: "deleted: drained by this read and closed at once",
            polls: [.named(bytes: 1), .unnamed(taken: false, bytes: 9, links: 0)],
            closedAfter: 1, rotations: 1),
        Row(
            name: "deleted and recreated in the same poll: closed at once all the same",
            polls: [.unnamed(taken: true, bytes: 0, links: 0)],
            closedAfter: 0, rotations: 1),
        Row(
            name: "renamed back into the patterns: named again, and a second rotation counts",
            polls: [.unnamed(taken: false, bytes: 0), .named(bytes: 0), .named(bytes: 0), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0)],
            closedAfter: 5, rotations: 2),
        Row(
            name: "rotation polls between scheduled ones do not shorten the writer's grace",
            polls: [
                .named(bytes: 10), .rotationPoll(taken: true, bytes: 0), .rotationPoll(taken: true, bytes: 0), .rotationPoll(taken: true, bytes: 0),
                .unnamed(taken: true, bytes: 0), .rotationPoll(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0),
            ],
            closedAfter: 7, rotations: 1),
        Row(
            name: "a rotation poll that finds the old file grown starts its quiet count again",
            polls: [
                .unnamed(taken: true, bytes: 0), .unnamed(taken: true, bytes: 0), .rotationPoll(taken: true, bytes: 4), .unnamed(taken: true, bytes: 0),
                .unnamed(taken: true, bytes: 0),
            ],
            closedAfter: 4, rotations: 1),
        Row(
            name: "rotation polls do not count towards the idle limit of a file nothing replaced",
            polls: Array(repeating: .rotationPoll(taken: false, bytes: 0), count: FileRotation.idlePollLimit + 5),
            closedAfter: nil, rotations: 1),
        Row(
            name: "a file deleted is closed by a rotation poll too: nobody can reach it by name",
            polls: [.named(bytes: 1), .rotationPoll(taken: false, bytes: 3, links: 0)],
            closedAfter: 1, rotations: 1),
    ]

    @Test(arguments: rows)
    func policy(_ row: Row) {
        var rotation = FileRotation()
        var rotations = 0
        var closedAfter: Int?
        for (index, poll) in row.polls.enumerated() {
            let action: FileRotation.Action
            switch poll {
            case .named(let bytes):
                rotation.named()
                action = rotation.read(bytes: bytes, linkCount: 1)
            case .unnamed(let taken, let bytes, let links):
                if rotation.unnamed(nameTaken: taken) { rotations += 1 }
                action = rotation.read(bytes: bytes, linkCount: links)
            case .rotationPoll(let taken, let bytes, let links):
                if rotation.unnamed(nameTaken: taken) { rotations += 1 }
                action = rotation.read(bytes: bytes, linkCount: links, counts: false)
            }
            if action == .close {
                closedAfter = index
                break
            }
        }
        #expect(closedAfter == row.closedAfter, "polls: \(row.polls)")
        #expect(rotations == row.rotations)
    }
}
