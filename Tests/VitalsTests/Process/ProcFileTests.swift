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
