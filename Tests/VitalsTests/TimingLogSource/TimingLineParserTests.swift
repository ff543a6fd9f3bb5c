import Testing

@testable import Vitals

// MARK: - Helpers

private func parse(_ parser: some TimingLineParser, _ line: String) -> TimingLineResult {
    parse(parser, Array(line.utf8))
}

private func parse(_ parser: some TimingLineParser, _ bytes: [UInt8]) -> TimingLineResult {
    bytes.withUnsafeBytes { parser.parse($0) }
}

private func request(
    _ method: String,
    _ path: String,
    status: Int? = nil,
    seconds: Double
) -> TimingLineResult {
    .request(TimingRecord(method: method, path: path, status: status, durationSeconds: seconds))
}

/// 1 MiB of deterministic pseudo-random bytes (no newlines), sprinkled with fragments of the
/// formats' anchors so the parsers' search loops get exercised.
private let garbageLine: [UInt8] = {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    var bytes: [UInt8] = []
    bytes.reserveCapacity(1 << 20)
    let fragments: [[UInt8]] = [
        " completed in ", "SLOW REQUEST: ", "Executing <", " took ", "] \"", "{\"", "\\", "\"", "{", "[", "ms",
    ].map { Array($0.utf8) }
    while bytes.count < 1 << 20 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let roll = Int(truncatingIfNeeded: state >> 33)
        if roll % 16 == 0 {
            bytes.append(contentsOf: fragments[(roll >> 4) % fragments.count])
        } else {
            let byte = UInt8(truncatingIfNeeded: roll >> 8)
            bytes.append(byte == UInt8(ascii: "\n") ? 0 : byte)
        }
    }
    return bytes
}()

/// Malformed input every parser must reject (and survive).
private let commonMalformedLines: [[UInt8]] = [
    [],
    Array(" ".utf8),
    Array("\r".utf8),
    [0xFF, 0xFE, 0x00, 0xC3, 0x28, 0xE2, 0x82],
    garbageLine,
]

// MARK: - DurationUnit

@Suite struct DurationUnitTests {
    @Test(arguments: [
        ("s", DurationUnit.seconds), ("seconds", .seconds), ("Second", .seconds), ("sec", .seconds),
        ("ms", .milliseconds), ("MS", .milliseconds), ("milliseconds", .milliseconds), ("millisecond", .milliseconds),
        ("us", .microseconds), ("\u{00B5}s", .microseconds), ("\u{03BC}s", .microseconds), ("microseconds", .microseconds),
        ("ns", .nanoseconds), ("nanoseconds", .nanoseconds), ("nanosecond", .nanoseconds),
    ])
    func knownNames(name: String, unit: DurationUnit) {
        #expect(DurationUnit(name: name) == unit)
    }

    @Test(arguments: ["", "m", "minutes", "msx", " ms", "h"])
    func unknownNames(name: String) {
        #expect(DurationUnit(name: name) == nil)
    }

    @Test func multipliersAndConversion() {
        #expect(DurationUnit.seconds.secondsMultiplier == 1)
        #expect(DurationUnit.milliseconds.secondsMultiplier == 0.001)
        #expect(DurationUnit.microseconds.secondsMultiplier == 0.000_001)
        #expect(DurationUnit.nanoseconds.secondsMultiplier == 0.000_000_001)
        #expect(DurationUnit.milliseconds.seconds(1500) == 1.5)
        #expect(DurationUnit.microseconds.seconds(250) == 0.00025)
        #expect(DurationUnit.nanoseconds.seconds(3_000_000_000) == 3)
    }
}

// MARK: - Starlette

@Suite struct StarletteLineParserTests {
    let parser = StarletteLineParser()

    @Test func hasNoStatus() {
        #expect(parser.hasStatus == false)
    }

    @Test func completedLine() {
        let line = "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms"
        #expect(parse(parser, line) == request("GET", "/markets/42", seconds: 12.3 / 1000))
    }

    @Test func slowRequestLine() {
        let line = "2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 250.1ms"
        #expect(parse(parser, line) == request("GET", "/dashboard", seconds: 250.1 / 1000))
    }

