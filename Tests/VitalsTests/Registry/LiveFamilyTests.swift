import Testing

@testable import Vitals

/// A live family keeps the sorted series it last gave until one of them changes (``LiveSeries``).
@Suite struct LiveFamilyTests {
    private static func storage(_ family: FamilySnapshot) -> UnsafeRawPointer? {
        family.series.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
    }

    private static func values(_ family: FamilySnapshot) -> [String: Double] {
        var values: [String: Double] = [:]
        for series in family.series {
            if case .scalar(let value) = series.value { values[series.labelValues.joined(separator: ",")] = value }
        }
        return values
    }

    @Test func aCounterGivesItsSeriesSortedAndTheSameUntilOneChanges() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.", labels: ["kind", "queue"])
        for kind in ["send", "build", "resize", "archive"] { counter.increment([kind, "main"]) }
        counter.increment(["build", "bulk"], by: 2)
        let first = counter.snapshot()
        #expect(first.series.map(\.labelValues) == [["archive", "main"], ["build", "bulk"], ["build", "main"], ["resize", "main"], ["send", "main"]])
        let again = counter.snapshot()
        #expect(Self.storage(again) == Self.storage(first))

        // An initialise of a series that exists changes nothing; every other call takes a new snapshot.
        counter.initialize(["send", "main"])
        #expect(Self.storage(counter.snapshot()) == Self.storage(first))
        counter.increment(["send", "main"], by: 3)
        #expect(Self.values(counter.snapshot())["send,main"] == 4)
        counter.initialize(["abandoned", "main"])
        #expect(counter.snapshot().series.first?.labelValues == ["abandoned", "main"])
        counter.remove(["build", "bulk"])
        #expect(Self.values(counter.snapshot())["build,bulk"] == nil)
        #expect(Self.values(counter.snapshot()).count == 5)
        // Removing what is not there keeps the snapshot.
        let kept = counter.snapshot()
        counter.remove(["missing", "main"])
        #expect(Self.storage(counter.snapshot()) == Self.storage(kept))
    }

    @Test func aGaugeAndAHistogramTakeANewSnapshotAfterEachChange() throws {
        let registry = MetricRegistry()
        let gauge = try registry.gauge("queue_depth", help: "Depth.", labels: ["queue"])
        gauge.set(["b"], to: 4)
        gauge.add(["a"], 2)
        let before = gauge.snapshot()
        #expect(Self.values(before) == ["a": 2, "b": 4])
        gauge.add(["b"], -1)
        #expect(Self.values(gauge.snapshot()) == ["a": 2, "b": 3])
        gauge.set(["a"], to: 0)
        #expect(Self.values(gauge.snapshot()) == ["a": 0, "b": 3])

        let histogram = try registry.histogram("wait_seconds", help: "Waits.", labels: ["route"], buckets: [0.1, 1])
        histogram.observe(["/b"], 0.05)
        var batch = histogram.makeAccumulator()
        batch.observe(0.5)
        batch.observe(2)
        histogram.merge([(["/a"], batch), (["/b"], batch)])
        let taken = histogram.snapshot()
        #expect(taken.series.map(\.labelValues) == [["/a"], ["/b"]])
        #expect(Self.storage(histogram.snapshot()) == Self.storage(taken))
        histogram.observe(["/a"], 0.01)
        guard case .histogram(let counts, _, let count, _) = histogram.snapshot().series[0].value else {
            Issue.record("not a histogram")
            return
        }
        #expect(counts == [1, 1])
        #expect(count == 3)
        // The snapshot taken before is a value: the change did not reach it.
        guard case .histogram(let before, _, _, _) = taken.series[0].value else { return }
        #expect(before == [0, 1])
    }

    @Test func aGatherTakesLiveFamiliesInOrderAndMergesThemWithAPublisher() throws {
        let registry = MetricRegistry()
        let counter = try registry.counter("jobs_total", help: "Jobs.", labels: ["kind"])
        counter.increment(["c"])
        counter.increment(["a"])
        let publisher = registry.makePublisher()
        publisher.publish([FamilySnapshot(counter.descriptor, series: [.scalar(9, ["b"]), .scalar(5, ["a"])])])
        let gathered = registry.gather()
        #expect(gathered.count == 1)
        // The live family came first in the gather, so it wins the duplicate "a".
        #expect(gathered[0].series == [.scalar(1, ["a"]), .scalar(9, ["b"]), .scalar(1, ["c"])])
    }

    @Test func seriesAreEqualOnlyWithEqualValuesAndLabels() {
        #expect(SeriesSnapshot.scalar(1, ["a"]) == .scalar(1, ["a"]))
        #expect(SeriesSnapshot.scalar(1, ["a"]) != .scalar(2, ["a"]))
        #expect(SeriesSnapshot.scalar(1, ["a"]) != .scalar(1, ["b"]))
        #expect(SeriesSnapshot.scalar(.nan, ["a"]) != .scalar(.nan, ["a"]))
        let histogram = SeriesSnapshot(labelValues: ["a"], value: .histogram(bucketCounts: [1], sum: 1, count: 1))
        #expect(histogram != .scalar(1, ["a"]))
        #expect(Set([SeriesSnapshot.scalar(1, ["a"]), .scalar(1, ["a"]), .scalar(1, ["b"])]).count == 2)
    }

    /// Each case's payload compared field by field (the scrape's own `==`, not the synthesized one).
    @Test func valuesAreEqualOnlyInTheSameCaseWithEveryFieldEqual() throws {
        typealias Value = SeriesSnapshot.Value
        let histogram = Value.histogram(bucketCounts: [1, 2], sum: 3, count: 4)
        #expect(histogram == .histogram(bucketCounts: [1, 2], sum: 3, count: 4))
        #expect(histogram != .histogram(bucketCounts: [1, 3], sum: 3, count: 4))
        #expect(histogram != .histogram(bucketCounts: [1, 2], sum: 3.5, count: 4))
        #expect(histogram != .histogram(bucketCounts: [1, 2], sum: 3, count: 5))
        var native = NativeHistogramBuckets(try NativeHistogramOptions(schema: 3))
        native.observe(0.25)
        #expect(histogram != .histogram(bucketCounts: [1, 2], sum: 3, count: 4, native: native))
        let summary = Value.summary(quantiles: [SummaryQuantile(0.5, 1)], sum: 3, count: 4)
        #expect(summary == .summary(quantiles: [SummaryQuantile(0.5, 1)], sum: 3, count: 4))
        #expect(summary != .summary(quantiles: [SummaryQuantile(0.9, 1)], sum: 3, count: 4))
        #expect(summary != .summary(quantiles: [SummaryQuantile(0.5, 1)], sum: 3, count: 3))
        #expect(summary != histogram && Value.scalar(3) != summary && Value.scalar(3) == .scalar(3))
    }

    /// Families compare series by series: equal in other storage, unequal at any series or in the
    /// descriptor; the same storage is equal at once.
    @Test func familiesAreEqualOnlyWithEqualDescriptorsAndSeries() throws {
        let descriptor = try MetricDescriptor(name: "f", help: "H.", type: .gauge, labelNames: ["k"])
        let series = (0..<50).map { SeriesSnapshot.scalar(Double($0), ["\($0)"]) }
        let family = FamilySnapshot(descriptor, series: series)
        #expect(family == FamilySnapshot(descriptor, series: series.map { $0 }))
        #expect(family == FamilySnapshot(try MetricDescriptor(name: "f", help: "H.", type: .gauge, labelNames: ["k"]), series: series))
        #expect(family != FamilySnapshot(try MetricDescriptor(name: "f", help: "Other.", type: .gauge, labelNames: ["k"]), series: series))
        var last = series
        last[49] = .scalar(0, ["49"])
        #expect(family != FamilySnapshot(descriptor, series: last))
        #expect(family != FamilySnapshot(descriptor, series: Array(series.dropLast())))
        #expect(FamilySnapshot(descriptor) == FamilySnapshot(descriptor, series: []))
        let notANumber = FamilySnapshot(descriptor, series: [.scalar(.nan, ["x"])])
        #expect(notANumber == notANumber, "the same storage")
        #expect(notANumber != FamilySnapshot(descriptor, series: [.scalar(.nan, ["x"])]))
    }
}
