import FuzzDriver
import Vitals

/// Every timing-log format and the route templater on arbitrary bytes: no crash, no hang, and
/// parsed durations are finite and non-negative.
let parsers: [any TimingLineParser] = [
    StarletteLineParser(),
    NginxLineParser(),
    JSONLineParser(),
    try! RegexLineParser(pattern: #"(?<method>[A-Z]+) (?<path>\S+) (?<status>\d{3}) (?<duration>[\d.]+)"#, unit: .milliseconds),
]
let templater = RouteTemplater(templates: ["/markets/{id}/applications", "/files/{name}"])

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = UnsafeRawBufferPointer(start: data, count: size)
    for parser in parsers {
        if case .request(let record) = parser.parse(line) {
            precondition(record.durationSeconds.isFinite && record.durationSeconds >= 0)
            let route = templater.route(for: record.path)
            precondition(route.utf8.count <= RouteTemplater.maximumRouteLength || route.hasPrefix("/"))
        }
    }
    _ = templater.route(for: String(decoding: line, as: UTF8.self))
    return 0
}

// SwiftPM links an executable target's entry point as `FuzzTimingLog_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzTimingLog_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