    @Test(arguments: [
        ("POST /orders completed in 5ms", "POST", "/orders"),
        ("INFO:app.middleware.timing:DELETE /orders/7 completed in 5ms", "DELETE", "/orders/7"),
        ("[2026-11-22 12:00:00] [pid 12] uvicorn | PATCH /a/b completed in 5ms", "PATCH", "/a/b"),
        ("\u{1B}[32mINFO\u{1B}[0m     GET /colour completed in 5ms", "GET", "/colour"),
        ("2026-11-22 12:00:00,003 INFO timing \"OPTIONS /x?y=1 completed in 5ms\"", "OPTIONS", "/x?y=1"),
        ("x GET http://api.local/items/3 completed in 5ms", "GET", "http://api.local/items/3"),
        ("2026-11-22 WARNING timing SLOW REQUEST: PUT /big took 5ms", "PUT", "/big"),
        ("SLOW REQUEST: PUT /big took 5ms", "PUT", "/big"),
    ])
    func prefixVariations(line: String, method: String, path: String) {
        #expect(parse(parser, line) == request(method, path, seconds: 5 / 1000))
    }

    @Test(arguments: [
        ("GET / completed in 2s", 2.0),
        ("GET / completed in 0.25s", 0.25),
        ("GET / completed in 12.3 ms", 12.3 / 1000),
        ("GET / completed in 750us", 750 / 1e6),
        ("GET / completed in 750\u{00B5}s", 750 / 1e6),
        ("GET / completed in 750\u{03BC}s", 750 / 1e6),
        ("GET / completed in 1500ns", 1500 / 1e9),
        ("GET / completed in 12ms\r", 12 / 1000),
        ("GET / completed in 12ms (status 200)", 12 / 1000),
        ("GET / completed in 12ms.", 12 / 1000),
        ("GET / completed in 1e3ms", 1.0),
        ("GET / completed in 0.000000000000000000000001s", 1e-24),
        ("SLOW REQUEST: GET / took 1.5s", 1.5),
        ("SLOW REQUEST: GET / took 1500000us", 1.5),
    ] as [(String, Double)])
    func units(line: String, seconds: Double) {
        #expect(parse(parser, line) == request("GET", "/", seconds: seconds))
    }

    @Test func laterMarkerWinsWhenFirstDoesNotParse() {
        let line = "job completed in 3ms; GET /real completed in 4ms"
        #expect(parse(parser, line) == request("GET", "/real", seconds: 4 / 1000))
    }

    @Test func invalidUTF8InPathIsRepaired() {
        var bytes = Array("GET /caf".utf8)
        bytes.append(0xFF)
        bytes += Array(" completed in 1ms".utf8)
        #expect(parse(parser, bytes) == request("GET", "/caf\u{FFFD}", seconds: 0.001))
    }

    @Test func asyncioTaskBlocked() {
        let line = """
            2026-11-22 12:00:00,010 WARNING asyncio Executing <Task pending name='Task-1' \
            coro=<RequestResponseCycle.run_asgi() running at /usr/lib/python3.12/site-packages/uvicorn/\
            protocols/http/h11_impl.py:403> wait_for=<Future pending cb=[<TaskWakeupMethWrapper object at \
            0x7f3c2a1b8e50>()]> cb=[set.discard()] created at /usr/lib/python3.12/asyncio/tasks.py:420> \
            took 0.523 seconds
            """
        #expect(parse(parser, line) == .eventLoopBlocked(seconds: 0.523))
    }

    @Test func asyncioHandleBlocked() {
        let line = "Executing <Handle <TaskStepMethWrapper object at 0x7f00>()> took 0.105 seconds\r"
        #expect(parse(parser, line) == .eventLoopBlocked(seconds: 0.105))
    }

    @Test func asyncioReprContainingTookUsesFinalOne() {
        let line = "WARNING:asyncio:Executing <Task coro=<f() took 3 seconds ago> name='x'> took 1.250 seconds"
        #expect(parse(parser, line) == .eventLoopBlocked(seconds: 1.25))
    }

