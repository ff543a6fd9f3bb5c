import FuzzDriver
import Vitals

/// Everything vitals reads from a Redis server, on arbitrary bytes: a hostile or broken server
/// (there is no TLS) must not crash the daemon. The same bytes are read three ways:
/// - as `INFO all` text: RedisInfo, then the metric mapping and the exposition;
/// - as a stream of RESP2 replies (decoded below as hiredis would): SLOWLOG GET, LATENCY
///   LATEST, CONFIG GET, error replies, and the slowlog tracker fed with successive replies;
/// - the first line as a `--redis.addr` value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)

    let info = RedisInfo(parsing: text)
    for field in info.fields.keys {
        if let value = info.number(field) { precondition(value.isFinite) }
    }
    for latency in info.latencyPercentiles {
        for (quantile, _) in latency.percentiles { precondition((0...1).contains(quantile), "quantile \(quantile)") }
    }

    var observation = RedisObservation(info: info)
    var tracker = RedisSlowlogTracker()
    var probes = RedisCommandProbes()
    var config = RedisConfigValues()
    var reader = RESPReader(bytes: input)
    while let reply = reader.reply(depth: 0) {
        _ = (reply.string, reply.integer, reply.array)
        if case .error(let message) = reply {
            let kind = RedisErrorReplyKind(reply: message)
            for command in RedisOptionalCommand.allCases where probes.record(command, reply: reply) {
                // Only a permanent refusal turns a command off, and then it stays off.
                precondition(kind.isPermanentRefusal && !probes.mayRun(command))
            }
        }
        if let entries = RedisSlowlogEntry.parse(reply) {
            for entry in entries { precondition(entry.command.count <= 64) }
            let newest = entries.first?.id
            precondition(tracker.unseenCount(newestID: newest, runID: info.runID) >= 0)
            let update = tracker.update(entries: entries, runID: info.runID)
            precondition(update.missed >= 0)
            precondition(zip(update.newEntries, update.newEntries.dropFirst()).allSatisfy { $0.id <= $1.id }, "new entries out of order")
            observation.slowlog = .init(
                length: Double(entries.count), entriesRead: true, lastID: newest, lastDurationMicroseconds: entries.first?.durationMicroseconds)
        }
        if let spikes = RedisLatencySpike.parse(reply) {
            for spike in spikes { precondition(spike.event.count <= 64) }
            observation.latencySpikes = spikes
        }
        config.absorb(reply)
    }
    observation.config = config

    for target in [nil, "127.0.0.1:6379"] as [String?] {
        var mapper = RedisMetricMapper(descriptors: RedisMetricDescriptors(withTarget: target != nil), target: target, maxLabelValues: 4)
        let families = mapper.families(for: observation)
        for format in [ExpositionFormat.prometheusText, .openMetrics] { _ = ExpositionWriter(format: format).write(families) }
    }

    let firstLine = text.prefix { !$0.isNewline }
    if let address = try? RedisAddress.parse(String(firstLine)) {
        precondition(!address.label.contains("@"), "credentials in the target label")
    }
    return 0
}

/// A RESP2 decoder with hiredis' results (status and bulk strings → `.string`, `$-1`/`*-1` →
/// `.null`), lenient so that every input yields replies: a bad length reads what is there.
struct RESPReader {
    let bytes: UnsafeRawBufferPointer
    var index = 0

    mutating func reply(depth: Int) -> RedisReply? {
        guard index < bytes.count, depth < 8 else { return nil }
        let type = bytes[index]
        index += 1
        let header = line()
        switch type {
        case UInt8(ascii: "-"):
            return .error(header)
        case UInt8(ascii: ":"):
            return Int64(header).map { .integer($0) } ?? .null
        case UInt8(ascii: "$"):
            guard let length = Int(header), length >= 0 else { return .null }
            let end = min(bytes.count, index + min(length, bytes.count))
            let body = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[index..<end]), as: UTF8.self)
            index = end
            _ = line()  // the CRLF after the payload
            return .string(body)
        case UInt8(ascii: "*"):
            guard let count = Int(header), count >= 0 else { return .null }
            var items: [RedisReply] = []
            while items.count < count, let item = reply(depth: depth + 1) { items.append(item) }
            return .array(items)
        default:
            return .string(header)  // `+OK` and anything else: a status line
        }
    }

    /// The text up to the next line end, which is consumed.
    private mutating func line() -> String {
        let start = index
        while index < bytes.count && bytes[index] != 0x0A { index += 1 }
        var end = index
        if end > start && bytes[end - 1] == 0x0D { end -= 1 }
        if index < bytes.count { index += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
}

// SwiftPM links an executable target's entry point as `FuzzRedis_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzRedis_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
