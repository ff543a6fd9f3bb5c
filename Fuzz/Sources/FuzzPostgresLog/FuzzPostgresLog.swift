import FuzzDriver
import Vitals

/// The Postgres slow-statement log readers on arbitrary bytes: the three `log_destination`
/// formats (stderr with a `log_line_prefix` and TAB continuation lines, csvlog, jsonlog), the
/// message forms, auto_explain plans (text and JSON), timestamps, and the ingester that pairs,
/// fingerprints, aggregates and formats them. No crash, no hang, and what comes out is bounded.
///
/// Input: a header line `FORMAT|PREFIX` (`stderr|%m [%p] %q%u@%d `), then log lines. An unknown
/// format is picked from the header's length and a header without `|` keeps the default
/// prefix, so every input reaches a parser.
let recordLimit = 2048  // small enough that the fuzzer's inputs (max_len 64 KiB) hit the cut
let secondaryRecords: Set<String> = ["DETAIL", "HINT", "CONTEXT", "STATEMENT", "QUERY", "LOCATION"]
let durationMarker = Array("duration: ".utf8)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let headerEnd = input.firstIndex(of: 0x0A) ?? size
    let bar = input[..<headerEnd].firstIndex(of: UInt8(ascii: "|"))
    let name = String(decoding: UnsafeRawBufferPointer(rebasing: input[..<(bar ?? headerEnd)]), as: UTF8.self)
    let format = PostgresLogFormat(rawValue: name) ?? PostgresLogFormat.allCases[headerEnd % PostgresLogFormat.allCases.count]
    let prefix = LogLinePrefix(bar.map { String(decoding: UnsafeRawBufferPointer(rebasing: input[($0 + 1)..<headerEnd]), as: UTF8.self) } ?? "%m [%p] %q%u@%d ")
    let body = UnsafeRawBufferPointer(rebasing: input[min(headerEnd + 1, size)...])

    var parser = PostgresLogParser(format: format, prefix: prefix, maxRecordLength: recordLimit)
    let registry = MetricRegistry()
    var ingester = SlowQueryIngester(
        settings: .init(
            format: format, prefix: prefix, maxRecordLength: recordLimit, maxStatementLength: 256,
            aggregator: .init(topK: 3, maxFingerprints: 8, rerankInterval: 0)),
        metrics: try! SlowQueryMetrics(registry: registry),
        logSink: { line in
            for format in SlowQueryLogLine.Format.allCases {
                // One slow query, one log line: a newline in any field must come out escaped.
                precondition(!line.formatted(format).utf8.contains(0x0A), "\(format) line holds a newline")
            }
        })

    var lines = 0
    var start = 0
    while start < body.count {
        let end = body[start...].firstIndex(of: 0x0A) ?? body.count
        let line = UnsafeRawBufferPointer(rebasing: body[start..<end])
        lines += 1
        parser.feed(line, emit: check)
        ingester.ingest(line, now: 1_800_000_000)
        start = end + 1
    }
    parser.flush(emit: check)
    let counts = parser.counts
    // Every line is counted once; csvlog leaves the lines of a record still open in quotes uncounted.
    precondition(counts.parsed >= 0 && counts.unparsed >= 0)
    precondition(format == .csvlog ? counts.parsed + counts.unparsed <= lines : counts.parsed + counts.unparsed == lines)

    _ = ingester.endOfPoll(linesRead: lines, now: 1_800_000_001)
    if let report = ingester.endOfPoll(linesRead: 0, now: 1_800_000_100) {
        for order in [SlowQueryAggregator.Order.total, .count] {
            precondition(report.render(order: order, limit: SlowQueryReport.maxLimit).utf8.filter { $0 == 0x0A }.count == 1)
        }
        precondition(report.tracked <= 8)
    }
    _ = ExpositionWriter(format: .prometheusText).write(registry.gather())
    return 0
}

func check(_ record: PostgresLogRecord) {
    // Only primary records that report a duration are kept, and never beyond the record limit.
    precondition(record.message.count <= recordLimit)
    precondition(record.message.starts(with: durationMarker))
    precondition(!secondaryRecords.contains(record.severity))
    guard let entry = SlowQueryEntry(record: record) else { return }
    precondition(entry.durationSeconds.isFinite && entry.durationSeconds >= 0)
    if entry.kind != .plan { precondition(entry.statement.count <= record.message.count) }
    if let plan = entry.plan {
        precondition(plan.nodes.count <= 200)  // PlanSummary.maxNodes
        // The one-line summary is capped near 480 bytes; a kilobyte catches any unbounded growth.
        precondition(plan.line.utf8.count <= 1024)
        precondition(plan.sequentialScans.count <= plan.nodes.count)
    }
    if let text = entry.timestamp, let time = SlowQueryTime.parsePostgres(text) {
        precondition(time.isFinite)
        precondition(SlowQueryTime.iso8601(time).utf8.count <= 32)
    }
}

// SwiftPM links an executable target's entry point as `FuzzPostgresLog_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzPostgresLog_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
