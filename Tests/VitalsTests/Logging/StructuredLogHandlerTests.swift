import Foundation
import Testing

@testable import Vitals

@Suite struct StructuredLogHandlerWriteTests {
    /// A pipe whose reader stopped: the write gives up after the drain timeout instead of
    /// blocking, later ones give up at once, and writing resumes once the reader catches up.
    @Test func aFullPipeDropsInsteadOfBlockingAndRecovers() throws {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        let (reader, writer) = (descriptors[0], descriptors[1])
        defer {
            close(reader)
            close(writer)
        }
        let stall = StructuredLogHandler.Stall()
        let line = String(repeating: "x", count: 200) + "\n"
        var written = 0
        while StructuredLogHandler.write(line, to: writer, stall: stall) {
            written += 1
            try #require(written < 100_000, "the pipe never filled")
        }
        #expect(written > 0)
        #expect(stall.isStalled)
        #expect(!StructuredLogHandler.write(line, to: writer, stall: stall))

        // The reader drains the pipe: lines go through again.
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        _ = fcntl(reader, F_SETFL, O_NONBLOCK)
        while read(reader, &buffer, buffer.count) > 0 {}
        #expect(StructuredLogHandler.write(line, to: writer, stall: stall))
        #expect(!stall.isStalled)
        #expect(read(reader, &buffer, buffer.count) == line.utf8.count)
    }

    @Test func aFullDiskAndAClosedPipeReportFailure() throws {
        let full = open("/dev/full", O_WRONLY)
        try #require(full >= 0, "/dev/full is not available")
        defer { close(full) }
        #expect(!StructuredLogHandler.write("line\n", to: full))

        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        close(descriptors[0])
        defer { close(descriptors[1]) }
        _ = signal(SIGPIPE, SIG_IGN)  // as the daemon does (and NIO in this process); not restored
        #expect(!StructuredLogHandler.write("line\n", to: descriptors[1]))
    }
}
