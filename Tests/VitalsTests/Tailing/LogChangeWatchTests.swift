import Foundation
import Glibc
import Testing

@testable import Vitals
import NIOConcurrencyHelpers

/// The idle log: polled when it changes (or once per idle timeout), not on every interval.
/// Intervals here are 10 ms and the idle timeout an hour, so "no poll" and "a poll" are far apart.
@Suite struct LogChangeWatchTests {
    final class Directory: Sendable {
        let path: String
        init() throws {
            path = NSTemporaryDirectory() + "vitals-watch-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
        func file(_ name: String) -> String { path + "/" + name }
    }

    /// Polls `log` through a watch the way a log source does, counting polls.
    final class WatchedPolling: Sendable {
        let polls = NIOLockedValueBox(0)
        /// Polls that found `reads` grown.
        let finds = NIOLockedValueBox(0)
        /// The polling thread's `/proc` directory, from its first poll.
        private let threadDirectory = NIOLockedValueBox<String?>(nil)
        private let task: Task<Void, Never>

        /// - Parameter reads: a file each poll looks at, reporting whether it grew: one outside the
        ///   watched directories stands for a file system whose writes inotify does not report.
        init(
            patterns: [String], following: [String], rotated: Bool = false,
            idleTimeouts: Backoff = Backoff(base: .seconds(3600), cap: .seconds(3600)), reads: String? = nil
        ) throws {
            let watch = try #require(LogChangeWatch(patterns: patterns))
            let polls = polls
            let finds = finds
            let size = NIOLockedValueBox<Int>(reads.map(Self.size(of:)) ?? 0)
            let threadDirectory = threadDirectory
            task = Task {
                await WorkerThread.repeatEvery(.milliseconds(10), watch: watch, idleTimeouts: idleTimeouts) { _ in
                    threadDirectory.withLockedValue { $0 = $0 ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/thread-self")) }
                    polls.withLockedValue { $0 += 1 }
                    watch.follow(following, hasRotatedFiles: rotated)
                    guard let reads else { return false }
                    let now = Self.size(of: reads)
                    let grew = size.withLockedValue { last in
                        defer { last = now }
                        return now > last
                    }
                    if grew { finds.withLockedValue { $0 += 1 } }
                    return grew
                }
            }
        }

        private static func size(of path: String) -> Int {
            var status = stat()
            return stat(path, &status) == 0 ? Int(status.st_size) : 0
        }

        var count: Int { polls.withLockedValue { $0 } }
        var found: Int { finds.withLockedValue { $0 } }

        /// How many times the polling thread has blocked so far (its voluntary context switches):
        /// each wait it wakes from is one.
        func waits() throws -> Int {
            let directory = try #require(threadDirectory.withLockedValue { $0 })
            let status = try String(contentsOfFile: "/proc/\(directory)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("voluntary_ctxt_switches:") })
            return try #require(Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)))
        }

        /// Waits until the count passes `value`; false if it does not within 20 s.
        func waitUntilCount(exceeds value: Int) async throws -> Bool {
            try await LogChangeWatchTests.eventually { count > value }
        }

        /// The count once it has stopped moving for 300 ms (at most 20 s).
        func settledCount() async throws -> Int {
            var last = count
            for _ in 0..<66 {
                try await Task.sleep(for: .milliseconds(300))
                if count == last { return last }
                last = count
            }
            return last
        }

        func stop() async {
            task.cancel()
            await task.value
        }
    }

    /// Waits until `condition` holds; false if it does not within 20 s.
    static func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<2000 {
            if condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    private func append(_ path: String, _ text: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CocoaError(.fileWriteUnknown) }
        defer { close(fd) }
        _ = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    }

    @Test func anIdleLogIsNotPolledUntilItIsWrittenTo() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let polling = try WatchedPolling(patterns: [log], following: [log])
        #expect(try await polling.waitUntilCount(exceeds: 0))
        let idle = try await polling.settledCount()
        // At a 10 ms interval, a second of timed polling would be about a hundred polls.
        try await Task.sleep(for: .seconds(1))
        #expect(polling.count == idle, "polled \(polling.count - idle) times while nothing changed")

        try append(log, "GET /x 200 1ms\n")
        #expect(try await polling.waitUntilCount(exceeds: idle), "a write did not wake the poll")
        await polling.stop()
    }

