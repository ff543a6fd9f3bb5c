import Testing

@testable import Vitals

@Suite struct MetricRegistryTests {
    @Test func registeringTheSameFamilyTwiceSharesIt() throws {
        let registry = MetricRegistry()
        let a = try registry.counter("jobs_total", help: "Jobs.", labels: ["kind"])
        let b = try registry.counter("jobs_total", help: "Jobs.", labels: ["kind"])
        a.increment(["x"])
        b.increment(["x"], by: 2)
        #expect(a.value(["x"]) == 3)
    }

    @Test func conflictingRegistrationIsAnErrorNotACrash() throws {
        let registry = MetricRegistry()
        _ = try registry.counter("jobs_total", help: "Jobs.", labels: ["kind"])
        #expect(throws: RegistryError.self) { try registry.gauge("jobs_total", help: "Jobs.", labels: ["kind"]) }
        #expect(throws: RegistryError.self) { try registry.counter("jobs_total", help: "Other help.", labels: ["kind"]) }
    }

    @Test(arguments: ["", "1abc", "a-b", "a b", "é"])
    func invalidMetricNamesAreRejected(name: String) {
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: name, help: "", type: .gauge) }
    }

    @Test func invalidLabelNamesAreRejected() {
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: "x", help: "", type: .gauge, labelNames: ["__reserved"]) }
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: "x", help: "", type: .gauge, labelNames: ["a", "a"]) }
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: "x", help: "", type: .gauge, labelNames: ["a:b"]) }
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: "h", help: "", type: .histogram, labelNames: ["le"], buckets: [1]) }
        #expect(throws: RegistryError.self) { try MetricDescriptor(name: "h", help: "", type: .histogram, buckets: [2, 1]) }
    }

    @Test func publishedSnapshotsReplaceTheirPredecessorAndDropVanishedSeries() throws {
        let registry = MetricRegistry()
        let publisher = registry.makePublisher()
        let descriptor = try MetricDescriptor(name: "pg_stat_database_xact_commit_total", help: "Commits.", type: .counter, labelNames: ["datname"])
        publisher.publish([FamilySnapshot(descriptor, series: [.scalar(100, ["app"]), .scalar(7, ["old"])])])
        publisher.publish([FamilySnapshot(descriptor, series: [.scalar(150, ["app"])])])
        let families = registry.gather()
        #expect(families.count == 1)
        #expect(families[0].series == [.scalar(150, ["app"])])
    }

    @Test func gatheringOnlySomeFamiliesGivesExactlyThoseAsAWholeGatherHasThem() throws {
        let registry = MetricRegistry()
        try registry.gauge("redis_up", help: "Up.").set(to: 1)
        try registry.gauge("unread_live", help: "Not asked for.").set(to: 2)
        let publisher = registry.makePublisher()
        let asked = try MetricDescriptor(name: "pg_index_unused", help: "Unused.", type: .gauge, labelNames: ["indexrelname"])
        let other = try MetricDescriptor(name: "pg_settings_work_mem_bytes", help: "Setting.", type: .gauge)
        publisher.publish([FamilySnapshot(asked, series: [.scalar(1, ["b"]), .scalar(0, ["a"])]), FamilySnapshot(other, series: [.scalar(4096, [])])])
        let some = registry.gather(only: ["redis_up", "pg_index_unused", "absent"])
        #expect(some.map(\.descriptor.name) == ["pg_index_unused", "redis_up"])
        #expect(some == registry.gather().filter { ["redis_up", "pg_index_unused"].contains($0.descriptor.name) })
        // The findings' frame reads only its own families: gathering those alone loses nothing.
        let frame = MetricFrame.gathered(from: registry, time: 1)
        let whole = MetricFrame(families: registry.gather(), time: 1)
        #expect(frame.scalars == whole.scalars)
        #expect(frame.scalars("pg_index_unused").count == 2)
    }

    @Test func aGatherOfSomeFamiliesAsksOnlyTheCollectorsThatMayHaveThem() throws {
        final class Counting: MetricCollector, @unchecked Sendable {
            let family: FamilySnapshot
            let familyNames: Set<String>?
            var asked = 0
            init(_ name: String, declared: Bool) throws {
                family = FamilySnapshot(try MetricDescriptor(name: name, help: "Test.", type: .gauge), series: [.scalar(1)])
                familyNames = declared ? [name] : nil
            }
            func collect() -> [FamilySnapshot] {
                asked += 1
                return [family]
            }
        }
        let registry = MetricRegistry()
        let process = try Counting("process_open_fds", declared: true)
        let undeclared = try Counting("anything_at_all", declared: false)
        registry.register(collector: process)
        registry.register(collector: undeclared)
        #expect(registry.gather(only: ["redis_up"]).isEmpty)
        #expect(process.asked == 0 && undeclared.asked == 1)
        #expect(registry.gather(only: ["process_open_fds"]).map(\.descriptor.name) == ["process_open_fds"])
        #expect(process.asked == 1 && undeclared.asked == 2)
        #expect(registry.gather().count == 2)
        #expect(process.asked == 2)
    }

    /// A collector that declares its names must declare every family it returns, or a frame would miss one.
    @Test func collectorsDeclareEveryFamilyTheyReturn() {
        let board = SourceHealthBoard()
        _ = board.makeStatus(source: "postgres")
        let collectors: [any MetricCollector] = [ProcessCollector(), BuildInfoCollector(), LogDropsCollector(), board]
        for collector in collectors {
            let names = Set(collector.collect().map(\.descriptor.name))
            #expect(!names.isEmpty)
            #expect(collector.familyNames.map { names.isSubset(of: $0) } == true, "\(type(of: collector)): \(names)")
        }
    }

    /// A publication is put in order when published, and a gather takes it as it is; merged with
    /// a live family of the same name it is sorted again, and the live family's series win.
    @Test func aPublicationIsExposedSortedAndUniqueAloneOrMerged() throws {
        let registry = MetricRegistry()
        let publisher = registry.makePublisher()
        let alone = try MetricDescriptor(name: "pg_locks_count", help: "Locks.", type: .gauge, labelNames: ["datname", "mode"])
        publisher.publish([
            FamilySnapshot(alone, series: [.scalar(3, ["b", "x"]), .scalar(1, ["a", "y"]), .scalar(9, ["b", "x"]), .scalar(2, ["a", "x"])])
        ])
        #expect(publisher.collect()[0].series == [.scalar(2, ["a", "x"]), .scalar(1, ["a", "y"]), .scalar(3, ["b", "x"])])
        #expect(registry.gather()[0].series == [.scalar(2, ["a", "x"]), .scalar(1, ["a", "y"]), .scalar(3, ["b", "x"])])

        let live = try registry.gauge("pg_shared", help: "Shared.", labels: ["datname"])
        live.set(["c"], to: 5)
        live.set(["b"], to: 6)
        publisher.publish([
            FamilySnapshot(live.descriptor, series: [.scalar(8, ["c"]), .scalar(7, ["a"])]), FamilySnapshot(alone, series: []),
        ])
        let shared = try #require(registry.gather().first { $0.descriptor.name == "pg_shared" })
        #expect(shared.series == [.scalar(7, ["a"]), .scalar(6, ["b"]), .scalar(5, ["c"])])
    }

    @Test func seriesFromSeveralPublishersMergeAndDuplicatesAreDropped() throws {
        let registry = MetricRegistry()
        let descriptor = try MetricDescriptor(name: "pg_up", help: "Up.", type: .gauge, labelNames: ["target"])
        let one = registry.makePublisher()
        let two = registry.makePublisher()
        one.publish([FamilySnapshot(descriptor, series: [.scalar(1, ["b"])])])
        two.publish([FamilySnapshot(descriptor, series: [.scalar(0, ["a"]), .scalar(1, ["b"])])])
        let families = registry.gather()
        #expect(families.map(\.descriptor.name) == ["pg_up"])
        #expect(families[0].series.map(\.labelValues) == [["a"], ["b"]])
    }

    @Test func aConflictingPublishedFamilyIsLeftOutAndCounted() throws {
        let registry = MetricRegistry()
        let live = try registry.gauge("thing", help: "A gauge.")
        live.set(to: 1)
        let publisher = registry.makePublisher()
        publisher.publish([FamilySnapshot(try MetricDescriptor(name: "thing", help: "A counter.", type: .counter), series: [.scalar(5)])])
        let families = registry.gather()
        #expect(families.count == 1)
        #expect(families[0].descriptor.type == .gauge)
        #expect(registry.conflictCount == 1)
    }

    /// Several sources publish families in their own order: a gather sorts them by name, merges
    /// the families of one name, and of two conflicting descriptors keeps the first source's.
    @Test func gatherSortsFamiliesByNameAndTheFirstSourceDecidesADescriptor() throws {
        let registry = MetricRegistry()
        let keys = try MetricDescriptor(name: "redis_db_keys", help: "Keys.", type: .gauge, labelNames: ["db"])
        let up = try MetricDescriptor(name: "pg_up", help: "Up.", type: .gauge)
        let size = try MetricDescriptor(name: "pg_database_size_bytes", help: "Size.", type: .gauge, labelNames: ["datname"])
        let conflictingSize = try MetricDescriptor(name: "pg_database_size_bytes", help: "Size.", type: .counter, labelNames: ["datname"])
        let first = registry.makePublisher()
        let second = registry.makePublisher()
        let live = try registry.counter("vitals_build_total", help: "Builds.")
        live.increment()
        first.publish([FamilySnapshot(keys, series: [.scalar(2, ["db1"])]), FamilySnapshot(up, series: [.scalar(1)]),
                       FamilySnapshot(size, series: [.scalar(10, ["b"])])])
        second.publish([FamilySnapshot(conflictingSize, series: [.scalar(99, ["a"])]), FamilySnapshot(keys, series: [.scalar(5, ["db0"]), .scalar(7, ["db1"])])])

        let families = registry.gather()
        #expect(families.map(\.descriptor.name) == ["pg_database_size_bytes", "pg_up", "redis_db_keys", "vitals_build_total"])
        #expect(families[0].descriptor.type == .gauge)
        #expect(families[0].series == [.scalar(10, ["b"])])
        #expect(families[2].series == [.scalar(5, ["db0"]), .scalar(2, ["db1"])], "merged, sorted, the first source's duplicate kept")
        #expect(registry.conflictCount == 1)
        #expect(registry.gather(only: ["redis_db_keys", "pg_up"]).map(\.descriptor.name) == ["pg_up", "redis_db_keys"])
    }

    /// The order by name is kept from one gather to the next while the same families come: a
    /// family added, gone or renamed in between is sorted into place again.
    @Test func aGatherAfterTheFamiliesChangedIsSortedAgain() throws {
        let registry = MetricRegistry()
        let publisher = registry.makePublisher()
        func family(_ name: String) throws -> FamilySnapshot {
            FamilySnapshot(try MetricDescriptor(name: name, help: "Help.", type: .gauge), series: [.scalar(1)])
        }
        try publisher.publish([family("c_total"), family("a_total")])
        #expect(registry.gather().map(\.descriptor.name) == ["a_total", "c_total"])
        #expect(registry.gather().map(\.descriptor.name) == ["a_total", "c_total"])
        try publisher.publish([family("c_total"), family("b_total"), family("a_total")])
        #expect(registry.gather().map(\.descriptor.name) == ["a_total", "b_total", "c_total"])
        try publisher.publish([family("c_total"), family("_0_total")])
        #expect(registry.gather().map(\.descriptor.name) == ["_0_total", "c_total"])
        #expect(registry.gather(only: ["c_total", "_0_total"]).map(\.descriptor.name) == ["_0_total", "c_total"])
        try publisher.publish([family("b_total"), family("c_total")])
        #expect(registry.gather(only: ["c_total", "b_total"]).map(\.descriptor.name) == ["b_total", "c_total"])
        #expect(registry.gather().map(\.descriptor.name) == ["b_total", "c_total"])
    }

    /// Rows that feed many families in turn (a statement's counters; four, fewer than the builder
    /// keeps at hand, and twelve, more): every sample reaches its family, repeats merge, and a
    /// conflicting descriptor is refused whether its family was the last sample's or an earlier one.
    @Test(arguments: [4, 12])
    func snapshotBuilderFindsEveryFamilyWhenRowsInterleaveMany(count: Int) throws {
        let descriptors = try (0..<count).map { try MetricDescriptor(name: "family_\($0)", help: "Family \($0).", type: .gauge, labelNames: ["row"]) }
        var builder = SnapshotBuilder()
        for row in ["r2", "r0", "r1", "r0"] {
            for (index, descriptor) in descriptors.enumerated() {
                builder.add(descriptor, value: Double(index) + (row == "r0" ? 0.5 : 0), labels: [row])
            }
        }
        let lastConflict = try MetricDescriptor(name: "family_\(count - 1)", help: "Other.", type: .gauge, labelNames: ["row"])
        let earlierConflict = try MetricDescriptor(name: "family_0", help: "Other.", type: .gauge, labelNames: ["row"])
        builder.add(lastConflict, value: 1, labels: ["r9"])
        builder.add(earlierConflict, value: 1, labels: ["r9"])
        // Equal to a family's descriptor but made apart (not a copy of it): the same family.
        let madeApart = try MetricDescriptor(name: "family_0", help: "Family 0.", type: .gauge, labelNames: ["row"])
        builder.add(madeApart, value: 7, labels: ["r3"])
        builder.add(descriptors[0], value: 8, labels: ["r4"])
        let families = builder.build()
        #expect(families.map(\.descriptor.name) == descriptors.map(\.name))
        for (index, family) in families.enumerated() {
            let added: [SeriesSnapshot] = index == 0 ? [.scalar(7, ["r3"]), .scalar(8, ["r4"])] : []
            #expect(family.series == [.scalar(Double(index) + 0.5, ["r0"]), .scalar(Double(index), ["r1"]), .scalar(Double(index), ["r2"])] + added)
        }
        #expect(builder.errors.map(\.code) == [.conflictingDescriptor, .conflictingDescriptor])
    }

    @Test func snapshotBuilderMergesRepeatedSamples() throws {
        let descriptor = try MetricDescriptor(name: "redis_db_keys", help: "Keys.", type: .gauge, labelNames: ["db"])
        var builder = SnapshotBuilder()
        builder.add(descriptor, value: 1, labels: ["db0"])
        builder.add(descriptor, value: 2, labels: ["db0"])
        builder.add(descriptor, value: 3, labels: ["db1", "extra"])
        let families = builder.build()
        #expect(families[0].series == [.scalar(2, ["db0"])])
        #expect(builder.errors.map(\.code) == [.labelCountMismatch])
    }

    /// Out of order and repeated: the family comes out sorted by labels, each series once, with
    /// its last value, and a publisher takes it without sorting again.
    @Test func snapshotBuilderSortsAndKeepsTheLastOfRepeatedSamples() throws {
        let descriptor = try MetricDescriptor(name: "pg_locks_count", help: "Locks.", type: .gauge, labelNames: ["datname", "mode"])
        let other = try MetricDescriptor(name: "pg_up", help: "Up.", type: .gauge)
        var builder = SnapshotBuilder()
        builder.add(descriptor, value: 1, labels: ["b", "x"])
        builder.add(descriptor, value: 2, labels: ["a", "y"])
        builder.add(other, value: 1)
        builder.add(descriptor, value: 3, labels: ["b", "x"])
        builder.add(descriptor, value: 4, labels: ["a", "x"])
        let families = builder.build()
        #expect(families.map(\.descriptor.name) == ["pg_locks_count", "pg_up"], "declaration order")
        #expect(families[0].series == [.scalar(4, ["a", "x"]), .scalar(2, ["a", "y"]), .scalar(3, ["b", "x"])])
        #expect(MetricRegistry.sortedUnique(families[0].series) == families[0].series)
    }

    @Test func snapshotBuilderAbsorbsWholeFamiliesAndStillMergesLaterSamples() throws {
        let keys = try MetricDescriptor(name: "redis_db_keys", help: "Keys.", type: .gauge, labelNames: ["db"])
        let other = try MetricDescriptor(name: "redis_db_keys", help: "Other help.", type: .gauge, labelNames: ["db"])
        var previous = SnapshotBuilder()
        previous.add(keys, value: 1, labels: ["db0"])
        previous.add(keys, value: 2, labels: ["db1"])

        var builder = SnapshotBuilder()
        for family in previous.build() { builder.absorb(family) }
        // A sample added after the family was absorbed whole replaces the series it names.
        builder.add(keys, value: 5, labels: ["db1"])
        builder.add(keys, value: 7, labels: ["db2"])
        // Absorbing the same family again merges series by series; a conflicting descriptor is refused.
        builder.absorb(FamilySnapshot(keys, series: [.scalar(9, ["db0"])]))
        builder.absorb(FamilySnapshot(other, series: [.scalar(3, ["db3"])]))
        let families = builder.build()
        #expect(families.count == 1)
        #expect(families[0].series == [.scalar(9, ["db0"]), .scalar(5, ["db1"]), .scalar(7, ["db2"])])
        #expect(builder.errors.map(\.code) == [.conflictingDescriptor])
    }

    @Test func gatheredSeriesAreSortedAndUniqueWhateverOrderTheyArriveIn() {
        let inOrder: [SeriesSnapshot] = [.scalar(1, ["a", "x"]), .scalar(2, ["a", "y"]), .scalar(3, ["b", "x"])]
        #expect(MetricRegistry.sortedUnique(inOrder) == inOrder)
        // Out of order, and a duplicate whose first occurrence wins.
        let shuffled: [SeriesSnapshot] = [.scalar(3, ["b", "x"]), .scalar(1, ["a", "x"]), .scalar(9, ["b", "x"]), .scalar(2, ["a", "y"])]
        #expect(MetricRegistry.sortedUnique(shuffled) == inOrder)
        // In order but with a repeat: not strictly increasing, so still de-duplicated.
        let repeated: [SeriesSnapshot] = [.scalar(1, ["a", "x"]), .scalar(7, ["a", "x"]), .scalar(2, ["a", "y"]), .scalar(3, ["b", "x"])]
        #expect(MetricRegistry.sortedUnique(repeated) == inOrder)
    }

    @Test func histogramAccumulatorBucketsByUpperBoundInclusive() {
        var histogram = HistogramAccumulator(buckets: [0.1, 0.2, 0.5])
        for value in [0.05, 0.1, 0.1000001, 0.2, 0.7, 3] { histogram.observe(value) }
        #expect(histogram.bucketCounts == [2, 2, 0])
        #expect(histogram.count == 6)
        #expect(abs(histogram.sum - 4.1500001) < 1e-9)
    }

    @Test func histogramMergeAddsCounts() throws {
        let registry = MetricRegistry()
        let family = try registry.histogram("d_seconds", help: "D.", labels: ["r"], buckets: [1, 2])
        var a = family.makeAccumulator()
        a.observe(0.5)
        family.merge(["x"], a)
        family.merge(["x"], a)
        family.observe(["x"], 1.5)
        let merged = try #require(family.accumulator(["x"]))
        #expect(merged.bucketCounts == [2, 1])
        #expect(merged.count == 3)
    }
}
