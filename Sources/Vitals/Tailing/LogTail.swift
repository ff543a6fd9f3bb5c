import Glibc

/// What a log source does with the lines it reads: the one part that differs between the
/// timing-log and slow-query sources.
protocol LogLineConsumer {
    /// Before a poll reads anything.
    mutating func startPoll()
    mutating func ingest(_ line: UnsafeRawBufferPointer)
    /// After a poll: move what accumulated into the registry, once per batch of lines.
    mutating func endPoll(_ result: LogTailer.PollResult)
}

extension LogLineConsumer {
    mutating func startPoll() {}
}

/// A log source's pass: its tailer and what consumes the lines. The live sources poll it on their
/// worker thread; `vitals replay` reads it to the end. Both log sources and replay run this one
/// pass, so a line is read, counted and ingested the same way everywhere.
///
/// Not thread-safe by design: one worker thread (or replay's caller) uses it at a time.
final class LogTail<Consumer: LogLineConsumer>: @unchecked Sendable {
    private let tailer: LogTailer
    private(set) var consumer: Consumer
    private let reading: LogReadingMetrics
    private let describe: @Sendable (TailError) -> String

    /// - Parameter describe: what `/ready` and the log say about a file that cannot be read.
    init(tailer: LogTailer, consumer: Consumer, reading: LogReadingMetrics, describe: @escaping @Sendable (TailError) -> String = { $0.description }) {
        self.tailer = tailer
        self.consumer = consumer
        self.reading = reading
        self.describe = describe
    }

    /// One poll: whatever the followed files gained since the last one.
    func poll(_ kind: LogTailer.PollKind = .scheduled) -> LogTailHealth {
        consumer.startPoll()
        let result = tailer.poll(kind) { line in consumer.ingest(line) }
        consumer.endPoll(result)
        reading.recordPoll(result, tailer: tailer)
        return LogTailHealth(tailer: tailer, poll: result, describe: describe)
    }

    /// Reads every file to its end, as replay does: a last line without a newline is complete.
    /// Throws the first file that cannot be read.
    func readToEnd() throws(TailError) {
        while true {
            consumer.startPoll()
            let result = tailer.poll { line in consumer.ingest(line) }
            consumer.endPoll(result)
            reading.recordPoll(result, tailer: tailer)
            if let error = result.errors.first { throw error }
            if result.bytesRead == 0 {
                // A pipe that is quiet for now has not ended: `cat access.log | vitals replay -`
                // reads until its writer closes it.
                guard tailer.readsStandardInput, !tailer.standardInputEnded else { break }
                var pause = timespec(tv_sec: 0, tv_nsec: 5_000_000)
                nanosleep(&pause, nil)
            }
        }
        consumer.startPoll()
        let last = tailer.flushUnfinishedLines { line in consumer.ingest(line) }
        consumer.endPoll(last)
    }

    /// Lets replay end its consumer's work once every file is read.
    func updateConsumer(_ body: (inout Consumer) -> Void) {
        body(&consumer)
    }

    var followedFiles: [String] { tailer.followedFiles }
    var hasRotatedFiles: Bool { tailer.hasRotatedFiles }
    var standardInputEnded: Bool { tailer.standardInputEnded }

    func close() { tailer.close() }
}