    @Test(arguments: [
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 compl",
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in ",
        "GET /markets/42 completed in ms",
        "GET /markets/42 completed in abc ms",
        "GET /markets/42 completed in 12.3",
        "GET /markets/42 completed in 12.3msec",
        "GET /markets/42 completed in 12.3ms2",
        "GET /markets/42 completed in 12.3 minutes",
        "GET /markets/42 completed in -1ms",
        "GET /markets/42 completed in .5ms",
        "GET /markets/42 completed in 1e999s",
        "get /markets/42 completed in 1ms",
        "xGET /markets/42 completed in 1ms",
        "GETGETGETGETGETGETGETGET /markets/42 completed in 1ms",
        "GET markets/42 completed in 1ms",
        "GET  completed in 1ms",
        " completed in 1ms",
        "Background job 7 completed in 3ms",
        "SLOW REQUEST: GET /dashboard took",
        "SLOW REQUEST: GET /dashboard took fast",
        "SLOW REQUEST: GET /dashboard",
        "SLOW REQUEST: /dashboard took 5ms",
        "SLOW REQUEST: get /dashboard took 5ms",
        "SLOW REQUEST: GET /dashboard  took 5ms",
        "Executing <Task pending> took abc seconds",
        "Executing <Task pending> took 0.5 secondsx",
        "Executing <Task pending> took -0.5 seconds",
        "Executing <Task pending> took 0.5",
        "Task took 0.5 seconds",
        "INFO uvicorn.access 127.0.0.1:5000 - \"GET /markets/42 HTTP/1.1\" 200",
    ])
    func malformedLines(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }

    @Test func garbageAndInvalidBytes() {
        for line in commonMalformedLines {
            #expect(parse(parser, line) == .unparsed)
        }
    }

    @Test func hugeLineOfRepeatedMarkers() {
        let line = String(repeating: "GET x completed in ", count: 60_000) + "GET /end completed in 1ms"
        #expect(parse(parser, line) == request("GET", "/end", seconds: 0.001))
    }
}

// MARK: - nginx

/// The starlette format's optional status (`--timing-log.starlette.status`).
@Suite struct StarletteStatusTests {
    let parser = StarletteLineParser(readsStatus: true)

    @Test(arguments: [
        ("INFO t GET /markets/42 completed in 12.3ms status=500", 500),
        ("INFO t GET /markets/42 completed in 12.3ms, status=201", 201),
        ("WARNING t SLOW REQUEST: GET /dashboard took 250.1ms -> 404", 404),
        ("INFO t GET /markets/42 completed in 12.3 ms status=200 extra", 200),
    ])
    func statusAfterTheDuration(line: String, status: Int) {
        guard case .request(let record) = parse(parser, line) else {
            Issue.record("not parsed: \(line)")
            return
        }
        #expect(record.status == status)
        #expect(parser.hasStatus)
    }

    @Test(arguments: [
        "INFO t GET /markets/42 completed in 12.3ms",
        "INFO t GET /markets/42 completed in 12.3ms status=50",
        "INFO t GET /markets/42 completed in 12.3ms status=5000",
        "INFO t GET /markets/42 completed in 12.3ms status=abc",
        "INFO t GET /markets/42 completed in 12.3ms -> 2xx",
    ])
    func noStatusIsUnknownNotAGuess(line: String) {
        guard case .request(let record) = parse(parser, line) else {
            Issue.record("not parsed: \(line)")
            return
        }
        #expect(record.status == nil)
        #expect(TimingLogIngester.statusClass(record.status) == "unknown")
    }

    @Test func offByDefaultTheStatusIsIgnored() {
        let plain = StarletteLineParser()
        #expect(!plain.hasStatus)
        guard case .request(let record) = parse(plain, "INFO t GET /a completed in 1ms status=500") else {
            Issue.record("not parsed")
            return
        }
        #expect(record.status == nil)
    }
}

@Suite struct NginxLineParserTests {
    let parser = NginxLineParser()

    @Test func hasStatus() {
        #expect(parser.hasStatus == true)
    }

    @Test func combinedWithRequestTime() {
        let line = #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /markets/42?x=1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012"#
        #expect(parse(parser, line) == request("GET", "/markets/42?x=1", status: 200, seconds: 0.012))
    }

