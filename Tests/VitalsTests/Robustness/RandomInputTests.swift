import Foundation
import Testing

@testable import Vitals

/// The short, in-CI counterpart of the libFuzzer harnesses in Fuzz/: mutated and random inputs
/// into every parser. The property is only "no crash, no hang, sane output"; `bash Fuzz/run.sh`
/// runs a million inputs each with AddressSanitizer outside CI.
@Suite struct RandomInputTests {
    static let seeds: [String] = [
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms",
        "2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 250.1ms",
        "2026-11-22 12:00:00,003 WARNING asyncio Executing <Task pending name='Task-1' coro=<f() running at a.py:1>> took 0.523 seconds",
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /markets/42?x=1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012"#,
        #"{"method":"GET","path":"/a/1","status":200,"duration_ms":12.5,"extra":{"nested":[1,2,{"x":"y"}]}}"#,
        "timing-log:\n  path: [/x.log]\n  slow-threshold: 200ms\nweb: {listen-address: \":1\"}\n",
    ]

    /// A deterministic generator so a failure reproduces.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static func mutations(count: Int, seed: UInt64) -> [[UInt8]] {
        var random = SplitMix(state: seed)
        let interesting: [UInt8] = Array(" \t\r\n\"'{}[]<>:,.-/?=\\0123456789eE+-msµ".utf8) + [0, 0xFF, 0xC3, 0x80, 0xE2]
        return (0..<count).map { _ in
            var bytes = Array(seeds.randomElement(using: &random)!.utf8)
            for _ in 0..<Int.random(in: 1...8, using: &random) {
                guard !bytes.isEmpty else { break }
                let at = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0: bytes[at] = interesting.randomElement(using: &random)!
                case 1: bytes.insert(interesting.randomElement(using: &random)!, at: at)
                case 2: bytes.remove(at: at)
                case 3: bytes.insert(contentsOf: bytes[at...].prefix(16), at: at)
                default: bytes[at] = UInt8.random(in: 0...255, using: &random)
                }
            }
            return bytes
        }
    }

    @Test func timingLogParsersAndRouteTemplatingSurviveMutatedLines() throws {
        let parsers: [any TimingLineParser] = [
            StarletteLineParser(), NginxLineParser(), JSONLineParser(),
            try RegexLineParser(pattern: #"(?<method>[A-Z]+) (?<path>\S+) (?<duration>[\d.]+)ms"#, unit: .milliseconds),
        ]
        let templater = RouteTemplater(templates: ["/markets/{id}/applications"])
        var parsed = 0
        for bytes in Self.mutations(count: 4000, seed: 42) {
            for parser in parsers {
                let result = bytes.withUnsafeBytes { parser.parse($0) }
                if case .request(let record) = result {
                    parsed += 1
                    #expect(record.durationSeconds.isFinite && record.durationSeconds >= 0)
                    #expect(templater.route(for: record.path).utf8.count <= 256)
                }
            }
        }
        // The mutations keep many lines valid: the property was exercised on parsed records too.
        #expect(parsed > 500)
    }

    @Test func configurationLoaderSurvivesMutatedYAML() {
        let loader = ConfigurationLoader(keys: VitalsConfiguration.allKeys)
        var accepted = 0
        for bytes in Self.mutations(count: 2000, seed: 7) {
            let text = String(decoding: bytes, as: UTF8.self)
            if let values = try? loader.load(flags: [], environment: [:], file: ("fuzz.yml", text)) {
                accepted += 1
                _ = try? VitalsConfiguration(values: values)
                for factory in SourceCatalog.factories { try? factory.validate(values: values) }
            }
        }
        #expect(accepted > 0)
    }

    @Test func theTailerKeepsMemoryBoundedOnALineWithoutEnd() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "/huge.log"
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        let chunk = Data(repeating: 0x41, count: 1 << 20)
        for _ in 0..<32 { handle.write(chunk) }  // 32 MiB with no newline, then one short line
        handle.write(Data("\nGET /a completed in 1.0ms\n".utf8))
        try handle.close()
        let tailer = LogTailer(configuration: .init(patterns: [path], fromBeginning: true, maxLineLength: 65_536))
        var lines: [String] = []
        let result = tailer.poll { lines.append(String(decoding: $0, as: UTF8.self)) }
        #expect(result.oversizedLines == 1)
        #expect(lines == ["GET /a completed in 1.0ms"])
        tailer.close()
    }
}
