import Foundation
import Glibc
import Testing

@testable import Vitals

@Suite("LogTailer")
struct LogTailerTests {
    // MARK: Basics

    @Test func basicAppend() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        #expect(collect(tailer).lines == [])
        try append(log, "one\ntwo\n")
        let first = collect(tailer)
        #expect(first.lines == ["one", "two"])
        #expect(first.result == .init(bytesRead: 8, lines: 2))
        try append(log, "three\n")
        #expect(collect(tailer).lines == ["three"])
        #expect(collect(tailer).lines == [])
        #expect(tailer.followedFiles == [log])
    }

    @Test func fromBeginningReadsExistingContent() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "old1\nold2\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }
        #expect(collect(tailer).lines == ["old1", "old2"])
        try append(log, "new\n")
        #expect(collect(tailer).lines == ["new"])
    }

    @Test func fromEndSkipsExistingContent() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "old1\nold2\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: false))
        defer { tailer.close() }
        #expect(tailer.bytesBehind == 0)
        #expect(collect(tailer).lines == [])
        #expect(tailer.bytesBehind == 0)
        try append(log, "new\n")
        #expect(tailer.bytesBehind == 4)
        #expect(collect(tailer).lines == ["new"])
        #expect(tailer.bytesBehind == 0)
    }

    /// A line being written when we start is delivered whole, not as a tail fragment.
    @Test func fromEndDeliversTheLineInProgressWhole() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "old\npart")
        let tailer = LogTailer(configuration: .init(patterns: [log]))
        defer { tailer.close() }
        #expect(collect(tailer).lines == [])
        try append(log, "ial\nnext\n")
        #expect(collect(tailer).lines == ["partial", "next"])
    }

    /// ...unless it is already too long to deliver, in which case its rest is skipped silently
    /// (it was not read, so it is not counted).
    @Test func fromEndSkipsAnOverlongLineInProgress() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "old\n" + String(repeating: "x", count: 30))
        let tailer = LogTailer(configuration: .init(patterns: [log], maxLineLength: 10, readChunkSize: 4))
        defer { tailer.close() }
        #expect(collect(tailer).lines == [])
        try append(log, "xxx\nnext\n")
        let (lines, result) = collect(tailer)
        #expect(lines == ["next"])
        #expect(result.oversizedLines == 0)

        // The same when the file is nothing but that line, one byte over the limit...
        let single = dir.path("single.log")
        try append(single, String(repeating: "y", count: 11))
        let singleTailer = LogTailer(configuration: .init(patterns: [single], maxLineLength: 10))
        defer { singleTailer.close() }
        #expect(collect(singleTailer).lines == [])
        try append(single, "\nnext\n")
        #expect(collect(singleTailer).result == .init(bytesRead: 6, lines: 1))

        // ...while one exactly at the limit is kept whole.
        let fits = dir.path("fits.log")
        try append(fits, String(repeating: "z", count: 10))
        let fitsTailer = LogTailer(configuration: .init(patterns: [fits], maxLineLength: 10))
        defer { fitsTailer.close() }
        #expect(collect(fitsTailer).lines == [])
        try append(fits, "\n")
        #expect(collect(fitsTailer).lines == [String(repeating: "z", count: 10)])
    }

    @Test func emptyFile() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "")
        for fromBeginning in [true, false] {
            let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: fromBeginning))
            defer { tailer.close() }
            let (lines, result) = collect(tailer)
            #expect(lines == [])
            #expect(result == .init())
            #expect(tailer.followedFiles == [log])
            #expect(tailer.currentErrors == [])
        }
        let tailer = LogTailer(configuration: .init(patterns: [log]))
        defer { tailer.close() }
        _ = collect(tailer)
        try append(log, "first\n")
        #expect(collect(tailer).lines == ["first"])
    }

    // MARK: Rotation

    @Test func renameRotation() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("a1\na2\n")
        #expect(collect(tailer).lines == ["a1", "a2"])
        try writer.write("a3\n")  // written before rotation, not yet read
        try rename(log, dir.path("app.log.1"))
        writer.close()
        let next = try Writer(log)
        defer { next.close() }
        try next.write("b1\nb2\n")

        let (lines, result) = collect(tailer)
        #expect(lines == ["a3", "b1", "b2"])
        #expect(result.rotations == 1)
        #expect(tailer.followedFiles == [log, log])  // old one still draining
        try next.write("b3\n")
        #expect(collect(tailer).lines == ["b3"])
        #expect(collect(tailer).lines == [])
        #expect(tailer.followedFiles == [log])
        #expect(collect(tailer).lines == [])
    }

    /// logrotate `create` without the app reopening yet: the new file exists, empty, while the
    /// app keeps appending to the renamed one until it gets its signal.
    @Test func renameWhileWriterStillAppendsToOldFile() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("1\n")
        #expect(collect(tailer).lines == ["1"])
        try rename(log, dir.path("app.log.1"))
        try writer.write("2\n")
        #expect(collect(tailer).lines == ["2"])  // renamed away, nothing replaced it yet
        try append(log, "")  // logrotate creates the new, empty file
        try writer.write("3\n")
        #expect(collect(tailer).lines == ["3"])
        #expect(collect(tailer).lines == [])  // quiet poll 1
        try writer.write("4\n")  // still growing: the quiet count restarts
        #expect(collect(tailer).lines == ["4"])
        try writer.write("unfinished")
        #expect(collect(tailer).lines == [])
        writer.close()  // the app reopens
        let next = try Writer(log)
        defer { next.close() }
        try next.write("5\n")
        // Old file is drained first, and its unfinished line only counts once it is closed.
        #expect(collect(tailer).lines == ["5"])
        #expect(tailer.followedFiles.count == 2)
        #expect(collect(tailer).lines == ["unfinished"])
        #expect(tailer.followedFiles == [log])
        try next.write("6\n")
        #expect(collect(tailer).lines == ["6"])
    }

    @Test func copytruncate() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("a1\na2\n")
        #expect(collect(tailer).lines == ["a1", "a2"])
        try copyFile(log, dir.path("app.log.1"))
        #expect(ftruncate(writer.fd, 0) == 0)
        try writer.write("b1\n")
        let (lines, result) = collect(tailer)
        #expect(lines == ["b1"])
        #expect(result.truncations == 1)
        #expect(result.rotations == 0)
        try writer.write("b2\n")
        #expect(collect(tailer).lines == ["b2"])
    }

    /// Lines appended after our last read and before logrotate's truncate exist only in the
    /// copy: they are read from there, once.
    @Test func copytruncateRecoversTheUnreadTailFromTheCopy() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("a1\na2\n")
        #expect(collect(tailer).lines == ["a1", "a2"])
        try writer.write("a3\na4\n")
        try copyFile(log, dir.path("app.log-20261124"))
        #expect(ftruncate(writer.fd, 0) == 0)
        try writer.write("b1\n")
        let (lines, result) = collect(tailer)
        #expect(lines == ["a3", "a4", "b1"])
        #expect(result.recoveredFromCopies == 1)
        #expect(collect(tailer).lines == [])
    }

    /// The writer refills the truncated file past our old offset before we look: the size never
    /// appears to shrink, but the bytes before our offset changed.
    @Test func copytruncateHiddenByQuickRewrite() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        let old = (0..<10).map { "old line \($0)" }
        try writer.write(old.map { $0 + "\n" }.joined())
        #expect(collect(tailer).lines == old)
        #expect(ftruncate(writer.fd, 0) == 0)
        let new = (0..<20).map { "new line \($0)" }
        try writer.write(new.map { $0 + "\n" }.joined())
        let (lines, result) = collect(tailer)
        #expect(lines == new)
        #expect(result.truncations == 1)
    }

    @Test func truncationDropsTheUnfinishedLine() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }
        try writer.write("a\nfrag")
        #expect(collect(tailer).lines == ["a"])
        #expect(ftruncate(writer.fd, 0) == 0)
        try writer.write("b\n")
        #expect(collect(tailer).lines == ["b"])
    }

    @Test func deleteAndRecreate() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "a\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }
        #expect(collect(tailer).lines == ["a"])

        try append(log, "b\nlast")  // unread when the file is deleted
        #expect(unlink(log) == 0)
        let (lines, result) = collect(tailer)
        #expect(lines == ["b", "last"])  // drained, then closed: its unfinished line is final
        #expect(result.rotations == 1)
        #expect(result.errors.map(\.code) == [.notFound])
        #expect(tailer.followedFiles == [])
        #expect(collect(tailer).result == .init())  // not reported again

        try append(log, "c\n")
        #expect(collect(tailer).lines == ["c"])
        #expect(tailer.currentErrors == [])
    }

    @Test func fileAppearingLaterIsReadFromStart() throws {
        let dir = try ScratchDirectory()
        let pattern = dir.path("*.log")
        let tailer = LogTailer(configuration: .init(patterns: [pattern], fromBeginning: false))
        defer { tailer.close() }

        let first = collect(tailer)
        #expect(first.lines == [])
        #expect(first.result.errors == [TailError(code: .notFound, path: pattern, detail: "no regular file matches")])
        #expect(tailer.currentErrors.map(\.code) == [.notFound])
        #expect(collect(tailer).result.errors == [])  // once, not every poll
        #expect(tailer.currentErrors.map(\.code) == [.notFound])

        try append(dir.path("late.log"), "x\ny\n")
        #expect(collect(tailer).lines == ["x", "y"])
        #expect(tailer.currentErrors == [])
    }

    @Test func globWithTwoFiles() throws {
        let dir = try ScratchDirectory()
        try append(dir.path("a.log"), "a1\n")
        try append(dir.path("b.log"), "b1\n")
        try append(dir.path("c.txt"), "not matched\n")
        #expect(mkdir(dir.path("d.log"), 0o755) == 0)  // directories are ignored
        let tailer = LogTailer(configuration: .init(patterns: [dir.path("*.log")], fromBeginning: true))
        defer { tailer.close() }

        #expect(collect(tailer).lines == ["a1", "b1"])
        #expect(tailer.followedFiles == [dir.path("a.log"), dir.path("b.log")])
        try append(dir.path("b.log"), "b2\n")
        try append(dir.path("a.log"), "a2\n")
        #expect(collect(tailer).lines.sorted() == ["a2", "b2"])
    }

    /// A directory named on its own is a mistake (the path of the directory instead of a glob of its
    /// files): reported as such, once, until a file takes its place. Also the test for "unreadable"
    /// that works as root, where chmod 000 does not stop reads.
    @Test func literalDirectoryIsReportedThenReplacedByAFile() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        #expect(mkdir(log, 0o755) == 0)
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: false))
        defer { tailer.close() }

        let first = collect(tailer).result
        #expect(first.errors.map(\.code) == [.readFailed])
        #expect(first.errors.first?.path == log)
        #expect(first.errors.first?.detail.hasPrefix("is a directory, not a log file") == true)
        #expect(collect(tailer).result.errors == [])  // once, not every poll
        #expect(tailer.currentErrors.map(\.code) == [.readFailed])

        #expect(rmdir(log) == 0)
        try append(log, "x\n")
        #expect(collect(tailer).lines == ["x"])  // appeared later: read from the start
        #expect(tailer.currentErrors == [])
    }

    @Test func overlappingPatternsFollowAFileOnce() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "x\n")
        let tailer = LogTailer(configuration: .init(patterns: [log, dir.path("*.log"), dir.path("app.*")], fromBeginning: true))
        defer { tailer.close() }
        #expect(collect(tailer).lines == ["x"])
        #expect(tailer.followedFiles == [log])
    }

    /// Identity is the inode: the rotated file keeps matching `app.log*` under its new name and
    /// must be neither re-read nor dropped.
    @Test func renamedFileStillMatchingGlobIsReadOnce() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        let tailer = LogTailer(configuration: .init(patterns: [dir.path("app.log*")], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("a1\na2\n")
        #expect(collect(tailer).lines == ["a1", "a2"])
        try rename(log, dir.path("app.log.1"))
        try writer.write("a3\n")
        let next = try Writer(log)
        defer { next.close() }
        try next.write("b1\n")

        let (lines, result) = collect(tailer)
        #expect(lines == ["a3", "b1"])
        #expect(result.rotations == 0)  // still matched, so not rotated out
        for _ in 0..<4 { #expect(collect(tailer).lines == []) }
        #expect(tailer.followedFiles == [dir.path("app.log.1"), log])

        try writer.write("a4\n")
        writer.close()
        #expect(collect(tailer).lines == ["a4"])
    }

    // MARK: Partial and oversized lines

    @Test func slowWriterLineInThreePieces() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }

        try writer.write("hel")
        #expect(collect(tailer).lines == [])
        try writer.write("lo wo")
        #expect(collect(tailer).lines == [])
        #expect(tailer.bytesBehind == 0)  // buffered, not behind
        try writer.write("rld\n")
        let (lines, result) = collect(tailer)
        #expect(lines == ["hello world"])
        #expect(result.lines == 1)
    }

    @Test func partialLastLineWaits() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "a\nb")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }
        #expect(collect(tailer).lines == ["a"])
        #expect(collect(tailer).lines == [])
        #expect(collect(tailer).lines == [])
        try append(log, "\n")
        #expect(collect(tailer).lines == ["b"])
    }

    @Test func oversizedLineIsSkippedAndCounted() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let long = String(repeating: "x", count: 50)
        try append(log, "short\n\(long)\nexactly10c\n12345678901\nafter\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true, maxLineLength: 10, readChunkSize: 16))
        defer { tailer.close() }
        let (lines, result) = collect(tailer)
        #expect(lines == ["short", "exactly10c", "after"])
        #expect(result.oversizedLines == 2)
        #expect(result.lines == 3)
    }

    /// Megabytes without a newline, arriving over many polls: counted once, never buffered,
    /// and the line after it survives.
    @Test func endlessLineStaysBounded() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true, maxLineLength: 1024, readChunkSize: 4096))
        defer { tailer.close() }

        try writer.write("before\n")
        #expect(collect(tailer).lines == ["before"])
        let block = String(repeating: "z", count: 256 * 1024)
        var oversized = 0
        for _ in 0..<16 {
            try writer.write(block)
            let (lines, result) = collect(tailer)
            #expect(lines == [])
            oversized += result.oversizedLines
        }
        try writer.write("tail\nafter\n")
        let (lines, result) = collect(tailer)
        #expect(lines == ["after"])
        #expect(oversized + result.oversizedLines == 1)
    }

    @Test func crlfKeepsCarriageReturn() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "a\r\nb\r\n\r\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        defer { tailer.close() }
        #expect(collect(tailer).lines == ["a\r", "b\r", "\r"])
    }

    @Test func binaryGarbage() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        var rng = SplitMix64(seed: 42)
        var data: [UInt8] = (0..<200_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        data.append(10)
        try appendBytes(log, data)
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true, maxLineLength: 300, readChunkSize: 1000))
        defer { tailer.close() }
        var lines: [[UInt8]] = []
        let result = tailer.poll { lines.append(Array($0)) }
        let expected = referenceSplit(data, maxLineLength: 300)
        #expect(lines == expected.lines)
        #expect(result.oversizedLines == expected.oversized)
        #expect(result.bytesRead == data.count)
    }

    /// Random bytes written in random pieces, polled at random moments, through tiny read
    /// chunks: must match a plain split of the whole input.
    @Test(arguments: 0..<40)
    func chunkBoundariesMatchReferenceSplit(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed))
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        let writer = try Writer(log)
        defer { writer.close() }
        let maxLineLength = Int(rng.next() % 20) + 1
        let chunkSize = Int(rng.next() % 16) + 1
        let tailer = LogTailer(
            configuration: .init(patterns: [log], fromBeginning: true, maxLineLength: maxLineLength, readChunkSize: chunkSize)
        )
        defer { tailer.close() }

        let alphabet: [UInt8] = [10, 10, 10, 13, 0, 0xff, 0x61, 0x62, 0x63, 0x20]
        let data: [UInt8] = (0..<3000).map { _ in
            rng.next() % 8 == 0 ? 10 : alphabet[Int(rng.next() % UInt64(alphabet.count))]
        }
        var lines: [[UInt8]] = []
        var oversized = 0
        var written = 0
        while written < data.count {
            let piece = min(data.count - written, Int(rng.next() % 60))
            try writer.writeBytes(Array(data[written..<(written + piece)]))
            written += piece
            if rng.next() % 3 != 0 {
                oversized += tailer.poll { lines.append(Array($0)) }.oversizedLines
            }
        }
        oversized += tailer.poll { lines.append(Array($0)) }.oversizedLines
        let expected = referenceSplit(data, maxLineLength: maxLineLength)
        #expect(lines == expected.lines, "seed \(seed)")
        #expect(oversized == expected.oversized, "seed \(seed)")
    }

    // MARK: Errors and limits

    @Test func tooManyFiles() throws {
        let dir = try ScratchDirectory()
        for name in ["a", "b", "c"] { try append(dir.path("\(name).log"), "\(name)\n") }
        let tailer = LogTailer(configuration: .init(patterns: [dir.path("*.log")], fromBeginning: true, maxFiles: 2))
        defer { tailer.close() }
        let (lines, result) = collect(tailer)
        #expect(lines == ["a", "b"])
        #expect(result.errors.map(\.code) == [.tooManyFiles])
        #expect(result.errors.first?.path == dir.path("c.log"))
        #expect(tailer.followedFiles.count == 2)
        #expect(collect(tailer).result.errors == [])  // reported once
        #expect(unlink(dir.path("a.log")) == 0)
        _ = collect(tailer)  // a.log drained and closed, freeing a slot
        #expect(collect(tailer).lines == ["c"])
        #expect(tailer.currentErrors == [])
    }

    /// Root reads anything, so as root the check runs on a thread whose filesystem uid is
    /// `nobody`: Linux then drops CAP_DAC_OVERRIDE for that thread alone (fsuid is per thread),
    /// leaving the other tests running in this process unaffected.
    @Test func permissionDeniedIsReportedAndRetried() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("secret.log")
        try append(log, "hidden\n")
        #expect(chmod(log, 0o000) == 0)
        let hiddenDir = dir.path("locked")
        #expect(mkdir(hiddenDir, 0o755) == 0)
        try append(hiddenDir + "/inner.log", "inner\n")
        #expect(chmod(hiddenDir, 0o000) == 0)
        defer { _ = chmod(hiddenDir, 0o755) }

        // mkdtemp made the scratch directory private to its owner.
        #expect(chmod(dir.root, 0o755) == 0)
        let globbed = hiddenDir + "/*.log"
        let literal = hiddenDir + "/inner.log"
        let tailer = LogTailer(configuration: .init(patterns: [log, literal, globbed], fromBeginning: false))
        defer { tailer.close() }

        let outcome = try withoutFilePrivileges {
            let probe = open(log, O_RDONLY)
            guard probe < 0 else {
                _ = Glibc.close(probe)
                return nil as [LogTailer.PollResult]?
            }
            return [collect(tailer).result, collect(tailer).result]
        }
        guard let outcome else {
            try Test.cancel("cannot drop the privilege to read unreadable files in this environment")
        }
        #expect(outcome[0].errors.map(\.code) == [.permissionDenied, .permissionDenied, .permissionDenied])
        #expect(Set(outcome[0].errors.map(\.path)) == [log, literal, hiddenDir])
        #expect(outcome[1].errors == [])  // retried, not re-reported
        #expect(tailer.currentErrors.count == 3)

        #expect(chmod(log, 0o644) == 0)
        #expect(chmod(hiddenDir, 0o755) == 0)
        let lines = try withoutFilePrivileges { collect(tailer).lines }
        // Could not be opened at startup, so it counts as appearing later: read from the start.
        #expect(lines == ["hidden", "inner"])
        #expect(tailer.currentErrors == [])
    }

    @Test func closeStopsPolling() throws {
        let dir = try ScratchDirectory()
        let log = dir.path("app.log")
        try append(log, "a\n")
        let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
        tailer.close()
        #expect(collect(tailer).result == .init())
        #expect(tailer.followedFiles == [])
        tailer.close()
    }

    // MARK: Stress

    /// Rename rotations, including writes to the renamed file before the writer reopens, with a
    /// concurrent poller: every line arrives exactly once. The rotated file either falls out of
    /// the pattern (and is overwritten by the next rotation) or keeps matching under a new name.
    @Test(arguments: [false, true])
    func stressRenameRotationIsLossless(rotatedFilesMatch: Bool) throws {
        let dir = try ScratchDirectory()
        let pattern = rotatedFilesMatch ? dir.path("app.log*") : dir.path("app.log")
        let run = try StressRun(directory: dir, seed: rotatedFilesMatch ? 7 : 8, copytruncateShare: 0)
        let numbers = try run.execute(pattern: pattern, uniqueRotatedNames: rotatedFilesMatch)

        #expect(run.rotations.count == StressRun.rotationCount)
        #expect(numbers.malformed == [])
        #expect(numbers.duplicates == [])
        #expect(numbers.delivered.count == run.lineCount)
        #expect(numbers.missing == [])
    }

    /// Mixed rotations: rename is lossless, and so is copytruncate, because the tail written
    /// after the last poll before a truncation is read back from the copy (see ``LogTailer``).
    @Test func stressMixedRotation() throws {
        let dir = try ScratchDirectory()
        let run = try StressRun(directory: dir, seed: 99, copytruncateShare: 0.5)
        let numbers = try run.execute(pattern: dir.path("app.log"), uniqueRotatedNames: false)

        #expect(run.rotations.contains { $0.kind == .copytruncate })
        #expect(run.rotations.contains { $0.kind == .rename })
        #expect(numbers.malformed == [])
        #expect(numbers.duplicates == [])
        #expect(numbers.missing == [])
        #expect(numbers.delivered.count == run.lineCount)
    }
}

