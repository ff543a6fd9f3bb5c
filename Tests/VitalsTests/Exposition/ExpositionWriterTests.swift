import Foundation
import Testing

@testable import Vitals

@Suite struct ExpositionWriterTests {
    static func sampleRegistry() throws -> MetricRegistry {
        let registry = MetricRegistry()
        let requests = try registry.counter("http_requests_total", help: "Requests.", labels: ["method", "route"])
        requests.increment(["GET", "/a"], by: 3)
        requests.increment(["POST", "/b \"quoted\"\\\n"], by: 1)
        let temperature = try registry.gauge("room_temperature_celsius", help: "Line one\nline \\two.")
        temperature.set(to: 21.5)
        let duration = try registry.histogram("d_seconds", help: "Duration.", labels: ["route"], buckets: [0.1, 1])
        duration.observe(["/a"], 0.05)
        duration.observe(["/a"], 0.5)
        duration.observe(["/a"], 5)
        duration.observe(["/b"], 0.05)  // a second series: the family's names and bounds are reused
        let legacy = try registry.counter("pg_statio_user_tables_heap_blocks_read", help: "Legacy counter name.")
        legacy.increment(by: 2)
        return registry
    }

    @Test func prometheusTextIsExact() throws {
        let text = String(decoding: ExpositionWriter(format: .prometheusText).write(try Self.sampleRegistry().gather()), as: UTF8.self)
        #expect(
            text == """
                # HELP d_seconds Duration.
                # TYPE d_seconds histogram
                d_seconds_bucket{route="/a",le="0.1"} 1
                d_seconds_bucket{route="/a",le="1"} 2
                d_seconds_bucket{route="/a",le="+Inf"} 3
                d_seconds_sum{route="/a"} 5.55
                d_seconds_count{route="/a"} 3
                d_seconds_bucket{route="/b",le="0.1"} 1
                d_seconds_bucket{route="/b",le="1"} 1
                d_seconds_bucket{route="/b",le="+Inf"} 1
                d_seconds_sum{route="/b"} 0.05
                d_seconds_count{route="/b"} 1
                # HELP http_requests_total Requests.
                # TYPE http_requests_total counter
                http_requests_total{method="GET",route="/a"} 3
                http_requests_total{method="POST",route="/b \\"quoted\\"\\\\\\n"} 1
                # HELP pg_statio_user_tables_heap_blocks_read Legacy counter name.
                # TYPE pg_statio_user_tables_heap_blocks_read counter
                pg_statio_user_tables_heap_blocks_read 2
                # HELP room_temperature_celsius Line one\\nline \\\\two.
                # TYPE room_temperature_celsius gauge
                room_temperature_celsius 21.5

                """)
    }

    @Test func openMetricsIsExact() throws {
        let text = String(decoding: ExpositionWriter(format: .openMetrics).write(try Self.sampleRegistry().gather()), as: UTF8.self)
        #expect(
            text == """
                # HELP d_seconds Duration.
                # TYPE d_seconds histogram
                d_seconds_bucket{route="/a",le="0.1"} 1
                d_seconds_bucket{route="/a",le="1.0"} 2
                d_seconds_bucket{route="/a",le="+Inf"} 3
                d_seconds_sum{route="/a"} 5.55
                d_seconds_count{route="/a"} 3
                d_seconds_bucket{route="/b",le="0.1"} 1
                d_seconds_bucket{route="/b",le="1.0"} 1
                d_seconds_bucket{route="/b",le="+Inf"} 1
                d_seconds_sum{route="/b"} 0.05
                d_seconds_count{route="/b"} 1
                # HELP http_requests Requests.
                # TYPE http_requests counter
                http_requests_total{method="GET",route="/a"} 3
                http_requests_total{method="POST",route="/b \\"quoted\\"\\\\\\n"} 1
                # HELP pg_statio_user_tables_heap_blocks_read Legacy counter name.
                # TYPE pg_statio_user_tables_heap_blocks_read unknown
                pg_statio_user_tables_heap_blocks_read 2
                # HELP room_temperature_celsius Line one\\nline \\\\two.
                # TYPE room_temperature_celsius gauge
                room_temperature_celsius 21.5
                # EOF

                """)
    }

    @Test(arguments: [
        (0.0, "0"), (-0.0, "0"), (3, "3"), (0.25, "0.25"), (1e-5, "1e-05"), (.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"),
        (1e20, "1e+20"), (-42, "-42"), (999_999_999_999_999, "999999999999999"), (-999_999_999_999_999, "-999999999999999"), (1e15, "1000000000000000.0"),
        (-0.5, "-0.5"),
    ])
    func sampleValues(value: Double, expected: String) {
        #expect(SampleValue.format(value) == expected)
        var bytes: [UInt8] = Array("x ".utf8)
        SampleValue.append(value, to: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self) == "x " + expected)
    }

    /// Each series' labels are escaped once and copied into every line of it: a histogram without
    /// labels has only `le`, and an escaped label value is the same in each bucket line.
    @Test func histogramLinesCarryTheirSeriesLabelsOrOnlyLe() throws {
        let registry = MetricRegistry()
        let plain = try registry.histogram("plain_seconds", help: "No labels.", buckets: [0.5])
        plain.observe([], 0.25)
        plain.observe([], 0.75)
        let escaped = try registry.histogram("escaped_seconds", help: "Escaped.", labels: ["route", "method"], buckets: [0.5])
        escaped.observe(["/a\"b", "GET"], 2)
        let text = String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self)
        #expect(
            text == """
                # HELP escaped_seconds Escaped.
                # TYPE escaped_seconds histogram
                escaped_seconds_bucket{route="/a\\"b",method="GET",le="0.5"} 0
                escaped_seconds_bucket{route="/a\\"b",method="GET",le="+Inf"} 1
                escaped_seconds_sum{route="/a\\"b",method="GET"} 2
                escaped_seconds_count{route="/a\\"b",method="GET"} 1
                # HELP plain_seconds No labels.
                # TYPE plain_seconds histogram
                plain_seconds_bucket{le="0.5"} 1
                plain_seconds_bucket{le="+Inf"} 2
                plain_seconds_sum 1
                plain_seconds_count 2

                """)
    }

    @Test func emptyFamiliesStillCarryHelpAndType() throws {
        let registry = MetricRegistry()
        _ = try registry.counter("nothing_yet_total", help: "Empty.")
        let text = String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self)
        #expect(text == "# HELP nothing_yet_total Empty.\n# TYPE nothing_yet_total counter\n")
    }

    @Test(arguments: [
        (nil, ExpositionFormat.prometheusText),
        ("text/plain", .prometheusText),
        ("application/openmetrics-text; version=1.0.0", .openMetrics),
        (
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            .openMetrics
        ),
        ("text/plain;q=1,application/openmetrics-text;q=0.5", .prometheusText),
        ("application/openmetrics-text;q=0", .prometheusText),
        ("application/json", .prometheusText),
        // Prometheus 2.42 with --enable-feature=native-histograms sends exactly this.
        (
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            .protobufDelimited
        ),
        ("application/vnd.google.protobuf; proto=\"io.prometheus.client.MetricFamily\"; encoding=\"delimited\"", .protobufDelimited),
        // Only the delimited MetricFamily stream is served; text or compact-text protobuf fall back.
        ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text", .prometheusText),
        ("application/vnd.google.protobuf;encoding=delimited,text/plain;q=0.5", .prometheusText),
    ] as [(String?, ExpositionFormat)])
    func negotiation(accept: String?, expected: ExpositionFormat) {
        #expect(ExpositionFormat.negotiate(accept: accept) == expected)
    }

    @Test func gzipAcceptance() {
        #expect(HeaderValue.acceptsGzip("gzip"))
        #expect(HeaderValue.acceptsGzip("deflate, gzip;q=0.5"))
        #expect(!HeaderValue.acceptsGzip("gzip;q=0"))
        #expect(!HeaderValue.acceptsGzip("identity"))
        #expect(!HeaderValue.acceptsGzip(nil))
    }

    @Test func gzipRoundTripsThroughZlib() throws {
        let input = Array(String(repeating: "http_requests_total{route=\"/a\"} 1\n", count: 1000).utf8)
        let compressed = try Gzip.compress(input)
        #expect(compressed.count < input.count / 10)
        #expect(compressed.prefix(2) == [0x1f, 0x8b])
        #expect(try Gzip.decompressForTesting(compressed) == input)
    }
}

