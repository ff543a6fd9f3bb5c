import Testing

@testable import Vitals

// Fixture lines are in each tool's documented format; the real-server tests
// (RealServerLogFormatTests) check the same parsers on lines the servers wrote.

private func parse(_ parser: some TimingLineParser, _ line: String) -> TimingLineResult {
    Array(line.utf8).withUnsafeBytes { parser.parse($0) }
}

private func parse(_ parser: some TimingLineParser, bytes: [UInt8]) -> TimingLineResult {
    bytes.withUnsafeBytes { parser.parse($0) }
}

private func request(_ method: String, _ path: String, _ status: Int?, _ seconds: Double) -> TimingLineResult {
    .request(TimingRecord(method: method, path: path, status: status, durationSeconds: seconds))
}

/// Hostile input for every format: pseudo-random bytes strewn with the formats' anchors, so the
/// search loops run through many near-misses.
private let hostileLine: [UInt8] = {
    var state: UInt64 = 0x2545_F491_4F6C_DD1D
    var bytes: [UInt8] = []
    let fragments = [
        "] \"", "\"GET / HTTP/1.1\" ", " 200 ", "0/0/0/0/", " : ", ", ", "-1 ", "\\\"", "\"", "{\"request\":{",
        "\"method\":", "at=info ", "service=", "ms ", "{", "}", " 12 ", "0.005",
    ].map { Array($0.utf8) }
    while bytes.count < 1 << 18 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let roll = Int(truncatingIfNeeded: state >> 33)
        if roll % 8 == 0 {
            bytes.append(contentsOf: fragments[(roll >> 3) % fragments.count])
        } else {
            let byte = UInt8(truncatingIfNeeded: roll >> 8)
            bytes.append(byte == UInt8(ascii: "\n") ? 0 : byte)
        }
    }
    return bytes
}()

private let allBuiltInParsers: [any TimingLineParser] = [
    GunicornLineParser(), ApacheLineParser(), EnvoyLineParser(), ALBLineParser(), HAProxyLineParser(),
    HerokuRouterLineParser(), JSONLineParser(configuration: .caddy), JSONLineParser(configuration: .traefik),
    NginxLineParser(upstreamTime: .logged), NginxLineParser(upstreamTime: .observed),
]

@Suite struct BuiltInFormatHostileInputTests {
    @Test func neverCrashAndNeverParseGarbage() {
        let inputs: [[UInt8]] = [
            [], Array(" ".utf8), Array("\r".utf8), [0xFF, 0xFE, 0x00, 0xC3, 0x28], hostileLine,
            Array(repeating: UInt8(ascii: "\""), count: 10_000),
            Array(String(repeating: "0/", count: 5_000).utf8),
            Array(("] \"GET / HTTP/1.1\" 200 " + String(repeating: "0.1, ", count: 5_000)).utf8),
            Array(String(repeating: "{\"request\":", count: 5_000).utf8),
        ]
        for parser in allBuiltInParsers {
            for input in inputs {
                #expect(parse(parser, bytes: input) == .unparsed, "\(type(of: parser)) on \(input.count) bytes")
            }
        }
    }