// MARK: - Stress harness

/// A writer thread appending numbered lines and rotating, racing a poller on the test thread.
private final class StressRun: @unchecked Sendable {
    enum Kind { case rename, copytruncate }
    struct Rotation {
        var kind: Kind
        /// The generation (file) this rotation ended.
        var generation: Int
        /// First line number of the next generation.
        var nextFirstLine: Int
    }
    struct Numbers {
        var delivered: Set<Int> = []
        var duplicates: [Int] = []
        var malformed: [String] = []
        var missing: [Int] = []
    }

    static let rotationCount = 20
    let lineCount = 30_000
    let directory: ScratchDirectory
    let copytruncateShare: Double
    private var rng: SplitMix64
    private(set) var rotations: [Rotation] = []
    /// Shared between the writer thread and the poller; NSLock rather than `Atomic` keeps the
    /// tests free of the macOS 15 availability floor.
    private let lock = NSLock()
    private var pollCount = 0
    private var writerFinished = false
    private var polls: Int { lock.withLock { pollCount } }
    private var finished: Bool { lock.withLock { writerFinished } }
    private var failure: String?

    init(directory: ScratchDirectory, seed: UInt64, copytruncateShare: Double) throws {
        self.directory = directory
        self.rng = SplitMix64(seed: seed)
        self.copytruncateShare = copytruncateShare
    }