import CZlib

extension Gzip {
    static func decompressForTesting(_ input: [UInt8]) throws -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { throw Failure() }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var input = input
        var status: Int32 = Z_OK
        input.withUnsafeMutableBytes { inBuffer in
            stream.next_in = inBuffer.bindMemory(to: Bytef.self).baseAddress
            stream.avail_in = uInt(inBuffer.count)
            repeat {
                chunk.withUnsafeMutableBytes { outBuffer in
                    stream.next_out = outBuffer.bindMemory(to: Bytef.self).baseAddress
                    stream.avail_out = uInt(outBuffer.count)
                    status = inflate(&stream, Z_NO_FLUSH)
                }
                output += chunk[0..<(chunk.count - Int(stream.avail_out))]
            } while status == Z_OK
        }
        guard status == Z_STREAM_END else { throw Failure() }
        return output
    }
}

/// Summaries: a server's own percentiles (Redis latencystats) with their sum and count.
@Suite struct SummaryExpositionTests {
    static let family: FamilySnapshot = {
        let descriptor = try! MetricDescriptor(name: "op_latency_seconds", help: "Latency.", type: .summary, labelNames: ["cmd"])
        return FamilySnapshot(
            descriptor,
            series: [
                SeriesSnapshot(
                    labelValues: ["get"], value: .summary(quantiles: [SummaryQuantile(0.5, 0.002), SummaryQuantile(1, 0.25)], sum: 1.5, count: 300)),
                SeriesSnapshot(labelValues: ["set"], value: .summary(quantiles: [SummaryQuantile(0.5, 0.001)], sum: 0.5, count: 2)),
            ])
    }()