    /// A write more than an interval after the last read is read an interval later, and then the
    /// thread waits for the next change at once: two wake-ups a write (the change, the interval
    /// before the read), not a third to find the log quiet.
    @Test func aLoneWriteWakesThePollingThreadTwice() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let polling = try WatchedPolling(patterns: [log], following: [log], reads: log)
        #expect(try await polling.waitUntilCount(exceeds: 0))
        var polled = try await polling.settledCount()
        let before = try polling.waits()
        let writes = 5
        for number in 1...writes {
            try append(log, "GET /x 200 \(number)ms\n")
            #expect(try await polling.waitUntilCount(exceeds: polled), "write \(number) was not read")
            // 30 intervals: the old schedule's third wake-up came one interval after the read.
            polled = try await polling.settledCount()
        }
        let waits = try polling.waits() - before
        #expect(polling.found == writes)
        // Three a write would be 15; the margin is for a lock the test's reads of the count contend.
        #expect(waits <= writes * 2 + 2, "the polling thread waited \(waits) times for \(writes) lone writes")
        await polling.stop()
    }

    /// A busy neighbour in the same directory (another log) wakes nothing: only the followed file's
    /// writes and names created, renamed or deleted in the directory do.
    @Test func writesToANeighbourInTheDirectoryDoNotWakeThePoll() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        let neighbour = directory.file("error.log")
        try append(log, "")
        try append(neighbour, "")
        let polling = try WatchedPolling(patterns: [log], following: [log])
        #expect(try await polling.waitUntilCount(exceeds: 0))
        let idle = try await polling.settledCount()
        for _ in 0..<20 {
            try append(neighbour, "an error\n")
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(try await polling.settledCount() == idle, "writes to another file woke the poll")
        try append(log, "GET /x 200 1ms\n")
        #expect(try await polling.waitUntilCount(exceeds: idle), "a write to the followed file did not wake the poll")
        await polling.stop()
    }

    /// A log followed through a symlink into another directory (not watched), polled and settled.
    struct SymlinkedLog {
        let directories: [Directory]
        let target: String
        let elsewhere: Directory
        let polling: WatchedPolling
        let idle: Int
    }

    private func symlinkedLog() async throws -> SymlinkedLog {
        let directory = try Directory()
        let elsewhere = try Directory()
        let target = elsewhere.file("real.log")
        try append(target, "")
        let link = directory.file("app.log")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let polling = try WatchedPolling(patterns: [link], following: [link])
        #expect(try await polling.waitUntilCount(exceeds: 0))
        let idle = try await polling.settledCount()
        return SymlinkedLog(directories: [directory, elsewhere], target: target, elsewhere: elsewhere, polling: polling, idle: idle)
    }

    /// The followed file renamed away where no directory is watched (the symlink's target
    /// directory) still wakes the poll.
    @Test func aSymlinkTargetRotatedInItsOwnDirectoryWakesThePoll() async throws {
        let log = try await symlinkedLog()
        #expect(rename(log.target, log.elsewhere.file("real.log.1")) == 0)
        #expect(try await log.polling.waitUntilCount(exceeds: log.idle), "the rename did not wake the poll")
        await log.polling.stop()
    }

    @Test func aLogReachedThroughASymlinkWakesThePollWhenItsTargetIsWritten() async throws {
        let log = try await symlinkedLog()
        try append(log.target, "GET /x 200 1ms\n")
        #expect(try await log.polling.waitUntilCount(exceeds: log.idle), "a write to the symlink's target did not wake the poll")
        await log.polling.stop()
    }

    @Test func aRemovedDirectoryFallsBackToPollingOnTheIntervalUntilItIsBack() async throws {
        let parent = try Directory()
        let logs = parent.file("logs")
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: false)
        let log = logs + "/app.log"
        let polling = try WatchedPolling(patterns: [log], following: [])
        #expect(try await polling.waitUntilCount(exceeds: 0))
        let idle = try await polling.settledCount()