    func generation(ofLine line: Int) -> Int {
        rotations.firstIndex { line < $0.nextFirstLine } ?? rotations.count
    }

    func execute(pattern: String, uniqueRotatedNames: Bool) throws -> Numbers {
        let log = directory.path("app.log")
        try append(log, "")
        let tailer = LogTailer(configuration: .init(patterns: [pattern], fromBeginning: true, readChunkSize: 4096))
        defer { tailer.close() }

        var rotationPoints = Set<Int>()
        while rotationPoints.count < Self.rotationCount {
            rotationPoints.insert(Int(rng.next() % UInt64(lineCount - 100)) + 50)
        }
        var kinds: [Kind] = (0..<Self.rotationCount).map { index in
            Double(index) < Double(Self.rotationCount) * copytruncateShare ? .copytruncate : .rename
        }
        kinds.shuffle(using: &rng)
        let writerSeed = rng.next()
        let points = rotationPoints
        let rotationKinds = kinds

        let thread = Thread { [self] in
            defer { lock.withLock { writerFinished = true } }
            do {
                var writerRNG = SplitMix64(seed: writerSeed)
                try self.write(log: log, points: points, kinds: rotationKinds, uniqueRotatedNames: uniqueRotatedNames, rng: &writerRNG)
            } catch {
                failure = "\(error)"
            }
        }
        thread.start()

        var numbers = Numbers()
        func take(_ line: UnsafeRawBufferPointer) {
            let text = String(decoding: line, as: UTF8.self)
            guard let number = text.split(separator: " ").first.flatMap({ Int($0) }), number >= 0, number < lineCount,
                text == Self.line(number).dropLast()
            else {
                numbers.malformed.append(text)
                return
            }
            if !numbers.delivered.insert(number).inserted { numbers.duplicates.append(number) }
        }
        var pollRNG = SplitMix64(seed: rng.next())
        while !finished {
            _ = tailer.poll(onLine: take)
            lock.withLock { pollCount += 1 }
            usleep(UInt32(1000 + pollRNG.next() % 2000))
        }
        // Let rotated files pass their quiet polls and be closed.
        for _ in 0..<4 { _ = tailer.poll(onLine: take) }
        if let failure { Issue.record("writer failed: \(failure)") }
        #expect(tailer.followedFiles == [log] || uniqueRotatedNames)
        numbers.missing = (0..<lineCount).filter { !numbers.delivered.contains($0) }
        return numbers
    }

