import Testing

@testable import Vitals

/// Scrapes through ``FamilyEncodingCache`` answer exactly what a fresh write does, and copy what
/// has not changed.
@Suite struct FamilyEncodingCacheTests {
    static let formats: [ExpositionFormat] = [.prometheusText, .openMetrics, .protobufDelimited]

    static func write(_ families: [FamilySnapshot], _ format: ExpositionFormat, reusing cache: FamilyEncodingCache? = nil) -> [UInt8] {
        format == .protobufDelimited
            ? ProtobufExpositionWriter().write(families, reusing: cache) : ExpositionWriter(format: format).write(families, reusing: cache)
    }

    @Test(arguments: formats)
    func anUnchangedRegistryIsCopiedAndAChangedFamilyIsWrittenAgain(format: ExpositionFormat) throws {
        let registry = MetricRegistry()
        let requests = try registry.counter("app_requests_total", help: "Requests.", labels: ["route"])
        let latency = try registry.histogram("app_latency_seconds", help: "Latency.", labels: ["route"], buckets: [0.1, 1])
        let publisher = registry.makePublisher()
        let setting = try MetricDescriptor(name: "pg_settings_work_mem_bytes", help: "work_mem.", type: .gauge)
        let tables = try MetricDescriptor(name: "pg_stat_user_tables_seq_scan", help: "Scans.", type: .counter, labelNames: ["relname"])
        requests.increment(["/b"])
        requests.increment(["/a"], by: 2)
        latency.observe(["/a"], 0.05)
        publisher.publish([FamilySnapshot(setting, series: [.scalar(4_194_304)]), FamilySnapshot(tables, series: [.scalar(3, ["t"])])])

        let cache = FamilyEncodingCache()
        let first = Self.write(registry.gather(), format, reusing: cache)
        #expect(first == Self.write(registry.gather(), format))
        #expect(cache.reusedCount == 0)

        // Nothing changed: every family is copied, and the bytes are the same.
        let second = Self.write(registry.gather(), format, reusing: cache)
        #expect(second == first)
        #expect(cache.reusedCount == 4)

        // A live family changes, and a pass publishes one changed family and one equal one (new storage, same values).
        requests.increment(["/a"])
        publisher.publish([FamilySnapshot(setting, series: [.scalar(4_194_304)]), FamilySnapshot(tables, series: [.scalar(4, ["t"])])])
        let before = cache.reusedCount
        let third = Self.write(registry.gather(), format, reusing: cache)
        #expect(third == Self.write(registry.gather(), format))
        #expect(third != second)
        #expect(cache.reusedCount - before == 2, "the histogram and the equal setting are copied; the counter and the table are written")
    }

    @Test(arguments: formats)
    func familiesThatComeAndGoAreWrittenAndTheRestStillCopied(format: ExpositionFormat) throws {
        let registry = MetricRegistry()
        let publisher = registry.makePublisher()
        let descriptors = try (0..<6).map { try MetricDescriptor(name: "family_\($0)", help: "Family \($0).", type: .gauge, labelNames: ["k"]) }
        func publish(_ indices: [Int], value: Double = 1) {
            publisher.publish(indices.map { FamilySnapshot(descriptors[$0], series: [.scalar(value, ["v"])]) })
        }
        let cache = FamilyEncodingCache()
        publish([0, 1, 2, 3, 4, 5])
        _ = Self.write(registry.gather(), format, reusing: cache)
        // One family gone, one back later; the others keep their storage.
        publish([0, 2, 3, 4, 5])
        #expect(Self.write(registry.gather(), format, reusing: cache) == Self.write(registry.gather(), format))
        #expect(cache.reusedCount == 5)
        publish([0, 1, 2, 3, 4, 5])
        #expect(Self.write(registry.gather(), format, reusing: cache) == Self.write(registry.gather(), format))
        #expect(cache.reusedCount == 10, "family_1 is new again and written")
        // Every value changes: nothing is copied.
        publish([0, 1, 2, 3, 4, 5], value: 2)
        #expect(Self.write(registry.gather(), format, reusing: cache) == Self.write(registry.gather(), format))
        #expect(cache.reusedCount == 10)
    }