        try FileManager.default.removeItem(atPath: logs)
        #expect(try await polling.waitUntilCount(exceeds: idle + 20), "no interval polling while the directory is missing")

        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: false)
        let back = try await polling.settledCount()
        try await Task.sleep(for: .seconds(1))
        #expect(polling.count == back, "still polling on the interval after the directory came back")
        try append(log, "GET /x 200 1ms\n")
        #expect(try await polling.waitUntilCount(exceeds: back))
        await polling.stop()
    }

    /// Reads that an idle timeout asked for and that found nothing make the next timeout longer:
    /// from 50 ms doubling, 3 s hold about six reads, where a fixed 50 ms would be sixty.
    @Test func anIdleLogIsReadLessOftenTheLongerItStaysQuiet() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let polling = try WatchedPolling(
            patterns: [log], following: [log], idleTimeouts: Backoff(base: .milliseconds(50), cap: .seconds(3600)))
        #expect(try await polling.waitUntilCount(exceeds: 2), "the idle timeout did not read the log")
        try await Task.sleep(for: .seconds(3))
        #expect(polling.count <= 15, "\(polling.count) reads in about 3 s of a quiet log")
        await polling.stop()
    }

    /// A write no event announced, found by a read after an idle timeout, shows the watch misses
    /// writes on this file system: the timeout then stays at its base.
    @Test func aWriteTheWatchMissedKeepsTheIdleTimeoutShort() async throws {
        let directory = try Directory()
        let unwatched = try Directory()
        let log = directory.file("app.log")
        let missed = unwatched.file("app.log")
        try append(log, "")
        try append(missed, "")
        let polling = try WatchedPolling(
            patterns: [log], following: [log], idleTimeouts: Backoff(base: .milliseconds(50), cap: .seconds(3600)), reads: missed)
        #expect(try await polling.waitUntilCount(exceeds: 2))
        try await Task.sleep(for: .seconds(2))  // the timeout has grown past 800 ms
        try append(missed, "GET /x 200 1ms\n")
        for _ in 0..<2000 where polling.found == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(polling.found == 1, "the write was not found by an idle read")
        let before = polling.count
        try await Task.sleep(for: .seconds(1))
        // At the 50 ms base about twenty; had the timeout kept growing, at most one.
        #expect(polling.count - before >= 5, "\(polling.count - before) reads in the second after a missed write")
        await polling.stop()
    }

    @Test func rotatedFilesKeepTheIntervalBecauseTheirLimitsCountPolls() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let polling = try WatchedPolling(patterns: [log], following: [log], rotated: true)
        #expect(try await polling.waitUntilCount(exceeds: 20))
        await polling.stop()
    }

    /// A log written all the time, read once an interval (here an hour, so only rotation polls
    /// can happen in the test), with what the tailer read counted.
    final class BusyLog: Sendable {
        let lines = NIOLockedValueBox(0)
        let scheduledPolls = NIOLockedValueBox(0)
        let rotationPolls = NIOLockedValueBox(0)
        private let task: Task<Void, Never>

        init(log: String) throws {
            let watch = try #require(LogChangeWatch(patterns: [log]))
            let tailer = LogTailer(configuration: .init(patterns: [log], fromBeginning: true))
            let lines = lines
            let scheduledPolls = scheduledPolls
            let rotationPolls = rotationPolls
            task = Task {
                await WorkerThread.repeatEvery(.seconds(3600), watch: watch) { kind in
                    (kind == .rotation ? rotationPolls : scheduledPolls).withLockedValue { $0 += 1 }
                    var read = 0
                    let result = tailer.poll(kind) { _ in read += 1 }
                    lines.withLockedValue { $0 += read }
                    watch.follow(tailer.followedFiles, hasRotatedFiles: tailer.hasRotatedFiles)
                    // As a busy log: the schedule keeps reading once an interval.
                    return result.bytesRead > 0 || kind == .scheduled
                }
                tailer.close()
            }
        }

        var count: Int { lines.withLockedValue { $0 } }
        var rotations: Int { rotationPolls.withLockedValue { $0 } }

        /// Waits until the first, scheduled, poll has followed the log.
        func started() async throws -> Bool {
            try await LogChangeWatchTests.eventually { scheduledPolls.withLockedValue { $0 } >= 1 }
        }

        func stop() async {
            task.cancel()
            await task.value
        }
    }

    /// A stop between a write and its read (an hour away here) reads the write first: a restart
    /// starts at the log's end, so its lines would otherwise never be read. A stop with nothing
    /// written reads nothing more.
    @Test func aStopReadsWhatWasWrittenSinceTheLastRead() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let idle = try BusyLog(log: log)
        #expect(try await idle.started())
        await idle.stop()
        #expect(idle.scheduledPolls.withLockedValue { $0 } == 1)

        let written = try BusyLog(log: log)
        #expect(try await written.started())
        try append(log, String(repeating: "GET /x 200 1ms\n", count: 100))
        // Time for the change to wake the thread, which then sleeps the hour before reading.
        try await Task.sleep(for: .milliseconds(200))
        #expect(written.count == 0)
        await written.stop()
        #expect(written.count == 100)
    }

    /// `make chaos` rotated a log every 0.6 s while vitals read it every 2 s, and more than half the
    /// lines were lost: files created and renamed away between two reads were never opened. A
    /// rotation now polls at once, so every file is opened while it has its name. Here nothing but
    /// rotation polls can read (the interval is an hour): each of six files gets 100 lines, is
    /// renamed over the previous one's rotated name, and the last rename drains the last file.
    @Test func filesRotatedBetweenTwoReadsAreReadByRotationPolls() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let busy = try BusyLog(log: log)
        #expect(try await busy.started())
        #expect(busy.count == 0 && busy.rotations == 0)
        for file in 0..<6 {
            if file > 0 {
                try append(log, "")  // the new file: its creation is a rotation poll, which opens it
                try await Task.sleep(for: .milliseconds(300))
            }
            try append(log, String(repeating: "GET /x 200 1ms\n", count: 100))
            #expect(rename(log, log + ".1") == 0)
        }
        #expect(try await Self.eventually { busy.count == 600 }, "\(busy.count) of 600 lines read after six rotations")
        #expect(busy.rotations >= 6)
        await busy.stop()
    }

    /// Names no pattern could match (a neighbour's file, a temporary file) make no rotation poll.
    @Test func namesNoPatternCouldMatchMakeNoRotationPoll() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let busy = try BusyLog(log: log)
        #expect(try await busy.started())
        for name in ["error.log", "tmp123", "other-app.log"] {
            try append(directory.file(name), "x\n")
            #expect(rename(directory.file(name), directory.file(name + ".old")) == 0)
        }
        try await Task.sleep(for: .seconds(1))
        #expect(busy.rotations == 0, "\(busy.rotations) rotation polls for names of other files")
        // A rotated name of the log does make one.
        try append(directory.file("app.log.1"), "")
        #expect(try await Self.eventually { busy.rotations >= 1 }, "creating app.log.1 made no rotation poll")
        await busy.stop()
    }

    /// A name that churns (here a lock file created and removed as fast as the test can for a
    /// second) makes at most one rotation poll per gap, not one per event.
    @Test func churningNamesMakeAtMostOneRotationPollPerGap() async throws {
        let directory = try Directory()
        let log = directory.file("app.log")
        try append(log, "")
        let busy = try BusyLog(log: log)
        #expect(try await busy.started())
        let lock = directory.file("app.log.lock")
        let start = ContinuousClock.now
        var churned = 0
        while ContinuousClock.now - start < .seconds(1) {
            try append(lock, "")
            #expect(unlink(lock) == 0)
            churned += 1
        }
        try await Task.sleep(for: .milliseconds(300))
        let limit = Int((ContinuousClock.now - start) / LogPollSchedule.rotationPollGap) + 2
        #expect(busy.rotations >= 1)
        #expect(busy.rotations <= limit, "\(busy.rotations) rotation polls for \(churned) lock files in about 1.3 s")
        await busy.stop()
    }

    @Test(arguments: [
        ("/var/log/app.log", "app.log"), ("/var/log/app-*.log", "app-"), ("/var/log/*.log", ""), ("app.log", "app.log"),
        ("/var/log/app[0-9].log", "app"), ("/var/log/a?b.log", "a"),
    ])
    func aRotationConcernsNamesStartingWithThePatternsLiteralPart(pattern: String, prefix: String) {
        #expect(LogChangeWatch.literalNamePrefix(of: pattern) == prefix)
    }

    @Test func onlyPatternsWithAPlainDirectoryAreWatched() {
        #expect(LogChangeWatch(patterns: ["/var/log/*/app.log"]) == nil)
        #expect(LogChangeWatch(patterns: ["/tmp/*.log", "relative.log"]) != nil)
        #expect(LogChangeWatch.directory(of: "app.log") == ".")
        #expect(LogChangeWatch.directory(of: "/app.log") == "/")
        #expect(LogChangeWatch.directory(of: "/var/log/app/*.log") == "/var/log/app")
    }
}