    /// Lines are self-checking: the number, then filler whose length depends on the number.
    static func line(_ number: Int) -> String {
        "\(number) " + String(repeating: Character(UnicodeScalar(UInt8(97 + number % 26))), count: number % 37) + "\n"
    }

    private func write(log: String, points: Set<Int>, kinds: [Kind], uniqueRotatedNames: Bool, rng: inout SplitMix64) throws {
        var writer = try Writer(log)
        defer { writer.close() }
        var generation = 0
        var number = 0
        func emit(_ writer: Writer) throws {
            let bytes = Array(Self.line(number).utf8)
            if number % 11 == 0, bytes.count > 4 {
                // Some lines arrive in two pieces, so the poller sees unfinished lines.
                try writer.writeBytes(Array(bytes[..<3]))
                try writer.writeBytes(Array(bytes[3...]))
            } else {
                try writer.writeBytes(bytes)
            }
            number += 1
        }

        while number < lineCount {
            if points.contains(number) {
                // Make sure the poller has seen the current file at least once: a file renamed
                // out of the pattern before any poll saw it cannot be found by name.
                let seen = polls
                while polls < seen + 2 { usleep(200) }
                // Then a few lines the poller may or may not read before the rotation.
                for _ in 0..<Int(rng.next() % 50) where number < lineCount { try emit(writer) }

                let kind = kinds[rotations.count]
                switch kind {
                case .rename:
                    let rotatedName = uniqueRotatedNames ? "app.log.\(generation + 1)" : "app.log.1"
                    try rename(log, directory.path(rotatedName))
                    // The app keeps writing to the renamed file until it reopens.
                    for _ in 0..<Int(rng.next() % 20) where number < lineCount { try emit(writer) }
                    let next = try Writer(log)
                    writer.close()
                    writer = next
                case .copytruncate:
                    try copyFile(log, directory.path("app.log.1"))
                    guard ftruncate(writer.fd, 0) == 0 else { throw POSIXFailure(operation: "ftruncate") }
                }
                rotations.append(Rotation(kind: kind, generation: generation, nextFirstLine: number))
                generation += 1
            }
            try emit(writer)
            if rng.next() % 64 == 0 { usleep(UInt32(rng.next() % 300)) }
        }
    }
}

