import Testing

@testable import Vitals

/// A collector whose rows did not change hands back the samples it made of them, and the
/// publication keeps the families it built from them: the same storage, pass after pass, which a
/// scrape then finds unchanged by an identity check. Rows that change, another server version, a
/// failure or a lost target make them anew.
@Suite struct PostgresMappedRowsTests {
    static func sameStorage(_ a: [SeriesSnapshot], _ b: [SeriesSnapshot]) -> Bool {
        a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
    }

    static func settings(maxConnections: String) -> PostgresRows {
        PostgresRows([
            ["name": "max_connections", "setting": maxConnections, "unit": "", "vartype": "integer"],
            ["name": "shared_buffers", "setting": "8192", "unit": "8kB", "vartype": "integer"],
        ])
    }

    static func fixture(maxConnections: String, startTime: String = "1700000000") -> PostgresFixtureSession {
        PostgresFixtureSession(rows: [
            "FROM pg_settings": settings(maxConnections: maxConnections),
            "pg_postmaster_start_time": PostgresRows([["start_time": startTime]]),
        ])
    }

    static let collectors: [any PostgresCollector] = [SettingsCollector(), PostmasterCollector()]

    /// One pass, with what the pass before mapped carried on in `context`, as the worker carries it.
    static func pass(_ session: PostgresFixtureSession, context: inout PostgresCollectionContext) -> PostgresPassResult {
        var result = PostgresPassResult()
        result.serverVersion = context.serverVersion
        PostgresTargetWorker.run(collectors, on: session, context: context, into: &result)
        for collector in collectors { context.mappedRows[collector.name] = result.outcomes[collector.name]?.mappedRows }
        return result
    }

    static func family(_ name: String, in families: [FamilySnapshot]) throws -> FamilySnapshot {
        try #require(families.first { $0.descriptor.name == name })
    }

    @Test func theSameRowsGiveTheSameSamplesAndFamilies() throws {
        var context = PostgresMappingTests.pg15
        var publication = PostgresPublication(target: nil, enabled: [.postmaster, .settings])
        publication.apply(Self.pass(Self.fixture(maxConnections: "100"), context: &context), isFast: false)
        let first = publication.snapshot()
        let second = Self.pass(Self.fixture(maxConnections: "100"), context: &context)
        #expect(second.outcomes[.settings]?.mappedRows != nil)
        publication.apply(second, isFast: false)
        let again = publication.snapshot()

        // Everything but how long the collectors took.
        let timed = "pg_scrape_collector_duration_seconds"
        #expect(again.filter { $0.descriptor.name != timed } == first.filter { $0.descriptor.name != timed })
        for name in ["pg_settings_max_connections", "pg_settings_shared_buffers_bytes", "pg_postmaster_start_time_seconds"] {
            #expect(Self.sameStorage(try Self.family(name, in: first).series, try Self.family(name, in: again).series), "\(name) built again")
        }
    }

    @Test func changedRowsAreMappedAgainAndOnlyTheirCollectorsFamiliesRebuilt() throws {
        var context = PostgresMappingTests.pg15
        var publication = PostgresPublication(target: "db:5432/app", enabled: [.postmaster, .settings])
        publication.apply(Self.pass(Self.fixture(maxConnections: "100"), context: &context), isFast: false)
        let first = publication.snapshot()
        publication.apply(Self.pass(Self.fixture(maxConnections: "100", startTime: "1800000000"), context: &context), isFast: false)
        let second = publication.snapshot()

        let metrics = ScrapedMetrics(postgresExposition(second))
        #expect(metrics.sum("pg_postmaster_start_time_seconds") == 1_800_000_000)
        #expect(metrics.values("pg_postmaster_start_time_seconds").first?.labels["target"] == "db:5432/app")
        #expect(metrics.sum("pg_settings_max_connections") == 100)
        #expect(
            Self.sameStorage(
                try Self.family("pg_settings_max_connections", in: first).series, try Self.family("pg_settings_max_connections", in: second).series),
            "the settings' rows did not change")