    /// Every prefix of a good line is a truncated line (a writer caught mid-line): never a crash,
    /// and never a record with the wrong duration.
    @Test func truncatedLinesNeverCrash() {
        let lines: [(any TimingLineParser, String)] = [
            (GunicornLineParser(), #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /a HTTP/1.1" 200 2 "-" "curl/7.88.1" 0.001234"#),
            (ApacheLineParser(), #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /a HTTP/1.1" 200 2 "-" "curl/7.88.1" 1234"#),
            (HAProxyLineParser(), #"127.0.0.1:1 [04/Dec/2026:05:48:31.001] fe be/s1 0/0/1/2/3 200 10 - - ---- 1/1/0/0/0 0/0 "GET /a HTTP/1.1""#),
            (HerokuRouterLineParser(), #"heroku[router]: at=info method=GET path="/a" connect=1ms service=12ms status=200"#),
            (JSONLineParser(configuration: .caddy), #"{"request":{"method":"GET","uri":"/a"},"duration":0.5,"status":200}"#),
        ]
        for (parser, line) in lines {
            let bytes = Array(line.utf8)
            for count in 0..<bytes.count {
                if case .request(let record) = parse(parser, bytes: Array(bytes[..<count])) {
                    // Only a cut inside the last number can still parse, as a shorter duration.
                    #expect(record.method == "GET")
                }
            }
        }
    }
}

@Suite struct GunicornLineParserTests {
    let parser = GunicornLineParser()

    @Test func secondsAndMicroseconds() {
        let prefix = #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /markets/42?x=1 HTTP/1.1" 200 13 "-" "curl/7.88.1""#
        #expect(parse(parser, prefix + " 0.012345") == request("GET", "/markets/42?x=1", 200, 0.012345))
        #expect(parse(parser, prefix + " 12345") == request("GET", "/markets/42?x=1", 200, 0.012345))
        #expect(parse(parser, prefix + " 12345\r") == request("GET", "/markets/42?x=1", 200, 0.012345))
    }

    @Test(arguments: [
        // The default format without a time: the last field is the user agent.
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 13 "-" "curl/7.88.1""#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 13 "-" "curl" 1e3"#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 13 "-" "curl" -0.5"#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 2000 13 "-" "curl" 0.5"#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "- - -" 400 0 "-" "-" 0.000100"#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200"#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

@Suite struct ApacheLineParserTests {
    let parser = ApacheLineParser()

    @Test func combinedWithMicroseconds() {
        let line = #"192.0.2.7 - frank [04/Dec/2026:05:48:31 +0000] "POST /orders HTTP/1.1" 201 512 "https://example.com/" "Mozilla/5.0 (X11)" 45210"#
        #expect(parse(parser, line) == request("POST", "/orders", 201, 0.04521))
    }

    @Test func escapedQuoteInsideTheRequest() {
        let line = #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "GET /a\"b HTTP/1.1" 404 0 "-" "x\"y" 900"#
        #expect(parse(parser, line) == request("GET", #"/a\"b"#, 404, 0.0009))
    }

    @Test(arguments: [
        #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/7.88.1""#,
        #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 512 "-" "curl" 0.045"#,
        #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1" 200 512 "-" "curl" 99999999999999999999"#,
        #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "\x16\x03\x01" 400 226 "-" "-" 120"#,
        #"192.0.2.7 - - [04/Dec/2026:05:48:31 +0000] "GET / HTTP/1.1\" 200 512 "-" "curl" 120"#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

@Suite struct NginxUpstreamTimeTests {
    static let untimed = #"10.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /api/items/7 HTTP/1.1" 200 612 "-" "curl/7.88.1""#
    let prefix = Self.untimed + " 0.025"

    @Test(arguments: [
        (" 0.019", 0.019),
        (" 0.005, 0.019", 0.024),
        (" 0.005 : 0.019", 0.024),
        (" 0.001, 0.002 : 0.004", 0.007),
        (" -, 0.019", 0.019),
        (" 0.019\r", 0.019),
    ] as [(String, Double)])
    func upstreamValues(tail: String, upstream: Double) {
        let logged = NginxLineParser(upstreamTime: .logged)
        let observed = NginxLineParser(upstreamTime: .observed)
        #expect(parse(logged, prefix + tail) == request("GET", "/api/items/7", 200, 0.025))
        guard case .request(let record) = parse(observed, prefix + tail) else {
            Issue.record("\(tail) did not parse")
            return
        }
        #expect(abs(record.durationSeconds - upstream) < 1e-12)
    }

    @Test func noUpstreamAtAll() {
        #expect(parse(NginxLineParser(upstreamTime: .logged), prefix + " -") == request("GET", "/api/items/7", 200, 0.025))
        #expect(parse(NginxLineParser(upstreamTime: .observed), prefix + " -") == .unparsed)
        #expect(parse(NginxLineParser(upstreamTime: .observed), prefix + " - : -") == .unparsed)
    }

    @Test func theDefaultKeepsReadingTheLastFieldAsTheRequestTime() {
        #expect(parse(NginxLineParser(), prefix) == request("GET", "/api/items/7", 200, 0.025))
        // Lines without an upstream field are refused rather than read one field off.
        #expect(parse(NginxLineParser(upstreamTime: .logged), Self.untimed) == .unparsed)
    }

    @Test(arguments: [" 0.005,", " : 0.019", " 0.005 :: 0.019", " 0.005 ; 0.019", " abc", " 0.005, x"])
    func malformedUpstreamValues(tail: String) {
        #expect(parse(NginxLineParser(upstreamTime: .logged), prefix + tail) == .unparsed)
    }
}

@Suite struct CaddyAndTraefikTests {
    @Test func caddyAccessLog() {
        let line = #"{"level":"info","ts":1733291311.52,"logger":"http.log.access.log0","msg":"handled request","request":{"remote_ip":"127.0.0.1","remote_port":"41342","client_ip":"127.0.0.1","proto":"HTTP/1.1","method":"GET","host":"localhost:8080","uri":"/markets/42?x=1","headers":{"User-Agent":["curl/7.88.1"],"Accept":["*/*"]}},"bytes_read":0,"user_id":"","duration":0.000929675,"size":10,"status":200,"resp_headers":{"Server":["Caddy"]}}"#
        #expect(parse(JSONLineParser(configuration: .caddy), line) == request("GET", "/markets/42?x=1", 200, 0.000929675))
    }

    @Test func caddyRequiresTheNestedKeys() {
        let parser = JSONLineParser(configuration: .caddy)
        #expect(parse(parser, #"{"method":"GET","uri":"/","duration":0.1,"status":200}"#) == .unparsed)
        #expect(parse(parser, #"{"request":"GET /","duration":0.1,"status":200}"#) == .unparsed)
        #expect(parse(parser, #"{"request":{"method":"GET","uri":"/"},"duration":0.1,"status":200"#) == .unparsed)
        #expect(parse(parser, #"{"request":{"method":"GET","uri":"/","x":{"request":{"method":"POST"}}},"duration":0.1,"status":200}"#)
            == request("GET", "/", 200, 0.1))
        // A top-level key that merely contains the separator is not the nested key.
        #expect(parse(parser, #"{"request.method":"GET","request.uri":"/","duration":0.1,"status":200}"#) == .unparsed)
    }

    @Test func dottedKeysStayLiteralInTheJSONFormat() {
        let parser = JSONLineParser(configuration: .init(methodField: "http.method", pathField: "http.path"))
        #expect(parse(parser, #"{"http.method":"GET","http.path":"/a","duration_ms":5}"#) == request("GET", "/a", nil, 0.005))
    }

    @Test func emptyKeysAndEmptyKeyPathComponents() {
        let empty = JSONLineParser(configuration: .init(methodField: "", pathField: "p", statusField: nil, durationField: "d"))
        #expect(parse(empty, #"{"":"GET","p":"/a","d":1}"#) == request("GET", "/a", nil, 0.001))
        let nested = JSONLineParser(configuration: .init(methodField: "r..m", pathField: "p", statusField: nil, durationField: "d", keyPathSeparator: UInt8(ascii: ".")))
        #expect(parse(nested, #"{"r":{"":{"m":"PUT"}},"p":"/a","d":1}"#) == request("PUT", "/a", nil, 0.001))
        #expect(parse(nested, #"{"r":{"m":"PUT"},"p":"/a","d":1}"#) == .unparsed)
    }

    @Test func traefikAccessLog() {
        let line = #"{"ClientAddr":"10.0.0.1:54321","ClientHost":"10.0.0.1","DownstreamContentSize":42,"DownstreamStatus":502,"Duration":12345678,"OriginContentSize":42,"OriginDuration":12000000,"OriginStatus":200,"Overhead":345678,"RequestAddr":"api.local","RequestHost":"api.local","RequestMethod":"POST","RequestPath":"/orders/9","RequestPort":"-","RequestProtocol":"HTTP/1.1","RequestScheme":"http","RetryAttempts":0,"RouterName":"api@docker","StartUTC":"2026-12-04T05:48:31.52Z","entryPointName":"web","level":"info","msg":"","time":"2026-12-04T05:48:31Z"}"#
        #expect(parse(JSONLineParser(configuration: .traefik), line) == request("POST", "/orders/9", 502, 0.012345678))
    }
}

@Suite struct HAProxyLineParserTests {
    let parser = HAProxyLineParser()

    @Test func documentedExample() {
        let line = #"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#
        #expect(parse(parser, line) == request("GET", "/index.html", 200, 0.109))
    }

    @Test func rawWithoutSyslogHeaderAndAbortedPhases() {
        let line = #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/<NOSRV> 0/-1/-1/-1/0 302 120 - - LR-- 1/1/0/0/0 0/0 "GET /login HTTP/1.1""#
        #expect(parse(parser, line) == request("GET", "/login", 302, 0))
        let logasap = #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/s1 1/0/0/5/+7 200 120 - - ---- 1/1/0/0/0 0/0 "POST /big HTTP/1.1""#
        #expect(parse(parser, logasap) == request("POST", "/big", 200, 0.007))
    }

    @Test(arguments: [
        // A TCP-mode log line: no status, no request.
        #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/s1 0/0/5012 212 -- 1/1/0/0/0 0/0"#,
        #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe fe/<NOSRV> -1/-1/-1/-1/0 400 187 - - PR-- 1/1/0/0/0 0/0 "<BADREQ>""#,
        #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/s1 0/0/0/1/x 200 120 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#,
        #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/s1 0/0/0/1/2 -1 120 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1""#,
        #"127.0.0.1:40006 [04/Dec/2026:05:48:31.120] fe be/s1 0/0/0/1/2 200 120 - - ---- 1/1/0/0/0 0/0 "GET / HTTP/1.1" trailing"#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

@Suite struct EnvoyLineParserTests {
    let parser = EnvoyLineParser()

    @Test func documentedDefaultFormat() {
        let line = #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "tcp://10.0.2.1:80""#
        #expect(parse(parser, line) == request("POST", "/api/v1/locations", 204, 0.226))
    }

    @Test func responseFlagsAndNoUpstreamTime() {
        let line = #"[2026-12-04T05:48:31.001Z] "GET /slow HTTP/1.1" 504 UT 0 24 15001 - "-" "curl/7.88.1" "id" "api" "10.0.0.2:8080""#
        #expect(parse(parser, line) == request("GET", "/slow", 504, 15.001))
    }

    @Test(arguments: [
        #"[2026-12-04T05:48:31.001Z] "GET / HTTP/1.1" 0 DC 0 0 3 - "-" "curl" "id" "api" "-""#,
        #"[2026-12-04T05:48:31.001Z] "GET / HTTP/1.1" 200 - 0 24"#,
        #"[2026-12-04T05:48:31.001Z] "GET / HTTP/1.1" 200 - 0 24 1.5 - "-" "curl" "id" "api" "-""#,
        #"[2026-12-04T05:48:31.001Z] "- - -" 0 - 0 0 0 - "-" "-" "-" "-" "-""#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

@Suite struct ALBLineParserTests {
    let parser = ALBLineParser()

    @Test func documentedHTTPEntry() {
        let line = #"http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - - arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 "Root=1-58337262-36d228ad5d99923122bbe354" "-" "-" 0 2018-07-02T22:22:48.364000Z "forward" "-" "-" "10.0.0.1:80" "200" "-" "-""#
        #expect(parse(parser, line) == request("GET", "http://www.example.com:80/", 200, 0.001))
    }

    @Test func summedProcessingTimes() {
        let line = #"https 2026-12-04T05:48:31.186641Z app/lb/50dc 10.0.0.9:2817 10.0.0.1:80 0.001 0.250 0.002 502 502 34 366 "POST https://api.example.com:443/orders?id=7 HTTP/2.0" "x" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn "Root=1" "api.example.com" "arn" 1 2026-12-04T05:48:30.9Z "forward" "-" "-" "10.0.0.1:80" "502" "-" "-""#
        guard case .request(let record) = parse(parser, line) else {
            Issue.record("did not parse")
            return
        }
        #expect(record.method == "POST" && record.path == "https://api.example.com:443/orders?id=7" && record.status == 502)
        #expect(abs(record.durationSeconds - 0.253) < 1e-12)
    }

    @Test(arguments: [
        // The target never answered: -1, no duration.
        #"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 - -1 -1 -1 504 - 0 0 "GET http://x:80/ HTTP/1.1" "-" - -"#,
        #"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366"#,
        #"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 - 200 34 366 "GET / HTTP/1.1""#,
        #"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "- - - ""#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

@Suite struct HerokuRouterLineParserTests {
    let parser = HerokuRouterLineParser()

    @Test func infoLine() {
        let line = #"2026-12-04T05:48:31.000000+00:00 heroku[router]: at=info method=GET path="/markets/42" host=app.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="204.204.204.204" dyno=web.1 connect=1ms service=18ms status=200 bytes=13 protocol=https"#
        #expect(parse(parser, line) == request("GET", "/markets/42", 200, 0.019))
    }

    @Test func errorLineWithEmptyConnectAndUnquotedPath() {
        let line = #"2012-10-11T03:47:20+00:00 heroku[router]: at=error code=H12 desc="Request timeout" method=POST path=/upload host=myapp.herokuapp.com fwd="204.204.204.204" dyno=web.1 connect= service=30000ms status=503 bytes=0"#
        #expect(parse(parser, line) == request("POST", "/upload", 503, 30))
    }

    @Test func drainLineWithSyslogHeader() {
        let line = #"<158>1 2014-08-04T18:28:43.078581+00:00 host heroku router - at=info method=GET path="/foo" host=app-name-7277.herokuapp.com request_id=e5bb3580 fwd="50.168.96.221" dyno=web.1 connect=0ms service=2ms status=200 bytes=415"#
        #expect(parse(parser, line) == request("GET", "/foo", 200, 0.002))
    }

    @Test(arguments: [
        #"2026-12-04T05:48:31+00:00 app[web.1]: 10.1.1.1 - - [04/Dec/2026 05:48:31] "GET / HTTP/1.1" 200 12 0.0019"#,
        #"heroku[router]: at=info method=GET path="/" connect=1ms service=18 status=200"#,
        #"heroku[router]: at=info method=GET path="/" connect=1ms status=200"#,
        #"heroku[router]: at=info method=GET path="/ connect=1ms service=2ms status=200"#,
        #"heroku[router]: at=info method=GET path="/" connect=1ms service=2ms status=20000"#,
        #"heroku[router]: at=info method= path="/" connect=1ms service=2ms status=200"#,
    ])
    func rejected(line: String) {
        #expect(parse(parser, line) == .unparsed)
    }
}

/// Valid lines of every built-in format, mutated byte by byte (the robustness suite's mutator):
/// every parser either refuses a line or returns a record a histogram can take.
@Suite struct BuiltInFormatMutationTests {
    static let seeds = [
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /markets/42?x=1 HTTP/1.1" 200 13 "-" "curl/7.88.1" 0.012345"#,
        #"127.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /markets/42 HTTP/1.1" 200 13 "-" "curl/7.88.1" 12345"#,
        #"10.0.0.1 - - [04/Dec/2026:05:48:31 +0000] "GET /api/items/7 HTTP/1.1" 200 612 "-" "curl/7.88.1" 0.025 0.005, 0.019 : 0.001"#,
        #"{"level":"info","request":{"method":"GET","host":"h","uri":"/markets/42","headers":{"A":["b"]}},"duration":0.0009,"size":10,"status":200}"#,
        #"{"DownstreamStatus":502,"Duration":12345678,"RequestMethod":"POST","RequestPath":"/orders/9","RetryAttempts":0}"#,
        #"Feb  6 12:14:14 localhost haproxy[14389]: 10.0.1.2:33317 [06/Feb/2009:12:14:14.655] http-in static/srv1 10/0/30/69/109 200 2750 - - ---- 1/1/1/1/0 0/0 {1wt.eu} {} "GET /index.html HTTP/1.1""#,
        #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0" "locations" "tcp://10.0.2.1:80""#,
        #"http 2018-07-02T22:23:00.186641Z app/lb/50dc 192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.46.0" - -"#,
        #"2026-12-04T05:48:31+00:00 heroku[router]: at=info method=GET path="/markets/42" host=a.herokuapp.com fwd="1.2.3.4" dyno=web.1 connect=1ms service=18ms status=200 bytes=13"#,
    ]

    @Test func mutatedLinesGiveUsableRecordsOrNone() {
        var parsed = 0
        for bytes in RandomInputTests.mutations(of: Self.seeds, count: 4000, seed: 16) {
            for parser in allBuiltInParsers {
                guard case .request(let record) = parse(parser, bytes: bytes) else { continue }
                parsed += 1
                #expect(record.durationSeconds.isFinite && record.durationSeconds >= 0)
                #expect(!record.method.isEmpty && !record.path.isEmpty)
                #expect((0...999).contains(record.status ?? 0))
            }
        }
        #expect(parsed > 1000)
    }
}