// MARK: - Helpers

private func collect(_ tailer: LogTailer) -> (lines: [String], result: LogTailer.PollResult) {
    var lines: [String] = []
    let result = tailer.poll { lines.append(String(decoding: $0, as: UTF8.self)) }
    return (lines, result)
}

/// What the tailer must produce for `data`: complete lines up to the limit, in order.
private func referenceSplit(_ data: [UInt8], maxLineLength: Int) -> (lines: [[UInt8]], oversized: Int) {
    var lines: [[UInt8]] = []
    var oversized = 0
    let pieces = data.split(separator: 10, omittingEmptySubsequences: false)
    for (index, piece) in pieces.enumerated() {
        let isComplete = index < pieces.count - 1
        if piece.count > maxLineLength {
            oversized += 1
        } else if isComplete {
            lines.append(Array(piece))
        }
    }
    return (lines, oversized)
}

private struct POSIXFailure: Error, CustomStringConvertible {
    var operation: String
    var code: CInt = errno
    var description: String { "\(operation): \(String(cString: strerror(code)))" }
}

private final class ScratchDirectory: Sendable {
    let root: String

    init() throws {
        var template = Array("/tmp/vitals-tailer-XXXXXX".utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ $0.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw POSIXFailure(operation: "mkdtemp")
        }
        self.root = String(cString: created)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func path(_ name: String) -> String { root + "/" + name }
}

/// Keeps the descriptor open like a logging app does, so rotation scenarios can keep writing
/// to a file after it was renamed.
private final class Writer: @unchecked Sendable {
    let fd: CInt
    private var isClosed = false