    @Test func textAndOpenMetricsWriteQuantilesSumAndCount() {
        let text = String(decoding: ExpositionWriter(format: .prometheusText).write([Self.family]), as: UTF8.self)
        #expect(
            text == """
                # HELP op_latency_seconds Latency.
                # TYPE op_latency_seconds summary
                op_latency_seconds{cmd="get",quantile="0.5"} 0.002
                op_latency_seconds{cmd="get",quantile="1"} 0.25
                op_latency_seconds_sum{cmd="get"} 1.5
                op_latency_seconds_count{cmd="get"} 300
                op_latency_seconds{cmd="set",quantile="0.5"} 0.001
                op_latency_seconds_sum{cmd="set"} 0.5
                op_latency_seconds_count{cmd="set"} 2

                """)
        let openMetrics = String(decoding: ExpositionWriter(format: .openMetrics).write([Self.family]), as: UTF8.self)
        #expect(openMetrics.contains("# TYPE op_latency_seconds summary\n"))
        #expect(openMetrics.contains("op_latency_seconds{cmd=\"get\",quantile=\"1.0\"} 0.25\n"))
        #expect(openMetrics.contains("op_latency_seconds_count{cmd=\"get\"} 300\n"))
        #expect(openMetrics.hasSuffix("op_latency_seconds_count{cmd=\"set\"} 2\n# EOF\n"))
    }

    @Test func protobufCarriesASummaryMessage() throws {
        let messages = try NativeHistogramTests.decodeDelimited(ProtobufExpositionWriter().write([Self.family]))
        let family = try #require(messages.first)
        #expect(family.type == .summary)
        let summary = try #require(family.metric.first?.summary)
        #expect(summary.sampleCount == 300)
        #expect(summary.sampleSum == 1.5)
        #expect(summary.quantile.map(\.quantile) == [0.5, 1])
        #expect(summary.quantile.map(\.value) == [0.002, 0.25])
    }

    @Test func aSummaryCannotHaveAQuantileLabel() {
        #expect(throws: RegistryError.self) {
            try MetricDescriptor(name: "x_seconds", help: "x", type: .summary, labelNames: ["quantile"])
        }
    }
}