    /// Random changes to live and published families, scrape after scrape: a cached write is
    /// always byte for byte a fresh one.
    @Test(arguments: formats)
    func cachedWritesEqualFreshWritesThroughRandomChanges(format: ExpositionFormat) throws {
        var random = SplitMix64(seed: 42)
        let registry = MetricRegistry()
        let counters = try (0..<4).map { try registry.counter("live_\($0)_total", help: "Live \($0).", labels: ["route"]) }
        let histogram = try registry.histogram("live_seconds", help: "Latency.", labels: ["route"], buckets: [0.01, 0.1, 1])
        let publisher = registry.makePublisher()
        let published = try (0..<8).map { try MetricDescriptor(name: "published_\($0)", help: "Published \($0).", type: .gauge, labelNames: ["id"]) }
        var values = Array(repeating: 0.0, count: published.count)
        let cache = FamilyEncodingCache()
        for _ in 0..<300 {
            switch random.next() % 5 {
            case 0: counters[Int(random.next() % 4)].increment(["/r\(random.next() % 3)"])
            case 1: histogram.observe(["/r\(random.next() % 3)"], Double(random.next() % 2000) / 1000)
            case 2: values[Int(random.next() % UInt64(values.count))] += 1
            case 3: counters[Int(random.next() % 4)].remove(["/r\(random.next() % 3)"])
            default: break
            }
            let present = published.indices.filter { _ in random.next() % 8 != 0 }
            publisher.publish(present.map { FamilySnapshot(published[$0], series: [.scalar(values[$0], ["x"]), .scalar(1, ["y"])]) })
            let cached = Self.write(registry.gather(), format, reusing: cache)
            #expect(cached == Self.write(registry.gather(), format))
        }
        #expect(cache.reusedCount > 300, "most families are copied most of the time")
    }

    @Test func aLiveFamilyKeepsItsSnapshotUntilItChanges() throws {
        let registry = MetricRegistry()
        let gauge = try registry.gauge("queue_depth", help: "Depth.", labels: ["queue"])
        gauge.set(["b"], to: 2)
        gauge.set(["a"], to: 1)
        let first = registry.gather()[0]
        #expect(first.series == [.scalar(1, ["a"]), .scalar(2, ["b"])], "sorted")
        #expect(registry.gather()[0].sharesStorage(with: first))
        gauge.set(["a"], to: 1)  // the same value: still a change as far as the family knows
        let second = registry.gather()[0]
        #expect(!second.sharesStorage(with: first) && second == first)
        gauge.remove(["b"])
        #expect(registry.gather()[0].series == [.scalar(1, ["a"])])
    }

    @Test func aPublisherKeepsAnEqualFamilyAsItWas() throws {
        let publisher = SnapshotPublisher()
        let a = try MetricDescriptor(name: "a", help: "A.", type: .gauge, labelNames: ["k"])
        let b = try MetricDescriptor(name: "b", help: "B.", type: .gauge)
        publisher.publish([FamilySnapshot(a, series: [.scalar(1, ["y"]), .scalar(2, ["x"])]), FamilySnapshot(b, series: [.scalar(3)])])
        let first = publisher.collect()
        // Equal values in new storage, and in another order: the publication keeps the old storage.
        publisher.publish([FamilySnapshot(b, series: [.scalar(3)]), FamilySnapshot(a, series: [.scalar(2, ["x"]), .scalar(1, ["y"])])])
        let second = publisher.collect()
        #expect(second[1].sharesStorage(with: first[0]) && second[0].sharesStorage(with: first[1]))
        publisher.publish([FamilySnapshot(a, series: [.scalar(2, ["x"]), .scalar(5, ["y"])])])
        let third = publisher.collect()
        #expect(third.count == 1 && !third[0].sharesStorage(with: first[0]))
        #expect(third[0].series == [.scalar(2, ["x"]), .scalar(5, ["y"])])
    }
}