    init(_ path: String) throws {
        fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw POSIXFailure(operation: "open \(path)") }
    }

    func write(_ text: String) throws {
        try writeBytes(Array(text.utf8))
    }

    func writeBytes(_ bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
            if count < 0 {
                if errno == EINTR { continue }
                throw POSIXFailure(operation: "write")
            }
            done += count
        }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        _ = Glibc.close(fd)
    }

    deinit { close() }
}

private func append(_ path: String, _ text: String) throws {
    try appendBytes(path, Array(text.utf8))
}

private func appendBytes(_ path: String, _ bytes: [UInt8]) throws {
    let writer = try Writer(path)
    defer { writer.close() }
    try writer.writeBytes(bytes)
}

private func rename(_ from: String, _ to: String) throws {
    guard Glibc.rename(from, to) == 0 else { throw POSIXFailure(operation: "rename \(from) \(to)") }
}

/// What logrotate's copytruncate does before truncating: a copy into a fresh file (a new
/// inode, never an in-place overwrite of an older rotated file).
private func copyFile(_ from: String, _ to: String) throws {
    let content = try Data(contentsOf: URL(fileURLWithPath: from))
    _ = unlink(to)
    try content.write(to: URL(fileURLWithPath: to), options: .withoutOverwriting)
}

/// Runs `body` on a fresh thread that cannot bypass file permissions. As root that means a
/// filesystem uid of `nobody`, which makes Linux drop the file capabilities of that thread only.
private func withoutFilePrivileges<T>(_ body: @escaping () -> T) throws -> T {
    let box = UncheckedBox()
    var value: T?
    let done = DispatchSemaphore(value: 0)
    box.body = { value = body() }
    let thread = Thread {
        if geteuid() == 0, let setfsuid = dlsym(nil, "setfsuid") {
            let call = unsafeBitCast(setfsuid, to: (@convention(c) (UInt32) -> Int32).self)
            _ = call(65_534)
        }
        box.body?()
        done.signal()
    }
    thread.start()
    done.wait()
    guard let value else { throw POSIXFailure(operation: "thread", code: EINVAL) }
    return value
}

