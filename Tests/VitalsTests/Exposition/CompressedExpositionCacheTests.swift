import Foundation
import Testing

@testable import Vitals

@Suite struct CompressedExpositionCacheTests {
    static func text(_ families: [FamilySnapshot], _ format: ExpositionFormat) -> [UInt8] {
        ExpositionAnswer(families, format: format, acceptEncoding: nil).body
    }

    static func gauge(_ name: String, help: String = "H.", _ value: Double) throws -> FamilySnapshot {
        FamilySnapshot(try MetricDescriptor(name: name, help: help, type: .gauge), series: [.scalar(value)])
    }

    @Test(arguments: ExpositionFormat.allCases)
    func everyBodyIsTheWritersBytesCompressed(format: ExpositionFormat) throws {
        let registry = try ExpositionWriterTests.sampleRegistry()
        let cache = CompressedExpositionCache()
        var families = registry.gather()
        // The first scrape, where everything is new: the whole text in one piece.
        let first = try cache.gzip(families, format: format)
        #expect(first.body == (try Gzip.compress(Self.text(families, format))))
        #expect(first.reused == 0)

        // Unchanged since the first: each family gets a piece of its own, copied from then on.
        let second = try cache.gzip(registry.gather(), format: format)
        #expect(try Gzip.decompressForTesting(second.body) == Self.text(families, format))
        #expect(second.reused == 0)
        #expect(second.stored == format.trailer.count)
        let unchanged = try cache.gzip(registry.gather(), format: format)
        #expect(unchanged.body == second.body)
        #expect(unchanged.reused == families.count)

        // One series of one family moves: that family alone is written and compressed again.
        try registry.counter("http_requests_total", help: "Requests.", labels: ["method", "route"]).increment(["GET", "/a"])
        families = registry.gather()
        let moved = try cache.gzip(families, format: format)
        #expect(try Gzip.decompressForTesting(moved.body) == Self.text(families, format))
        #expect(moved.body != second.body)
        #expect(moved.reused == families.count - 1)
        // The family that moved is sent as it is, not compressed.
        let movedFamily = try #require(families.first { $0.descriptor.name == "http_requests_total" })
        #expect(moved.stored == format.bytes(of: movedFamily).count + format.trailer.count)

        // A new family between others (by name), and one without samples.
        try registry.gauge("e_in_between", help: "New.").set(to: 7)
        _ = try registry.gauge("f_without_samples", help: "Declared.", labels: ["kind"])
        families = registry.gather()
        let grown = try cache.gzip(families, format: format)
        #expect(try Gzip.decompressForTesting(grown.body) == Self.text(families, format))
        // Not copied: the two new families, and the one that moved last time (unchanged since,
        // it gets a piece of its own now).
        #expect(grown.reused == families.count - 3)
    }

    /// A family is unchanged when it equals what the scrape before wrote: a change in the last
    /// series of a long family is seen, and a family holding NaN (never equal to itself) is written
    /// again whenever it comes in new storage, never copied; in the same storage it is the same.
    @Test func aChangeAnywhereInAFamilyIsSeen() throws {
        let descriptor = try MetricDescriptor(name: "long_family", help: "H.", type: .gauge, labelNames: ["n"])
        let series = (0..<500).map { SeriesSnapshot.scalar(Double($0), [String(1000 + $0)]) }
        let nanDescriptor = try MetricDescriptor(name: "not_a_number", help: "H.", type: .gauge)
        func families(_ series: [SeriesSnapshot]) -> [FamilySnapshot] {
            [FamilySnapshot(descriptor, series: series), FamilySnapshot(nanDescriptor, series: [.scalar(.nan)])]
        }
        let cache = CompressedExpositionCache()
        _ = try cache.gzip(families(series), format: .prometheusText)
        _ = try cache.gzip(families(series), format: .prometheusText)
        let third = try cache.gzip(families(series), format: .prometheusText)
        #expect(third.reused == 1, "the long family copied, the NaN one written again")
        #expect(try Gzip.decompressForTesting(third.body) == Self.text(families(series), .prometheusText))
        let same = families(series)
        _ = try cache.gzip(same, format: .prometheusText)
        _ = try cache.gzip(same, format: .prometheusText)
        #expect(try cache.gzip(same, format: .prometheusText).reused == 2, "the same storage is the same family")
        var last = series
        last[499] = .scalar(-1, ["1499"])
        let written = try cache.gzip(families(last), format: .prometheusText)
        #expect(written.reused == 0)
        #expect(try Gzip.decompressForTesting(written.body) == Self.text(families(last), .prometheusText))
    }