    @Test(arguments: [
        (
            #"10.0.0.1 - alice [22/Nov/2026:12:00:00 +0100] "POST /orders HTTP/2.0" 201 0 "https://example.com/a b" "Mozilla/5.0 (X11; Linux x86_64)" 1.500"#,
            request("POST", "/orders", status: 201, seconds: 1.5)
        ),
        (
            #"::1 - - [22/Nov/2026:12:00:00 +0000] "DELETE /a/1 HTTP/1.1" 404 153 "-" "ua \x22quoted\x22" 0.000"#,
            request("DELETE", "/a/1", status: 404, seconds: 0)
        ),
        (
            "127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"curl/8.0\" 0.012\r",
            request("GET", "/", status: 200, seconds: 0.012)
        ),
        (
            "127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] \"GET / HTTP/1.1\" 200 612 \"-\" \"curl/8.0\"\t0.012  ",
            request("GET", "/", status: 200, seconds: 0.012)
        ),
        (
            // $upstream_response_time after $request_time: the last field is taken.
            #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /u HTTP/1.1" 502 0 "-" "curl/8.0" 0.020 0.015"#,
            request("GET", "/u", status: 502, seconds: 0.015)
        ),
        (
            #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /old" 200 5 "-" "-" 0.001"#,
            request("GET", "/old", status: 200, seconds: 0.001)
        ),
        (
            #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "PROPFIND http://h/dav HTTP/1.1" 207 5 "-" "-" 12.345"#,
            request("PROPFIND", "http://h/dav", status: 207, seconds: 12.345)
        ),
        (
            #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /short HTTP/1.1" 499 0 0.100"#,
            request("GET", "/short", status: 499, seconds: 0.1)
        ),
    ])
    func goodLines(line: String, expected: TimingLineResult) {
        #expect(parse(parser, line) == expected)
    }

