import Foundation
import Testing

@testable import Vitals

@Suite struct ProcFileTests {
    /// The test process maps many libraries, so its maps file is several pages; the stack is mapped
    /// above them all, so its line is near the end, past the first page a single read returns.
    @Test func aProcFileIsReadPastItsFirstPage() throws {
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        try #require(maps.utf8.count > 8192, "the test process's maps should span pages: \(maps.utf8.count) bytes")
        #expect(maps.contains("[stack]"))
        #expect(maps.hasSuffix("\n"))
        let starts = maps.split(separator: "\n").compactMap { UInt64($0.prefix { $0 != "-" }, radix: 16) }
        #expect(starts == starts.sorted(), "whole lines, in order")
    }

    @Test func aRegularFileAndAMissingOne() throws {
        let directory = try TemporaryDirectory()
        let text = String(repeating: "btime 1796438231\n", count: 2000)
        try text.write(toFile: directory.path + "/stat", atomically: true, encoding: .utf8)
        #expect(ProcFile.read(directory.path + "/stat") == text)
        #expect(ProcFile.read(directory.path + "/absent") == nil)
    }
}

@Suite struct ProcessStatTests {
    /// `/proc/PID/stat`: the command name is in parentheses and may hold spaces and `)`, so the
    /// fields count from the last `)`; utime 14, stime 15, starttime 22, vsize 23, rss 24.
    @Test func fieldsCountFromTheLastParenthesis() {
        let tail = "S 1 2 3 0 -1 4194560 10 0 0 0 1250 375 0 0 20 0 7 0 98765 123456789 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
        let expected = ProcessCollector.Stat(utime: 1250, stime: 375, startTicks: 98765, vsize: 123_456_789, rssPages: 4321)
        #expect(ProcessCollector.parseStat("4242 (vitals) " + tail) == expected)
        #expect(ProcessCollector.parseStat("4242 (a ) b (c) " + tail) == expected)
        // Two spaces read as one separator, as before.
        #expect(ProcessCollector.parseStat("4242 (vitals)  " + tail.replacingOccurrences(of: " 1250 ", with: "  1250 ")) == expected)
        #expect(ProcessCollector.parseStat("4242 (vitals) S 1 2 3") == nil, "too few fields")
        #expect(ProcessCollector.parseStat("4242 vitals S 1") == nil, "no command name")
        #expect(ProcessCollector.parseStat("4242 (vitals) " + tail.replacingOccurrences(of: " 1250 ", with: " x ")) == nil, "not a number")
        // The test process's own line, read as a scrape reads it.
        let own = ProcessCollector.parseStat(ProcFile.read("/proc/self/stat") ?? "")
        #expect(own.map { $0.rssPages > 0 && $0.vsize > 0 } == true)
    }
}

@Suite struct ProcDirectoryTests {
    @Test func aDirectorysEntriesAreCountedWithoutDotAndDotDot() throws {
        let directory = try TemporaryDirectory()
        #expect(ProcFile.entryCount(of: directory.path) == 0)
        for name in ["a", ".hidden", "..b", "c.d"] {
            try "x".write(toFile: directory.path + "/" + name, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: directory.path + "/sub", withIntermediateDirectories: false)
        #expect(ProcFile.entryCount(of: directory.path) == 5)
        #expect(ProcFile.entryCount(of: directory.path + "/absent") == nil)
    }

    /// The collector's `process_open_fds` counts the test process's own descriptors: at least
    /// standard input, output and error, and the directory's own while it is read.
    @Test func theCollectorCountsTheProcesssOpenDescriptors() throws {
        let open = try #require(ProcessCollector().collect().first { $0.descriptor.name == "process_open_fds" })
        guard case .scalar(let count) = try #require(open.series.first).value else {
            Issue.record("not a scalar")
            return
        }
        #expect(count >= 4)
    }
}