    /// Scrapes of families that change at random (values, series coming and going, help texts,
    /// NaN, labels that need escaping): every body is the writer's text, in every format, whatever
    /// was copied as pieces, compressed or stored.
    @Test(arguments: ExpositionFormat.allCases)
    func everyBodyIsTheTextWhateverChanges(format: ExpositionFormat) throws {
        var random = SplitMix64(seed: 18)
        let cache = CompressedExpositionCache()
        let helps = ["Help.", "Other \\ help\nwith a line."]
        var families: [FamilySnapshot] = []
        var reused = 0
        for scrape in 0..<60 {
            if scrape == 0 || random.next() % 4 == 0 {
                families = try (0..<12).map { index in
                    let type: MetricType = [.counter, .gauge, .histogram, .summary][index % 4]
                    let descriptor = try MetricDescriptor(
                        name: "family_\(index)", help: helps[Int(random.next() % 8 == 0 ? 1 : 0)], type: type, labelNames: ["key", "other"],
                        buckets: type == .histogram ? [0.5, 2] : [])
                    return FamilySnapshot(descriptor, series: [])
                }
            }
            families = families.map { family in
                var family = family
                var series: [[String]: SeriesSnapshot] = Dictionary(uniqueKeysWithValues: family.series.map { ($0.labelValues, $0) })
                for _ in 0..<Int(random.next() % 6) {
                    let labels = ["k\(random.next() % 9)", random.next() % 5 == 0 ? "quote \" and \\ and \n" : "plain"]
                    if random.next() % 5 == 0 {
                        series[labels] = nil
                        continue
                    }
                    let value = random.next() % 10 == 0 ? Double.nan : Double(random.next() % 4) / 4
                    switch family.descriptor.type {
                    case .histogram:
                        series[labels] = SeriesSnapshot(
                            labelValues: labels, value: .histogram(bucketCounts: [random.next() % 3, random.next() % 3], sum: value, count: random.next() % 9))
                    case .summary:
                        series[labels] = SeriesSnapshot(labelValues: labels, value: .summary(quantiles: [SummaryQuantile(0.5, value)], sum: 1, count: 2))
                    default:
                        series[labels] = .scalar(value, labels)
                    }
                }
                family.series = series.values.sorted { $0.labelValues.lexicographicallyPrecedes($1.labelValues) }
                return family
            }
            let written = try cache.gzip(families, format: format)
            #expect(try Gzip.decompressForTesting(written.body) == Self.text(families, format), "scrape \(scrape)")
            reused += written.reused
        }
        // Families were copied as pieces too, so the comparison above covered copies.
        #expect(reused > 0)
    }