        publication.apply(Self.pass(Self.fixture(maxConnections: "200", startTime: "1800000000"), context: &context), isFast: false)
        let third = ScrapedMetrics(postgresExposition(publication.snapshot()))
        #expect(third.sum("pg_settings_max_connections") == 200)
        #expect(third.sum("pg_postmaster_start_time_seconds") == 1_800_000_000)
    }

    @Test func anotherServerVersionMapsAgain() {
        var rows = PostgresMetricSink()
        rows.add(.gauge("pg_marker", "A sample the mapping did not make."), 1)
        let previous = PostgresMappedRows(rows: [Self.settings(maxConnections: "100")], serverVersion: 140_000, metrics: rows)
        var context = PostgresMappingTests.pg15
        context.mappedRows[.settings] = previous
        var output = PostgresCollectorOutput()
        output.map([Self.settings(maxConnections: "100")], of: .settings, context: context) { SettingsCollector.map($0[0], into: &$1) }
        #expect(output.metrics != rows)
        #expect(PostgresMappingTests.samples(output.metrics)["pg_settings_max_connections"] == 100)
        #expect(output.mappedRows?.serverVersion == 150_004)

        // The same version: the samples handed back are those the last pass made, mapping or not.
        context.mappedRows[.settings] = PostgresMappedRows(rows: [Self.settings(maxConnections: "100")], serverVersion: 150_004, metrics: rows)
        var reused = PostgresCollectorOutput()
        reused.map([Self.settings(maxConnections: "100")], of: .settings, context: context) { SettingsCollector.map($0[0], into: &$1) }
        #expect(reused.metrics == rows)
    }

    @Test func aFailedCollectorLosesWhatItMappedAndAFailedPassDropsTheFamilies() throws {
        var context = PostgresMappingTests.pg15
        var publication = PostgresPublication(target: nil, enabled: [.postmaster, .settings])
        publication.apply(Self.pass(Self.fixture(maxConnections: "100"), context: &context), isFast: false)

        var failing = Self.fixture(maxConnections: "100")
        failing.failures["FROM pg_settings"] = PostgresError(.permission, sqlState: "42501")
        publication.apply(Self.pass(failing, context: &context), isFast: false)
        #expect(context.mappedRows[.settings] == nil)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).values("pg_settings_max_connections").isEmpty)

        publication.apply(Self.pass(Self.fixture(maxConnections: "100"), context: &context), isFast: false)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).sum("pg_settings_max_connections") == 100)

        var down = PostgresPassResult()
        down.connectionError = PostgresError(.connect, detail: "refused")
        publication.apply(down, isFast: true)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).values("pg_settings_max_connections").isEmpty)
        // Back up with the same rows: the samples are reused, the families built again.
        publication.apply(Self.pass(Self.fixture(maxConnections: "100"), context: &context), isFast: false)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).sum("pg_settings_max_connections") == 100)
    }

    @Test func rowsCompareByColumnsAndValues() {
        #expect(Self.settings(maxConnections: "100") == Self.settings(maxConnections: "100"))
        #expect(Self.settings(maxConnections: "100") != Self.settings(maxConnections: "101"))
        #expect(PostgresRows(columns: ["a"], values: [["1"]]) != PostgresRows(columns: ["b"], values: [["1"]]))
        #expect(PostgresRows(columns: ["a"], values: [[nil]]) != PostgresRows(columns: ["a"], values: [[""]]))
    }

    @Test func noTwoCollectorsShareAFamilyName() {
        // The publication joins each collector's families without merging them.
        var owner: [String: String] = [:]
        let collectors = PostgresSource.collectors(.fast, disabled: []) + PostgresSource.collectors(.slow, disabled: [])
        let named = collectors.map { ($0.name.rawValue, $0.metrics) } + [("stat_user_tables", StatUserTablesCollector.metrics), ("publication", PostgresPublication.metrics)]
        for (collector, metrics) in named {
            for metric in metrics {
                #expect(owner[metric.name] == nil, "\(metric.name) in \(collector) and \(owner[metric.name] ?? "")")
                owner[metric.name] = collector
            }
        }
        #expect(owner.count > 50)
        #expect(!owner.keys.contains { $0.hasPrefix("pg_settings_") }, "settings families are named by the server, and only the settings collector makes them")
    }
}