/// Hands a closure to another thread; the caller waits for that thread, so there is no sharing.
private final class UncheckedBox: @unchecked Sendable {
    var body: (() -> Void)?
}

/// Several timing-log inputs share `vitals_log_bytes_behind` and `vitals_log_files_followed`
/// (one `source` label): the gauges read the sum over the inputs, not the last one polled.
@Suite struct LogReadingMetricsTests {
    @Test func inputsSharingASourceAddTheirPartsOfTheGauges() throws {
        let dir = try ScratchDirectory()
        let registry = MetricRegistry()
        let first = try LogReadingMetrics(registry: registry, source: "timing_log")
        let second = try LogReadingMetrics(registry: registry, source: "timing_log")
        #expect(first.bytesBehind.value(["timing_log"]) == 0 && first.filesFollowed.value(["timing_log"]) == 0)
        for name in ["a.log", "b.log", "c.log"] { try append(dir.path(name), "x\n") }
        // Input one follows a.log; input two follows b.log and c.log.
        let one = LogTailer(configuration: .init(patterns: [dir.path("a.log")], fromBeginning: true))
        let two = LogTailer(configuration: .init(patterns: [dir.path("b.log"), dir.path("c.log")], fromBeginning: true))
        defer {
            one.close()
            two.close()
        }
        first.recordPoll(one.poll { _ in }, tailer: one)
        second.recordPoll(two.poll { _ in }, tailer: two)
        #expect(first.filesFollowed.value(["timing_log"]) == 3)
        first.recordPoll(one.poll { _ in }, tailer: one)
        #expect(first.filesFollowed.value(["timing_log"]) == 3, "a repeated report replaces its part")
        // Written after the last polls: both inputs' bytes are behind, and the gauge holds the sum.
        try append(dir.path("a.log"), "0123456789\n")
        try append(dir.path("c.log"), "01234\n")
        first.recordPoll(.init(), tailer: one)
        second.recordPoll(.init(), tailer: two)
        #expect(one.bytesBehind == 11 && two.bytesBehind == 6)
        #expect(first.bytesBehind.value(["timing_log"]) == 17)
        // Read up: both parts drop to zero.
        first.recordPoll(one.poll { _ in }, tailer: one)
        second.recordPoll(two.poll { _ in }, tailer: two)
        #expect(first.bytesBehind.value(["timing_log"]) == 0)
    }
}