    @Test func gzipItselfReadsABodyOfCopiedPieces() throws {
        let cache = CompressedExpositionCache()
        let families = try (0..<50).map { try Self.gauge("family_\(1000 + $0)", Double($0)) }
        _ = try cache.gzip(families, format: .openMetrics)
        _ = try cache.gzip(families, format: .openMetrics)
        var changed = families
        changed[25] = try Self.gauge("family_1025", 0.5)
        let body = try cache.gzip(changed, format: .openMetrics)
        #expect(body.reused == 49)

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vitals-pieces-\(UUID().uuidString).gz")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(body.body).write(to: file)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-dc", file.path]
        let output = Pipe()
        gzip.standardOutput = output
        try gzip.run()
        let decompressed = output.fileHandleForReading.readDataToEndOfFile()
        gzip.waitUntilExit()
        #expect(gzip.terminationStatus == 0)  // gzip checks the CRC-32 and the length
        #expect(Array(decompressed) == Self.text(changed, .openMetrics))
    }

    @Test func familiesThatChangeEveryScrapeAreSentStoredInOneRun() throws {
        let cache = CompressedExpositionCache()
        var families = try (0..<20).map { try Self.gauge("family_\(1000 + $0)", 0) }
        // The first scrape has nothing to copy: compressed whole.
        let first = try cache.gzip(families, format: .prometheusText)
        #expect(first.body == (try Gzip.compress(Self.text(families, .prometheusText))))
        #expect(first.stored == 0)
        for round in 1...2 {
            families = try families.map { try Self.gauge($0.descriptor.name, Double(round)) }
            let written = try cache.gzip(families, format: .prometheusText)
            let text = Self.text(families, .prometheusText)
            // Nothing unchanged: one stored block of the whole text, not twenty. Header, block, final block, trailer.
            #expect(written.stored == text.count)
            #expect(written.body.count == 10 + 5 + text.count + 2 + 8)
            #expect(try Gzip.decompressForTesting(written.body) == text)
            #expect(written.reused == 0)
        }
    }

    @Test func pastTheBudgetChangedFamiliesAreCompressed() throws {
        let cache = CompressedExpositionCache()
        // Each family about 12 KB of text: a run of them passes the budget within a scrape.
        func families(_ value: Double) throws -> [FamilySnapshot] {
            try (0..<20).map { index in
                FamilySnapshot(
                    try MetricDescriptor(name: "family_\(1000 + index)", help: "H.", type: .gauge, labelNames: ["key"]),
                    series: (0..<400).map { .scalar(value, ["key-\($0)"]) })
            }
        }
        _ = try cache.gzip(try families(0), format: .prometheusText)
        let changed = try families(1)
        let text = Self.text(changed, .prometheusText)
        #expect(text.count > 2 * CompressedExpositionCache.storedBytesPerScrape)
        let written = try cache.gzip(changed, format: .prometheusText)
        #expect(written.stored == 0)  // one run of all twenty, larger than the budget
        #expect(written.body == (try Gzip.compress(text)))

        // One family stable and the rest changing, every other one: runs of one family each, the
        // first ones stored until the budget is spent, the rest compressed.
        var alternating = try families(2)
        for index in stride(from: 0, to: 20, by: 2) { alternating[index] = changed[index] }
        _ = try cache.gzip(alternating, format: .prometheusText)
        for index in stride(from: 1, to: 20, by: 2) { alternating[index] = try families(3)[index] }
        let mixed = try cache.gzip(alternating, format: .prometheusText)
        #expect(mixed.stored > 0 && mixed.stored <= CompressedExpositionCache.storedBytesPerScrape)
        #expect(mixed.stored < Self.text(Array(alternating.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)), .prometheusText).count)
        #expect(try Gzip.decompressForTesting(mixed.body) == Self.text(alternating, .prometheusText))
    }

    @Test func storedBlocksHoldAtMost65535BytesEach() throws {
        let input = (0..<150_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var member = Gzip.Member(capacity: 0, deflater: try Gzip.Deflater())
        try member.append(compressing: Array("before\n".utf8))
        member.append(storing: input)
        member.append(storing: [])
        try member.append(compressing: Array("after\n".utf8))
        let body = member.finish()
        #expect(try Gzip.decompressForTesting(body) == Array("before\n".utf8) + input + Array("after\n".utf8))
    }

    @Test func aFamilyUnderTheSameNameWithAnotherDescriptorIsWrittenAgain() throws {
        let cache = CompressedExpositionCache()
        _ = try cache.gzip([Self.gauge("x", help: "Before.", 1)], format: .prometheusText)
        let written = try cache.gzip([Self.gauge("x", help: "After.", 1)], format: .prometheusText)
        #expect(written.reused == 0)
        #expect(String(decoding: try Gzip.decompressForTesting(written.body), as: UTF8.self) == "# HELP x After.\n# TYPE x gauge\nx 1\n")
    }

    @Test func itKeepsOnlyTheLastScrapesFamiliesPerFormat() throws {
        let cache = CompressedExpositionCache()
        let families = try ["a", "b", "c"].map { try Self.gauge($0, 1) }
        for _ in 0..<2 { _ = try cache.gzip(families, format: .prometheusText) }
        _ = try cache.gzip(families, format: .protobufDelimited)
        #expect(cache.count(of: .prometheusText) == 3)

        let fewer = try cache.gzip([families[0], families[2]], format: .prometheusText)
        #expect(fewer.reused == 2)
        #expect(cache.count(of: .prometheusText) == 2)
        #expect(cache.count(of: .protobufDelimited) == 3)
        #expect(cache.count(of: .openMetrics) == 0)
    }

    @Test func familiesOutOfOrderAreWrittenInTheirOrder() throws {
        let cache = CompressedExpositionCache()
        let families = try ["a", "b", "c"].map { try Self.gauge($0, 2) }
        for _ in 0..<2 { _ = try cache.gzip(families, format: .prometheusText) }
        let reversed = Array(families.reversed())
        let written = try cache.gzip(reversed, format: .prometheusText)
        #expect(try Gzip.decompressForTesting(written.body) == Self.text(reversed, .prometheusText))
        // "c" matched first; "b" and "a" come before it by name, so the walk finds them no more.
        #expect(written.reused == 1)
    }

    @Test func scrapesAtOnceEachGetTheWholeBody() async throws {
        let registry = try ExpositionWriterTests.sampleRegistry()
        let cache = CompressedExpositionCache()
        let expected = Self.text(registry.gather(), .openMetrics)
        let bodies = await withTaskGroup(of: [UInt8]?.self) { group in
            for _ in 0..<16 { group.addTask { try? cache.gzip(registry.gather(), format: .openMetrics).body } }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(bodies.count == 16)
        for body in bodies { #expect(try Gzip.decompressForTesting(try #require(body)) == expected) }
    }

    @Test func theAnswerIsCompressedThroughTheCacheOnlyWhenGzipIsAccepted() throws {
        let families = try ExpositionWriterTests.sampleRegistry().gather()
        let cache = CompressedExpositionCache()
        let compressed = ExpositionAnswer(families, format: .openMetrics, acceptEncoding: "gzip", cache: cache)
        #expect(compressed.contentEncoding == "gzip")
        #expect(try Gzip.decompressForTesting(compressed.body) == Self.text(families, .openMetrics))
        #expect(cache.count(of: .openMetrics) == families.count)

        let plain = ExpositionAnswer(families, format: .prometheusText, acceptEncoding: "identity", cache: cache)
        #expect(plain.contentEncoding == nil)
        #expect(plain.body == Self.text(families, .prometheusText))
        #expect(cache.count(of: .prometheusText) == 0)
    }

    @Test func aPieceDependsOnItsInputAlone() throws {
        let input = Array(String(repeating: "pg_stat_database_xact_commit{datname=\"app\"} 42\n", count: 200).utf8)
        let kept = try Gzip.Deflater()
        var one = Gzip.Member(capacity: 0, deflater: kept)
        try one.append(compressing: Array("something before it\n".utf8))
        let inOne = try one.append(compressing: input)
        let oneBytes = one.finish()
        var other = Gzip.Member(capacity: 0, deflater: try Gzip.Deflater())
        let inOther = try other.append(compressing: input)
        let otherBytes = other.finish()
        #expect(Array(oneBytes[inOne.range]) == Array(otherBytes[inOther.range]))
        #expect(inOne.crc == inOther.crc && inOne.length == input.count)
        // A deflater used again, as the cache keeps one, after other text: the same piece.
        var again = Gzip.Member(capacity: 0, deflater: kept)
        try again.append(compressing: Array(String(repeating: "redis_commands_total{cmd=\"get\"} 7\n", count: 3000).utf8))
        let inAgain = try again.append(compressing: input)
        #expect(Array(again.finish()[inAgain.range]) == Array(otherBytes[inOther.range]))

        // Pieces of both, in a third member: the text of both, in that order.
        var third = Gzip.Member(capacity: 0, deflater: try Gzip.Deflater())
        _ = third.append(inOther, of: otherBytes)
        try third.append(compressing: [])
        _ = third.append(inOne, of: oneBytes)
        #expect(try Gzip.decompressForTesting(third.finish()) == input + input)
    }

    @Test func incompressibleInputFitsItsRoom() throws {
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let compressed = try Gzip.compress(noise)
        #expect(try Gzip.decompressForTesting(compressed) == noise)
    }
}