    @Test func invalidUTF8InPathIsRepaired() {
        var bytes = Array(#"1.2.3.4 - - [22/Nov/2026:12:00:00 +0000] "GET /x"#.utf8)
        bytes.append(0xC3)
        bytes += Array(#" HTTP/1.1" 200 1 "-" "-" 0.002"#.utf8)
        #expect(parse(parser, bytes) == request("GET", "/x\u{FFFD}", status: 200, seconds: 0.002))
    }

    @Test(arguments: [
        // $request_time missing: last field is the user agent or $body_bytes_sent.
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "curl/8.0""#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "Mozilla 5.0""#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200"#,
        // Bad requests nginx logs verbatim.
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "-" 400 0 "-" "-" 0.000"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "\x16\x03\x01\x02\x00" 400 157 "-" "-" 0.001"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "" 400 0 "-" "-" 0.000"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET  HTTP/1.1" 400 0 "-" "-" 0.000"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "get / HTTP/1.1" 200 0 "-" "-" 0.000"#,
        // Bad status / duration.
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 20 612 "-" "-" 0.012"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 2000 612 "-" "-" 0.012"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" OK 612 "-" "-" 0.012"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "-" -"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "-" 0.0x2"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "-" -0.012"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET / HTTP/1.1" 200 612 "-" "-" 0.012s"#,
        // Truncated.
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /markets/42 HTT"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /markets/42 HTTP/1.1" 2"#,
        #"127.0.0.1 - - [22/Nov/2026:12:00:00 +0000]"#,
        "127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] \"",
        // Another format altogether.
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms",
        #"{"method":"GET","path":"/","status":200,"duration_ms":1.5}"#,
    ])
    func malformedLines(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }

    @Test func garbageAndInvalidBytes() {
        for line in commonMalformedLines {
            #expect(parse(parser, line) == .unparsed)
        }
    }
}

// MARK: - JSON

@Suite struct JSONLineParserTests {
    let parser = JSONLineParser(configuration: .init())

    @Test func defaults() {
        let configuration = JSONLineParser.Configuration()
        #expect(configuration.methodField == "method")
        #expect(configuration.pathField == "path")
        #expect(configuration.statusField == "status")
        #expect(configuration.durationField == "duration_ms")
        #expect(configuration.durationUnit == .milliseconds)
        #expect(parser.hasStatus == true)
        #expect(JSONLineParser(configuration: .init(statusField: nil)).hasStatus == false)
    }

    @Test(arguments: [
        (
            #"{"method":"GET","path":"/markets/42","status":200,"duration_ms":12.3}"#,
            request("GET", "/markets/42", status: 200, seconds: 12.3 / 1000)
        ),
        (
            #"  { "duration_ms" : "7" , "status" : "404", "path" : "/x?y=1", "method" : "POST" }  "#,
            request("POST", "/x?y=1", status: 404, seconds: 0.007)
        ),
        (
            "{\"method\":\"GET\",\"path\":\"/\",\"status\":200,\"duration_ms\":1}\r",
            request("GET", "/", status: 200, seconds: 0.001)
        ),
        (
            #"{"method":"GET","path":"/","status":200.0,"duration_ms":1.5e3}"#,
            request("GET", "/", status: 200, seconds: 1.5)
        ),
        (
            // Nested values elsewhere, with brackets and quotes inside their strings.
            #"{"ts":"2026-11-22T12:00:00Z","ctx":{"a":[1,{"b":"}]\"{["}],"c":null,"d":[[],{}]},"ok":true,"#
                + #""no":false,"n":-1.5e-3,"method":"PUT","path":"/a","status":204,"duration_ms":0}"#,
            request("PUT", "/a", status: 204, seconds: 0)
        ),
        (
            // Escaped quotes inside values (skipped and decoded).
            #"{"msg":"he said \"}\" and left \\","method":"GET","path":"/search/\"q\"","status":200,"duration_ms":2}"#,
            request("GET", "/search/\"q\"", status: 200, seconds: 0.002)
        ),
        (
            #"{"method":"GET","path":"/caf\u00e9/\ud83d\ude00\/x\t","status":200,"duration_ms":2}"#,
            request("GET", "/café/😀/x\t", status: 200, seconds: 0.002)
        ),
        (
            // Lone surrogate is replaced, not trapped on.
            #"{"method":"GET","path":"/\udc00\ud800","status":200,"duration_ms":2}"#,
            request("GET", "/\u{FFFD}\u{FFFD}", status: 200, seconds: 0.002)
        ),
        (
            // Escaped key.
            #"{"method":"GET","path":"/k","status":200,"duration\u005fms":3}"#,
            request("GET", "/k", status: 200, seconds: 0.003)
        ),
        (
            // Status absent or null: record without status.
            #"{"method":"GET","path":"/s","duration_ms":3}"#,
            request("GET", "/s", seconds: 0.003)
        ),
        (
            #"{"method":"GET","path":"/s","status":null,"duration_ms":3}"#,
            request("GET", "/s", seconds: 0.003)
        ),
        (
            // Repeated keys: last wins.
            #"{"method":"GET","path":"/first","path":"/second","status":200,"duration_ms":3,"duration_ms":4}"#,
            request("GET", "/second", status: 200, seconds: 0.004)
        ),
        (
            #"{"method":"GET","path":"/big","status":200,"duration_ms":123456789012345678901234567890}"#,
            request("GET", "/big", status: 200, seconds: 123456789012345678901234567890.0 / 1000)
        ),
    ])
    func goodLines(line: String, expected: TimingLineResult) {
        #expect(parse(parser, line) == expected)
    }

    @Test func customConfiguration() {
        let parser = JSONLineParser(
            configuration: .init(
                methodField: "verb",
                pathField: "url",
                statusField: nil,
                durationField: "elapsed",
                durationUnit: .seconds
            )
        )
        #expect(parser.hasStatus == false)
        let line = #"{"verb":"GET","url":"/c","status":500,"elapsed":0.25,"method":"X","path":"/no"}"#
        #expect(parse(parser, line) == request("GET", "/c", seconds: 0.25))
        #expect(parse(parser, #"{"method":"GET","path":"/c","duration_ms":1}"#) == .unparsed)
    }

    @Test(arguments: [
        (DurationUnit.microseconds, 1500.0 / 1e6),
        (.nanoseconds, 1500.0 / 1e9),
        (.seconds, 1500.0),
    ] as [(DurationUnit, Double)])
    func units(unit: DurationUnit, seconds: Double) {
        let parser = JSONLineParser(configuration: .init(durationField: "d", durationUnit: unit))
        #expect(parse(parser, #"{"method":"GET","path":"/","d":1500}"#) == request("GET", "/", seconds: seconds))
    }

    @Test func deepNestingElsewhereIsSkipped() {
        let depth = 200_000
        let line =
            #"{"deep":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            + #","method":"GET","path":"/d","status":200,"duration_ms":1}"#
        #expect(parse(parser, line) == request("GET", "/d", status: 200, seconds: 0.001))
        let unbalanced = #"{"deep":"# + String(repeating: "[{", count: depth) + #","method":"GET"}"#
        #expect(parse(parser, unbalanced) == .unparsed)
    }

    @Test func invalidUTF8() {
        var bytes = Array(#"{"junk":""#.utf8) + [0xFF, 0xC0, 0x80]
        bytes += Array(#"","method":"GET","path":"/p"#.utf8) + [0xE2, 0x82]
        bytes += Array(#"","status":200,"duration_ms":1}"#.utf8)
        #expect(parse(parser, bytes) == request("GET", "/p\u{FFFD}", status: 200, seconds: 0.001))
    }

    @Test(arguments: [
        // Truncated.
        #"{"method":"GET","path":"/markets/42","status":200,"duration_ms":12.3"#,
        #"{"method":"GET","path":"/markets/42","status":200,"duration_ms":"#,
        #"{"method":"GET","path":"/markets/4"#,
        #"{"method":"GET","path":"/markets/42\"}"#,
        "{",
        // Missing or empty fields.
        "{}",
        #"{"method":"GET","path":"/","status":200}"#,
        #"{"path":"/","status":200,"duration_ms":1}"#,
        #"{"method":"GET","status":200,"duration_ms":1}"#,
        #"{"method":"","path":"/","duration_ms":1}"#,
        #"{"method":"GET","path":"","duration_ms":1}"#,
        // Wrong types or values.
        #"{"method":"GET","path":"/","duration_ms":"fast"}"#,
        #"{"method":"GET","path":"/","duration_ms":"12.3ms"}"#,
        #"{"method":"GET","path":"/","duration_ms":" 12"}"#,
        #"{"method":"GET","path":"/","duration_ms":null}"#,
        #"{"method":"GET","path":"/","duration_ms":-1}"#,
        #"{"method":"GET","path":"/","duration_ms":1e999}"#,
        #"{"method":"GET","path":"/","duration_ms":NaN}"#,
        #"{"method":"GET","path":"/","duration_ms":[1]}"#,
        #"{"method":"GET","path":"/","status":"OK","duration_ms":1}"#,
        #"{"method":"GET","path":"/","status":200.5,"duration_ms":1}"#,
        #"{"method":"GET","path":"/","status":1000,"duration_ms":1}"#,
        #"{"method":"GET","path":"/","status":-200,"duration_ms":1}"#,
        #"{"method":1,"path":"/","duration_ms":1}"#,
        #"{"method":"GET","path":{"p":"/"},"duration_ms":1}"#,
        // Broken syntax.
        #"{"method":"GET","path":"/","duration_ms":1} trailing"#,
        #"{"method":"GET","path":"/","duration_ms":1}}"#,
        #"{"method":"GET","path":"/","duration_ms":1,}"#,
        #"{"method":"GET" "path":"/","duration_ms":1}"#,
        #"{"method":"GET","path":"/","duration_ms"1}"#,
        #"{method:"GET","path":"/","duration_ms":1}"#,
        #"{"x":tru,"method":"GET","path":"/","duration_ms":1}"#,
        #"{"x":"\q","method":"GET","path":"/","duration_ms":1}"#,
        #"{"x":"\u12G4","method":"GET","path":"/","duration_ms":1}"#,
        #"[{"method":"GET","path":"/","duration_ms":1}]"#,
        #""method""#,
        "2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms",
    ])
    func malformedLines(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }

    @Test func garbageAndInvalidBytes() {
        for line in commonMalformedLines {
            #expect(parse(parser, line) == .unparsed)
        }
        // A huge, unterminated string value and a huge number.
        let hugeString = #"{"method":"GET","path":"/"# + String(repeating: "\\\"", count: 300_000)
        #expect(parse(parser, hugeString) == .unparsed)
        let hugeNumber = #"{"method":"GET","path":"/","duration_ms":"# + String(repeating: "9", count: 400_000) + "}"
        #expect(parse(parser, hugeNumber) == .unparsed)
    }
}

// MARK: - Regex

@Suite struct RegexLineParserTests {
    @Test func withStatus() throws {
        let parser = try RegexLineParser(
            pattern: #"^(?<method>[A-Z]+) (?<path>\S+) (?<status>\d{3}) (?<duration>[\d.]+)ms$"#,
            unit: .milliseconds
        )
        #expect(parser.hasStatus == true)
        #expect(parse(parser, "GET /a/1 200 12.5ms") == request("GET", "/a/1", status: 200, seconds: 12.5 / 1000))
        #expect(parse(parser, "GET /a/1 200 12.5s") == .unparsed)
        #expect(parse(parser, "GET /a/1 2000 12.5ms") == .unparsed)
    }

    @Test func withoutStatus() throws {
        let parser = try RegexLineParser(
            pattern: #"took=(?<duration>\S+) (?<method>[A-Z]+) (?<path>/\S*)"#,
            unit: .seconds
        )
        #expect(parser.hasStatus == false)
        #expect(parse(parser, "ts=1 took=0.75 POST /upload extra") == request("POST", "/upload", seconds: 0.75))
        #expect(parse(parser, "ts=1 took=slow POST /upload") == .unparsed)
        #expect(parse(parser, "ts=1 took=-1 POST /upload") == .unparsed)
        #expect(parse(parser, "ts=1 took=1e999 POST /upload") == .unparsed)
        #expect(parse(parser, "ts=1 POST /upload") == .unparsed)
    }

    @Test func optionalStatusGroup() throws {
        let parser = try RegexLineParser(
            pattern: #"(?<method>[A-Z]+) (?<path>\S+)(?: status=(?<status>\S+))? in (?<duration>\d+)us"#,
            unit: .microseconds
        )
        #expect(parser.hasStatus == true)
        #expect(parse(parser, "GET /x in 250us") == request("GET", "/x", seconds: 250 / 1e6))
        #expect(parse(parser, "GET /x status=503 in 250us") == request("GET", "/x", status: 503, seconds: 250 / 1e6))
        #expect(parse(parser, "GET /x status=abc in 250us") == .unparsed)
    }

    @Test(.onItsOwnThread) func malformedInput() throws {
        let parser = try RegexLineParser(pattern: #"(?<method>\S+) (?<path>\S+) (?<duration>\S+)"#, unit: .milliseconds)
        var bytes = Array("GET /".utf8)
        bytes.append(0xFF)
        bytes += Array(" 4".utf8)
        #expect(parse(parser, bytes) == request("GET", "/\u{FFFD}", seconds: 0.004))
        for line in commonMalformedLines {
            #expect(parse(parser, line) == .unparsed)
        }
    }

    @Test func invalidPatternThrows() {
        #expect {
            try RegexLineParser(pattern: #"(?<method>[A-Z+ (?<path>\S+) (?<duration>\d+)"#, unit: .milliseconds)
        } throws: { error in
            guard let error = error as? TimingLogConfigurationError else {
                return false
            }
            return error.message.hasPrefix("invalid timing-log regex")
        }
    }

    @Test func missingGroupsThrow() {
        let error = #expect(throws: TimingLogConfigurationError.self) {
            try RegexLineParser(pattern: #"(?<method>[A-Z]+) (?<url>\S+) (?<time>\d+)"#, unit: .milliseconds)
        }
        #expect(error?.message.contains("(?<path>…), (?<duration>…)") == true)
        #expect(error?.message.contains("(?<method>…)") == false)
    }
}
