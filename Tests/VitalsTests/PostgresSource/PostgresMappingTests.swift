import Foundation
import Testing

@testable import Vitals

/// Pure tests: rows as each server version returns them → metrics, with no server.
@Suite struct PostgresMappingTests {
    static let pg13 = PostgresCollectionContext(serverVersion: 130_016)
    static let pg15 = PostgresCollectionContext(serverVersion: 150_004)
    static let pg17 = PostgresCollectionContext(serverVersion: 170_002)

    /// `name{labels}` → value, from a sink's families.
    static func samples(_ sink: PostgresMetricSink) -> [String: Double] {
        var result: [String: Double] = [:]
        for family in sink.build() {
            for series in family.series {
                guard case .scalar(let value) = series.value else { continue }
                let labels = zip(family.descriptor.labelNames, series.labelValues).map { "\($0)=\"\($1)\"" }.joined(separator: ",")
                result[labels.isEmpty ? family.descriptor.name : "\(family.descriptor.name){\(labels)}"] = value
            }
        }
        return result
    }

    static func types(_ sink: PostgresMetricSink) -> [String: MetricType] {
        Dictionary(uniqueKeysWithValues: sink.build().map { ($0.descriptor.name, $0.descriptor.type) })
    }

    // MARK: stat_database

    static let statDatabasePG13: [String: String?] = [
        "datid": "16384", "datname": "app", "numbackends": "3", "xact_commit": "100", "xact_rollback": "2", "blks_read": "10",
        "blks_hit": "990", "tup_returned": "5000", "tup_fetched": "400", "tup_inserted": "30", "tup_updated": "20", "tup_deleted": "1",
        "conflicts": "0", "temp_files": "1", "temp_bytes": "8192", "deadlocks": "0", "checksum_failures": nil, "checksum_last_failure": nil,
        "blk_read_time": "1.5", "blk_write_time": "0", "stats_reset": nil, "stats_reset_epoch": nil,
        "confl_tablespace": "0", "confl_lock": "0", "confl_snapshot": "0", "confl_bufferpin": "0", "confl_deadlock": "0",
    ]

    @Test func statDatabaseMapsPG13AndPG15Rows() {
        var pg15Row = Self.statDatabasePG13
        pg15Row["active_time"] = "2500.0"
        pg15Row["session_time"] = "9000.0"
        pg15Row["sessions"] = "12"
        pg15Row["stats_reset_epoch"] = "1700000000"
        let shared: [String: String?] = ["datid": "0", "datname": nil, "numbackends": "0", "xact_commit": "0"]

        var sink13 = PostgresMetricSink(target: nil)
        StatDatabaseCollector.map(PostgresRows([Self.statDatabasePG13, shared]), context: Self.pg13, into: &sink13)
        let pg13 = Self.samples(sink13)
        #expect(pg13["pg_stat_database_xact_commit{datid=\"16384\",datname=\"app\"}"] == 100)
        #expect(pg13["pg_stat_database_blks_hit{datid=\"16384\",datname=\"app\"}"] == 990)
        #expect(pg13["pg_stat_database_numbackends{datid=\"16384\",datname=\"app\"}"] == 3)
        #expect(pg13["pg_stat_database_stats_reset{datid=\"16384\",datname=\"app\"}"] == 0)
        #expect(pg13["pg_stat_database_conflicts_confl_lock{datid=\"16384\",datname=\"app\"}"] == 0)
        #expect(pg13.keys.allSatisfy { !$0.contains("datid=\"0\"") }, "the shared-objects row (no datname) is skipped")
        #expect(pg13.keys.allSatisfy { !$0.hasPrefix("pg_stat_database_active_time") })
        #expect(Self.types(sink13)["pg_stat_database_xact_commit"] == .counter)
        #expect(Self.types(sink13)["pg_stat_database_numbackends"] == .gauge)
        #expect(Self.types(sink13)["pg_stat_database_stats_reset"] == .gauge)

        var sink15 = PostgresMetricSink(target: nil)
        StatDatabaseCollector.map(PostgresRows([pg15Row]), context: Self.pg15, into: &sink15)
        let pg15 = Self.samples(sink15)
        #expect(pg15["pg_stat_database_active_time_seconds_total{datid=\"16384\",datname=\"app\"}"] == 2.5)
        #expect(pg15["pg_stat_database_stats_reset{datid=\"16384\",datname=\"app\"}"] == 1_700_000_000)
    }

    @Test func databaseFilterAndCapApplyToDatnameLabels() {
        var context = Self.pg15
        context.databases = PostgresDatabaseFilter(exclude: ["secret"], limit: 2)
        var rows: [[String: String?]] = []
        for (oid, name) in [("1", "a"), ("2", "b"), ("3", "c"), ("4", "secret")] {
            var row = Self.statDatabasePG13
            row["datid"] = oid
            row["datname"] = name
            rows.append(row)
        }
        var sink = PostgresMetricSink(target: nil)
        StatDatabaseCollector.map(PostgresRows(rows), context: context, into: &sink)
        let names = Set(Self.samples(sink).keys.compactMap { $0.firstMatch(of: #/datname="([^"]*)"/#).map { String($0.output.1) } })
        #expect(names == ["a", "b"])
    }

    // MARK: bgwriter / checkpointer

    static let bgwriterPre17: [String: String?] = [
        "checkpoints_timed": "10", "checkpoints_req": "2", "checkpoint_write_time": "1500", "checkpoint_sync_time": "20",
        "buffers_checkpoint": "300", "buffers_clean": "40", "maxwritten_clean": "1", "buffers_backend": "50",
        "buffers_backend_fsync": "0", "buffers_alloc": "900", "stats_reset": "2026-01-01 00:00:00+00", "stats_reset_epoch": "1767225600",
    ]

    @Test(arguments: [130_016, 150_004])
    func bgwriterBefore17ReadsOneView(version: Int) {
        var sink = PostgresMetricSink(target: nil)
        StatBgwriterCollector.map(bgwriter: PostgresRows([Self.bgwriterPre17]), checkpointer: nil, io: nil, into: &sink)
        let samples = Self.samples(sink)
        #expect(samples["pg_stat_bgwriter_checkpoints_timed_total"] == 10)
        #expect(samples["pg_stat_bgwriter_checkpoint_write_time_total"] == 1500)
        #expect(samples["pg_stat_bgwriter_buffers_backend_total"] == 50)
        #expect(samples["pg_stat_bgwriter_buffers_alloc_total"] == 900)
        #expect(samples["pg_stat_bgwriter_stats_reset_total"] == 1_767_225_600, "postgres_exporter's name")
        #expect(samples.keys.allSatisfy { !$0.hasPrefix("pg_stat_checkpointer") })
        #expect(Self.types(sink)["pg_stat_bgwriter_checkpoints_timed_total"] == .counter)
    }

    @Test func bgwriter17MapsCheckpointerAndIOUnderTheOldNames() {
        let bgwriter: [String: String?] = [
            "buffers_clean": "40", "maxwritten_clean": "1", "buffers_alloc": "900", "stats_reset": "x", "stats_reset_epoch": "1767225600",
        ]
        let checkpointer: [String: String?] = [
            "num_timed": "11", "num_requested": "3", "restartpoints_timed": "0", "restartpoints_req": "0", "restartpoints_done": "0",
            "write_time": "1600", "sync_time": "25", "buffers_written": "310", "stats_reset": "x", "stats_reset_epoch": "1767225700",
        ]
        let io: [String: String?] = ["buffers_backend": "55", "buffers_backend_fsync": "1"]
        var sink = PostgresMetricSink(target: nil)
        StatBgwriterCollector.map(
            bgwriter: PostgresRows([bgwriter]), checkpointer: PostgresRows([checkpointer]), io: PostgresRows([io]), into: &sink)
        let samples = Self.samples(sink)
        #expect(samples["pg_stat_bgwriter_checkpoints_timed_total"] == 11)
        #expect(samples["pg_stat_bgwriter_checkpoints_req_total"] == 3)
        #expect(samples["pg_stat_bgwriter_checkpoint_write_time_total"] == 1600)
        #expect(samples["pg_stat_bgwriter_checkpoint_sync_time_total"] == 25)
        #expect(samples["pg_stat_bgwriter_buffers_checkpoint_total"] == 310)
        #expect(samples["pg_stat_bgwriter_buffers_backend_total"] == 55)
        #expect(samples["pg_stat_bgwriter_buffers_backend_fsync_total"] == 1)
        #expect(samples["pg_stat_checkpointer_stats_reset_total"] == 1_767_225_700)
        #expect(samples["pg_stat_bgwriter_buffers_clean_total"] == 40)
        #expect(samples["pg_stat_checkpointer_num_timed_total"] == 11)
        #expect(samples["pg_stat_checkpointer_buffers_written_total"] == 310)
    }

    // MARK: pg_stat_statements

    @Test func statementsSQLFollowsTheColumnRenames() throws {
        let pg12 = StatStatementsCollector.sql(majorVersion: 12, limit: 100)
        let pg13 = StatStatementsCollector.sql(majorVersion: 13, limit: 100)
        let pg17 = StatStatementsCollector.sql(majorVersion: 17, limit: 5)
        #expect(pg12.contains("sum(total_time)"))
        #expect(pg13.contains("sum(total_exec_time)") && pg13.contains("sum(blk_read_time)"))
        #expect(pg17.contains("shared_blk_read_time + local_blk_read_time") && !pg17.contains("sum(blk_read_time)"))
        #expect(pg17.contains("LIMIT 5"))
        #expect(!pg17.contains("left(") && !pg17.contains("pg_stat_statements(true)"), "the ranking asks no text")
        let key = try #require(Self.statementKey([["userid": "10", "dbid": "16384", "queryid": "-42"]]))
        let texts = StatStatementsCollector.textsSQL([key], queryLength: 80)
        #expect(texts.contains("left(s.query, 80)") && texts.contains("unnest('{10}'::oid[], '{16384}'::oid[], '{-42}'::bigint[])"))
    }

    @Test func aKeyIsMadeOfNumbersOnly() {
        #expect(Self.statementKey([["userid": "10", "dbid": "5", "queryid": "-9223372036854775808"]]) != nil)
        #expect(Self.statementKey([["userid": "10", "dbid": "5", "queryid": "1); DROP TABLE t; --"]]) == nil)
        #expect(Self.statementKey([["userid": "-1", "dbid": "5", "queryid": "1"]]) == nil, "an oid is unsigned")
        #expect(Self.statementKey([["userid": "10", "queryid": "1"]]) == nil)
    }

    static func statementKey(_ row: [[String: String?]]) -> PostgresStatementTexts.Key? {
        PostgresStatementTexts.Key.keys(of: PostgresRows(row), limit: 1).first ?? nil
    }

    /// Maps statement rows that carry their text, as the two statements bring them apart.
    @discardableResult
    static func mapStatements(_ rows: [[String: String?]], context: PostgresCollectionContext = pg15, into sink: inout PostgresMetricSink) -> [PostgresStatementEntry] {
        let keyed = PostgresRows(rows.map { row in row.merging(["userid": "10", "dbid": "16384"]) { own, _ in own } })
        var texts = PostgresStatementTexts()
        texts.learn(keyed, queryLength: context.queryLength)
        let keys = PostgresStatementTexts.Key.keys(of: keyed, limit: context.statementsLimit)
        return StatStatementsCollector.map(keyed, keys: keys, texts: texts, context: context, into: &sink)
    }

    /// At rest the top statements stay the same: their texts are asked, sent and lexed once.
    @Test func aTextIsAskedOnceWhileItsStatementStaysOnTop() throws {
        func ranking(_ queryids: [String]) -> PostgresRows {
            PostgresRows(queryids.map { ["queryid": $0, "userid": "10", "dbid": "16384", "datname": "app", "user": "web", "calls": "2", "seconds": "1", "rows": "2"] })
        }
        let texts = PostgresRows([
            ["userid": "10", "dbid": "16384", "queryid": "1", "query": "SELECT * FROM users WHERE id = $1"],
            ["userid": "10", "dbid": "16384", "queryid": "2", "query": "UPDATE users SET seen = now()"],
            ["userid": "10", "dbid": "16384", "queryid": "3", "query": "SELECT count(*) FROM orders"],
        ])
        func pass(_ top: [String], after previous: PostgresStatementTexts) throws -> (asked: [String], output: PostgresCollectorOutput) {
            let session = CountingSession(PostgresFixtureSession(rows: [
                "pg_extension": PostgresRows([["installed": "1"]]), "pg_stat_statements(false)": ranking(top), "pg_stat_statements(true)": texts,
            ]))
            var context = Self.pg15
            context.statementTexts = previous
            var output = PostgresCollectorOutput()
            try StatStatementsCollector().collect(session, context: context, into: &output)
            return (session.asked.filter { $0.contains("pg_stat_statements(true)") }, output)
        }

        let first = try pass(["1", "2"], after: PostgresStatementTexts())
        #expect(first.asked.count == 1)
        #expect(first.asked.first?.contains("unnest('{10,10}'::oid[], '{16384,16384}'::oid[], '{1,2}'::bigint[])") == true)
        #expect(first.output.statements?.map(\.query) == ["SELECT * FROM users WHERE id = $1", "UPDATE users SET seen = now()"])
        #expect(Self.samples(first.output.metrics)["pg_stat_statements_single_row_lookup{queryid=\"1\",datname=\"app\",user=\"web\"}"] == 1)

        let atRest = try pass(["1", "2"], after: try #require(first.output.statementTexts))
        #expect(atRest.asked.isEmpty, "no text asked again")
        #expect(atRest.output.statements == first.output.statements)
        #expect(Self.samples(atRest.output.metrics) == Self.samples(first.output.metrics))

        let newcomer = try pass(["3", "1"], after: try #require(atRest.output.statementTexts))
        #expect(newcomer.asked.count == 1)
        #expect(newcomer.asked.first?.contains("'{3}'::bigint[]") == true, "only the new one")
        #expect(newcomer.output.statements?.map(\.query) == ["SELECT count(*) FROM orders", "SELECT * FROM users WHERE id = $1"])
        #expect(newcomer.output.statementTexts?.count == 2, "the text of a statement no longer on top is let go")
    }

    /// A texts statement names what it asks for: a pipeline that sent it again would ask for nothing new.
    @Test func aStatementAskedOnceIsNeverReplayed() throws {
        let live = CountingSession(PostgresFixtureSession())
        let session = PostgresReplaySession(live: live, plan: [], answers: [])
        _ = try session.query("SELECT 1")
        _ = try session.queryOnce("SELECT texts")
        #expect(live.asked == ["SELECT 1", "SELECT texts"])
        #expect(session.nextPlan == ["SELECT 1"])
    }

    @Test func statementsBecomeCountersAndEntriesWithoutQueryText() {
        let rows: [[String: String?]] = [
            ["queryid": "-123", "datname": "app", "user": "web", "calls": "4", "seconds": "2.0", "rows": "40",
             "block_read_seconds": "0.5", "block_write_seconds": nil, "query": "SELECT * FROM big WHERE note = $1"],
            ["queryid": "77", "datname": "other", "user": "web", "calls": "1", "seconds": "0.1", "rows": "1",
             "block_read_seconds": "0", "block_write_seconds": "0", "query": String(repeating: "x", count: 50)],
        ]
        var context = Self.pg15
        context.queryLength = 20
        var sink = PostgresMetricSink(target: nil)
        let entries = Self.mapStatements(rows, context: context, into: &sink)
        let samples = Self.samples(sink)
        let labels = "{queryid=\"-123\",datname=\"app\",user=\"web\"}"
        #expect(samples["pg_stat_statements_calls_total" + labels] == 4)
        #expect(samples["pg_stat_statements_seconds_total" + labels] == 2)
        #expect(samples["pg_stat_statements_rows_total" + labels] == 40)
        #expect(samples["pg_stat_statements_block_read_seconds_total" + labels] == 0.5)
        #expect(samples["pg_stat_statements_block_write_seconds_total" + labels] == 0)
        #expect(samples.keys.allSatisfy { !$0.contains("SELECT") })
        #expect(entries.count == 2)
        #expect(entries[0].meanSeconds == 0.5)
        #expect(entries[1].query.count == 20)
    }

    @Test func statementSamplesGoInLabelOrderWhileEntriesKeepTheServersOrder() {
        // By total time, as the server sends them; "-1" < "10" < "9" as label values.
        let rows: [[String: String?]] = [
            ["queryid": "9", "datname": "app", "user": "web", "calls": "9", "seconds": "3", "rows": "90", "query": "SELECT * FROM a WHERE id = $1"],
            ["queryid": "10", "datname": "app", "user": "web", "calls": "10", "seconds": "2", "rows": "100", "query": "UPDATE a SET x = $1"],
            ["queryid": "-1", "datname": "app", "user": "web", "calls": "1", "seconds": "1", "rows": "10", "query": "SELECT count(*) FROM a"],
        ]
        var sink = PostgresMetricSink(target: nil)
        let entries = Self.mapStatements(rows, into: &sink)
        #expect(entries.map(\.queryid) == ["9", "10", "-1"])
        let families = sink.build()
        let calls = families.first { $0.descriptor.name == "pg_stat_statements_calls_total" }
        #expect(calls?.series.map(\.labelValues[0]) == ["-1", "10", "9"])
        for name in ["pg_stat_statements_calls_total", "pg_stat_statements_rows_total"] {
            for series in families.first(where: { $0.descriptor.name == name })?.series ?? [] {
                let calls = Double(series.labelValues[0]).map { abs($0) } ?? -1
                #expect(series.value == .scalar(name.hasPrefix("pg_stat_statements_rows") ? calls * 10 : calls))
            }
        }
        let lookups = families.first { $0.descriptor.name == "pg_stat_statements_single_row_lookup" }
        #expect(lookups?.series.map(\.labelValues[0]) == ["9"])
    }

    // MARK: settings

    @Test func settingsAreConvertedLikePostgresExporter() {
        #expect(SettingsCollector.convert("16384", unit: "8kB", type: "integer") == .init(value: 16384 * 8192, suffix: "_bytes"))
        #expect(SettingsCollector.convert("1024", unit: "MB", type: "integer") == .init(value: 1024 * 1024 * 1024, suffix: "_bytes"))
        #expect(SettingsCollector.convert("4096", unit: "kB", type: "integer") == .init(value: 4096 * 1024, suffix: "_bytes"))
        #expect(SettingsCollector.convert("5000", unit: "ms", type: "integer") == .init(value: 5, suffix: "_seconds"))
        #expect(SettingsCollector.convert("1", unit: "min", type: "integer") == .init(value: 60, suffix: "_seconds"))
        #expect(SettingsCollector.convert("-1", unit: "ms", type: "integer") == .init(value: -1, suffix: "_seconds"))
        #expect(SettingsCollector.convert("4", unit: "", type: "real") == .init(value: 4, suffix: ""))
        #expect(SettingsCollector.convert("on", unit: "", type: "bool") == .init(value: 1, suffix: ""))
        #expect(SettingsCollector.convert("12", unit: "furlongs", type: "integer") == nil)

        var sink = PostgresMetricSink(target: nil)
        SettingsCollector.map(
            PostgresRows([
                ["name": "shared_buffers", "setting": "8192", "unit": "8kB", "vartype": "integer"],
                ["name": "max_connections", "setting": "100", "unit": "", "vartype": "integer"],
                ["name": "pg_stat_statements.max", "setting": "5000", "unit": "", "vartype": "integer"],
            ]), into: &sink)
        let samples = Self.samples(sink)
        #expect(samples["pg_settings_shared_buffers_bytes"] == 67_108_864.0)
        #expect(samples["pg_settings_max_connections"] == 100)
        #expect(samples["pg_settings_pg_stat_statements_max"] == 5000)
    }

    // MARK: activity, locks, tables

    @Test func activityCountsStatesIdleInTransactionWaitsAndSaturation() {
        let activity = PostgresRows([
            ["datname": "app", "state": "active", "count": "2", "max_tx_duration": "0.5", "max_state_duration": "0.1", "lock_waiting": "1"],
            ["datname": "app", "state": "idle in transaction", "count": "1", "max_tx_duration": "30", "max_state_duration": "25", "lock_waiting": "0"],
            ["datname": "app", "state": "idle", "count": "0", "max_tx_duration": "0", "max_state_duration": "0", "lock_waiting": "0"],
            ["datname": "postgres", "state": "idle", "count": "0", "max_tx_duration": "0", "max_state_duration": "0", "lock_waiting": "0"],
        ])
        let connections = PostgresRows([["used": "18", "max_connections": "50", "reserved": "3"]])
        var sink = PostgresMetricSink(target: nil)
        StatActivityCollector.map(activity: activity, connections: connections, context: Self.pg15, into: &sink)
        let samples = Self.samples(sink)
        #expect(samples["pg_stat_activity_count{datname=\"app\",state=\"active\"}"] == 2)
        #expect(samples["pg_stat_activity_max_tx_duration{datname=\"app\",state=\"idle in transaction\"}"] == 30)
        #expect(samples["pg_stat_activity_idle_in_transaction_sessions{datname=\"app\"}"] == 1)
        #expect(samples["pg_stat_activity_idle_in_transaction_max_seconds{datname=\"app\"}"] == 25)
        #expect(samples["pg_stat_activity_idle_in_transaction_sessions{datname=\"postgres\"}"] == 0)
        #expect(samples["pg_stat_activity_lock_waiting_sessions{datname=\"app\"}"] == 1)
        #expect(samples["pg_connections_used"] == 18)
        #expect(samples["pg_connections_max"] == 47)
        #expect(samples["pg_connections_used_ratio"] == 18.0 / 47.0)
    }

    @Test func locksAreZeroFilledForEveryModeAndDatabase() {
        let rows = PostgresRows([
            ["datname": "app", "mode": "accessexclusivelock", "count": "1", "waiting": "0"],
            ["datname": "app", "mode": "accesssharelock", "count": "3", "waiting": "1"],
            ["datname": "app", "mode": nil, "count": "0", "waiting": "0"],
            ["datname": "postgres", "mode": nil, "count": "0", "waiting": "0"],
        ])
        var sink = PostgresMetricSink(target: nil)
        LocksCollector.map(rows, context: Self.pg15, into: &sink)
        let samples = Self.samples(sink)
        #expect(samples.keys.filter { $0.hasPrefix("pg_locks_count{") }.count == 18)
        #expect(samples["pg_locks_count{datname=\"app\",mode=\"accessexclusivelock\"}"] == 1)
        #expect(samples["pg_locks_count{datname=\"postgres\",mode=\"sharelock\"}"] == 0)
        #expect(samples["pg_locks_waiting{datname=\"app\"}"] == 1)
    }

    @Test func tablesAreCappedAcrossDatabasesAndIndexesFollowThem() {
        func table(_ db: String, _ name: String, size: Int, live: Int, dead: Int) -> [String: String?] {
            ["datname": db, "schemaname": "public", "relname": name, "seq_scan": "5", "seq_tup_read": "1000", "idx_scan": "0",
             "n_live_tup": String(live), "n_dead_tup": String(dead), "table_size_bytes": String(size), "index_size_bytes": "0",
             "last_autovacuum": "0", "heap_blks_read": "6", "heap_blks_hit": "60", "toast_blks_read": nil]
        }
        func index(_ db: String, _ table: String, _ name: String, scans: Int, unique: Bool) -> [String: String?] {
            ["datname": db, "schemaname": "public", "relname": table, "indexrelname": name, "idx_scan": String(scans),
             "idx_tup_read": "0", "idx_tup_fetch": "3", "size_bytes": "8192", "io_idx_blks_read": "4", "io_idx_blks_hit": "40", "indisunique": unique ? "t" : "f", "indisprimary": "f"]
        }
        let app = StatUserTablesCollector.DatabaseTables(
            tables: PostgresRows([table("app", "big", size: 9000, live: 75, dead: 25), table("app", "small", size: 10, live: 0, dead: 0)]),
            indexes: PostgresRows([
                index("app", "big", "big_unused", scans: 0, unique: false), index("app", "big", "big_pkey", scans: 0, unique: true),
                index("app", "small", "small_idx", scans: 0, unique: false),
            ]))
        let other = StatUserTablesCollector.DatabaseTables(
            tables: PostgresRows([table("other", "medium", size: 500, live: 1, dead: 0)]), indexes: PostgresRows([]))
        var sink = PostgresMetricSink(target: nil)
        StatUserTablesCollector.map([app, other], limit: 2, into: &sink)
        let samples = Self.samples(sink)
        #expect(samples["pg_stat_user_tables_seq_tup_read{datname=\"app\",schemaname=\"public\",relname=\"big\"}"] == 1000)
        #expect(samples["pg_stat_user_tables_dead_tuple_ratio{datname=\"app\",schemaname=\"public\",relname=\"big\"}"] == 0.25)
        #expect(samples["pg_stat_user_tables_table_size_bytes{datname=\"other\",schemaname=\"public\",relname=\"medium\"}"] == 500)
        #expect(samples.keys.allSatisfy { !$0.contains("relname=\"small\"") }, "the third table is over the cap, and so are its indexes")
        #expect(samples["pg_index_unused{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_unused\"}"] == 1)
        #expect(samples["pg_index_unused{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_pkey\"}"] == nil)
        // postgres_exporter's names, which users' unused-index alerts query: no `_total`.
        #expect(samples["pg_stat_user_indexes_idx_scan{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_pkey\"}"] == 0)
        #expect(samples["pg_stat_user_indexes_idx_tup_read{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_pkey\"}"] == 0)
        #expect(samples["pg_stat_user_indexes_idx_tup_fetch{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_pkey\"}"] == 3)
        #expect(samples.keys.allSatisfy { !$0.hasPrefix("pg_stat_user_indexes_idx_scan_total") })
        #expect(samples["pg_statio_user_tables_heap_blocks_hit{datname=\"app\",schemaname=\"public\",relname=\"big\"}"] == 60)
        #expect(samples["pg_statio_user_tables_toast_blocks_read{datname=\"app\",schemaname=\"public\",relname=\"big\"}"] == nil)
        #expect(samples["pg_statio_user_indexes_idx_blks_hit_total{datname=\"app\",schemaname=\"public\",relname=\"big\",indexrelname=\"big_pkey\"}"] == 40)
    }

    // MARK: connection info

    @Test func connectionInfoParsesBothSyntaxesAndDerivesTheTargetLabel() throws {
        let uri = try PostgresConnectionInfo("postgresql://u:s3cret@db.example:6432/app?sslmode=require", environment: [:])
        #expect(uri.targetLabel == "db.example:6432/app")
        #expect(uri.options["sslmode"] == "require")
        let keyValue = try PostgresConnectionInfo("host=/run/pg dbname=shop user=x password='a b'", environment: [:])
        #expect(keyValue.targetLabel == "/run/pg:5432/shop")
        let defaults = try PostgresConnectionInfo("", environment: ["PGHOST": "h", "PGPORT": "7", "PGUSER": "me"])
        #expect(defaults.targetLabel == "h:7/me")
        let service = try PostgresConnectionInfo("service=billing", environment: [:])
        #expect(service.targetLabel == "service=billing:5432/postgres")
    }

    @Test func connectParametersLetTheUserOverrideDefaultsAndSwitchDatabasesLast() throws {
        let plain = try PostgresConnectionInfo("host=h dbname=app", environment: [:])
        let parameters = plain.connectParameters(connectTimeout: .seconds(5), database: "other")
        #expect(parameters.map(\.0) == ["application_name", "connect_timeout", "gssencmode", "dbname", "dbname"])
        #expect(parameters[0].1 == "vitals" && parameters[1].1 == "5" && parameters[2].1 == "disable" && parameters[4].1 == "other")
        let custom = try PostgresConnectionInfo("host=h application_name=mine connect_timeout=9 gssencmode=prefer", environment: [:])
        #expect(custom.connectParameters(connectTimeout: .seconds(5)).map(\.0) == ["dbname"])
    }

    /// GSSAPI encryption is off unless the user chose it, wherever libpq would read the choice from.
    @Test(arguments: [
        ("host=h", [:], true),
        ("host=h gssencmode=require", [:], false),
        ("postgresql://h/app?gssencmode=prefer", [:], false),
        ("host=h", ["PGGSSENCMODE": "require"], false),
        ("host=h", ["PGGSSENCMODE": ""], true),
        ("service=billing", [:], false),
        ("host=h", ["PGSERVICE": "billing"], false),
    ] as [(String, [String: String], Bool)])
    func gssEncryptionIsDisabledUnlessTheUserChoseIt(dsn: String, environment: [String: String], disabled: Bool) throws {
        let parameters = try PostgresConnectionInfo(dsn, environment: environment).connectParameters(connectTimeout: .seconds(5))
        #expect(parameters.contains { $0 == ("gssencmode", "disable") } == disabled)
    }

    /// Which host vitals resolves itself (so the lookup is bounded by the pass's deadline) and
    /// which it leaves to libpq.
    @Test(arguments: [
        ("host=db.internal dbname=app", [:], "db.internal"),
        ("postgresql://u@db.internal:6432/app", [:], "db.internal"),
        ("dbname=app", ["PGHOST": "db.internal"], "db.internal"),
        ("host=db.internal hostaddr=10.0.0.5", [:], nil),
        ("host=db.internal", ["PGHOSTADDR": "10.0.0.5"], nil),
        ("host=127.0.0.1", [:], nil),
        ("host=::1", [:], nil),
        ("host=/var/run/postgresql", [:], nil),
        ("host=@abstract", [:], nil),
        ("host=a.internal,b.internal", [:], nil),
        ("host=db.internal port=5432,5433", [:], nil),
        ("host=db.internal", ["PGPORT": "5432,5433"], nil),
        ("service=billing", [:], nil),
        ("dbname=app", [:], nil),
    ] as [(String, [String: String], String?)])
    func hostNamesAreResolvedByVitalsOnlyWhereLibpqWouldLookOneUp(dsn: String, environment: [String: String], expected: String?) throws {
        #expect(try PostgresConnectionInfo(dsn, environment: environment).hostToResolve == expected)
    }

    @Test func resolvedAddressesBecomeHostaddrWithTheNameKeptAsHost() throws {
        let info = try PostgresConnectionInfo("host=db.internal sslmode=verify-full", environment: [:])
        let parameters = info.connectParameters(connectTimeout: .seconds(5), hostAddresses: ["10.0.0.5", "fd00::5"])
        // After the string, so they override its host; one name per address, as libpq requires.
        #expect(parameters.suffix(2).map(\.0) == ["host", "hostaddr"])
        #expect(parameters.suffix(2).map(\.1) == ["db.internal,db.internal", "10.0.0.5,fd00::5"])
        #expect(!info.connectParameters(connectTimeout: .seconds(5)).contains { $0.0 == "hostaddr" })
    }

    @Test func invalidConnectionStringsNeverEchoThePassword() {
        #expect(throws: PostgresConnectionInfo.ParseError.self) { try PostgresConnectionInfo("host=h password=hunter2 bogus", environment: [:]) }
        do {
            _ = try PostgresConnectionInfo("host=h password=hunter2 bogus", environment: [:])
        } catch {
            #expect(!error.message.contains("hunter2"))
        }
        let values = try? ConfigurationValues.make(keys: VitalsConfiguration.allKeys, ["postgres.dsn": "postgresql://u:hunter2@h:5432/db?bogus_option=1"])
        #expect(throws: ConfigurationError.self) { try PostgresConfiguration(values: values!) }
        do {
            _ = try PostgresConfiguration(values: values!)
        } catch {
            #expect(!"\(error)".contains("hunter2"))
        }
    }

    @Test func redactorRemovesPasswordsInEveryForm() {
        let redactor = PostgresRedactor(secrets: ["p@ss word"])
        #expect(redactor.redact("failed for p@ss word") == "failed for ****")
        #expect(redactor.redact("dsn postgresql://bob:p%40ss%20word@h/db") == "dsn postgresql://bob:****@h/db")
        #expect(redactor.redact("password=other123 host=h") == "password=**** host=h")
        #expect(redactor.redact("password = 'quoted secret' host=h") == "password=**** host=h")
        #expect(PostgresRedactor.redactPasswordLiterals("ALTER ROLE x PASSWORD 'it''s'") == "ALTER ROLE x PASSWORD '****'")
        #expect(PostgresRedactor.redactPasswordLiterals("CREATE ROLE x LOGIN ENCRYPTED PASSWORD 'a b' IN ROLE y") == "CREATE ROLE x LOGIN ENCRYPTED PASSWORD '****' IN ROLE y")
    }

    @Test func statementTextsAreRedactedWhereTheyLeaveTheSourceAndStaySoAcrossPasses() {
        let redactor = PostgresRedactor(secrets: ["hunter2"])
        func entries(_ texts: [String]) -> [PostgresStatementEntry] {
            texts.enumerated().map { PostgresStatementEntry(queryid: "\($0.offset)", datname: "app", user: "web", calls: 1, totalSeconds: 1, rows: 1, query: $0.element) }
        }
        var redacted = PostgresPasses.RedactedTexts()
        // Served normalised (issue 21): no literal of any kind leaves, the target's password
        // not even as a word.
        let pass = entries(["ALTER ROLE x PASSWORD 'it''s'", "SELECT 'hunter2'", "SELECT 1", "SELECT hunter2 FROM t", "SELECT 'hunter2'"])
        let expected = ["ALTER role x password $1", "SELECT $1", "SELECT $1", "SELECT **** FROM t", "SELECT $1"]
        #expect(redacted.redact(pass, with: redactor).map(\.query) == expected)
        // The next pass reuses what it can; a new text is redacted, a vanished one forgotten.
        let next = entries(["SELECT 1", "CREATE ROLE y PASSWORD $$z$$", "ALTER ROLE x PASSWORD 'it''s'"])
        #expect(redacted.redact(next, with: redactor).map(\.query) == ["SELECT $1", "CREATE role y password $1", "ALTER role x password $1"])
        #expect(redacted.redact(next, with: redactor).map(\.queryid) == ["0", "1", "2"])
    }

    @Test(arguments: [
        ("ALTER ROLE x PASSWORD 'y'", true), ("PaSsWoRd", true), ("xpasswordx", true), ("passwor", false), ("", false),
        ("pass word", false), ("SELECT 'pässword'", false), ("SELECT 'é' || password", true), ("p@ssword", false),
    ])
    func passwordMentionIsFoundInAnyASCIICase(text: String, expected: Bool) {
        #expect(PostgresRedactor.mentionsPassword(text) == expected)
    }

    @Test func errorsClassifyBySQLStateAndMessage() {
        #expect(PostgresError.fromSQLState("42501", detail: "").reason == .permission)
        #expect(PostgresError.fromSQLState("57014", detail: "").reason == .timeout)
        #expect(PostgresError.fromSQLState("55P03", detail: "").reason == .timeout)
        #expect(PostgresError.fromSQLState("42P01", detail: "").reason == .unsupported)
        #expect(PostgresError.fromSQLState("57P01", detail: "").code == .connectionLost)
        #expect(PostgresError.fromConnectMessage("FATAL:  password authentication failed for user \"x\"").reason == .auth)
        #expect(PostgresError.fromConnectMessage("connection refused").reason == .connect)
        #expect(!PostgresError.fromSQLState("42501", detail: "secret detail").description.contains("secret"))
    }

    /// libpq 15's messages, captured from `scripts/test-servers.sh start DIR --tls` (psql and vitals).
    @Test(arguments: [
        ("connection to server at \"localhost\" (127.0.0.1), port 50971 failed: SSL error: certificate verify failed", PostgresError.Code.tlsUntrusted),
        ("connection to server at \"127.0.0.1\", port 50971 failed: server certificate for \"localhost\" (and 1 other name) does not match host name \"127.0.0.1\"",
            .tlsWrongHost),
        ("connection to server at \"127.0.0.1\", port 54347 failed: server does not support SSL, but SSL was required", .tlsNotOffered),
        ("connection to server at \"localhost\" (127.0.0.1), port 50971 failed: root certificate file \"/nonexistent/root.crt\" does not exist\n"
            + "Either provide the file or change sslmode to disable server certificate verification.", .tlsNoRootCertificate),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: SSL SYSCALL error: EOF detected", .tls),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: could not read private key file \"/k.key\": Permission denied", .tls),
        // The server's refusals stay authentication, whatever they say of TLS.
        ("connection to server at \"localhost\" (127.0.0.1), port 50971 failed: FATAL:  pg_hba.conf rejects connection for host \"127.0.0.1\", "
            + "user \"vitals\", database \"app\", no encryption", .auth),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  certificate authentication failed for user \"vitals\"", .auth),
        ("connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  no pg_hba.conf entry for host \"10.0.0.2\", user \"v\", database \"a\", SSL encryption",
            .auth),
    ])
    func tlsFailuresAreTheirOwnReasonWithASentenceToAct(message: String, code: PostgresError.Code) {
        let error = PostgresError.fromConnectMessage(message)
        #expect(error.code == code)
        #expect(error.reason == (code == .auth ? .auth : .tls))
        #expect(error.breaksConnection)
        // The sentence is vitals' own: no path or host from libpq's message.
        #expect(!error.description.contains("/nonexistent") && !error.description.contains("127.0.0.1") && !error.description.contains("/k.key"))
    }

    // MARK: configuration, publication, backoff

    @Test func configurationReadsDSNsFromFlagsEnvironmentAndFile() throws {
        let keys = VitalsConfiguration.allKeys
        let loader = ConfigurationLoader(keys: keys)
        let fromEnvironment = try loader.load(flags: [], environment: ["DATA_SOURCE_NAME": "host=a dbname=x,host=b dbname=y"], file: nil)
        #expect(try PostgresConfiguration(values: fromEnvironment).targets.map(\.targetLabel) == ["a:5432/x", "b:5432/y"])
        let fromFile = try loader.load(flags: [], environment: ["DATA_SOURCE_NAME_FILE": "/dsn"], file: nil)
        let configuration = try PostgresConfiguration(values: fromFile) { path in path == "/dsn" ? "host=c dbname=z\n" : nil }
        #expect(configuration.targets.map(\.targetLabel) == ["c:5432/z"])
        let flags = try loader.load(flags: [("postgres.dsn", "host=d"), ("postgres.disable-collector", "locks,wal")], environment: ["DATA_SOURCE_NAME": "host=e"], file: nil)
        let fromFlags = try PostgresConfiguration(values: flags)
        #expect(fromFlags.targets.map(\.targetLabel) == ["d:5432/postgres"])
        #expect(fromFlags.disabledCollectors == [.locks, .wal])
        #expect(fromFlags.interval == .seconds(15) && fromFlags.slowInterval == .seconds(60) && fromFlags.timeout == .seconds(5))
        #expect(try PostgresConfiguration(values: loader.load(flags: [], environment: [:], file: nil)).targets.isEmpty)
    }

    @Test func publicationReportsDownWithEveryCollectorFailedAndNoStaleData() {
        var publication = PostgresPublication(target: nil, enabled: [.locks, .settings])
        var pass = PostgresPassResult()
        pass.version = "PostgreSQL 15.4"
        pass.serverVersion = 150_004
        var sink = PostgresMetricSink(target: nil)
        LocksCollector.map(PostgresRows([["datname": "app", "mode": nil]]), context: Self.pg15, into: &sink)
        pass.outcomes[.locks] = PostgresCollectorOutcome(success: true, duration: 0.01, metrics: sink)
        publication.apply(pass, isFast: true)
        var up = ScrapedMetrics(postgresExposition(publication.snapshot()))
        #expect(up.sum("pg_up") == 1)
        #expect(up.values("pg_static").first?.labels["short_version"] == "15.4.0")
        #expect(up.sum("pg_scrape_collector_success", where: ["collector": "locks"]) == 1)
        #expect(up.sum("pg_scrape_collector_success", where: ["collector": "settings"]) == 1, "not run yet while up is not a failure")
        #expect(!up.values("pg_locks_count").isEmpty)

        var down = PostgresPassResult()
        down.connectionError = PostgresError(.connect, detail: "refused")
        publication.apply(down, isFast: true)
        up = ScrapedMetrics(postgresExposition(publication.snapshot()))
        #expect(up.sum("pg_up") == 0)
        #expect(up.sum("pg_exporter_last_scrape_error") == 1)
        #expect(up.sum("pg_scrape_collector_success") == 0)
        #expect(up.values("pg_locks_count").isEmpty)
    }

    @Test(arguments: [nil, "h:5432/app"])
    func slowFamiliesStayUntilTheNextSlowPassAndGoWhenTheTargetIsDown(target: String?) throws {
        var publication = PostgresPublication(target: target, enabled: [.locks, .settings])
        func settingsPass(_ maxConnections: String) -> PostgresPassResult {
            var pass = PostgresPassResult()
            pass.version = "PostgreSQL 15.4"
            pass.serverVersion = 150_004
            var sink = PostgresMetricSink(target: nil)
            SettingsCollector.map(
                PostgresRows([
                    ["name": "max_connections", "setting": maxConnections, "unit": "", "vartype": "integer"],
                    ["name": "shared_buffers", "setting": "8192", "unit": "8kB", "vartype": "integer"],
                ]), into: &sink)
            pass.outcomes[.settings] = PostgresCollectorOutcome(success: true, duration: 0.01, metrics: sink)
            return pass
        }
        var fastPass = PostgresPassResult()
        fastPass.version = "PostgreSQL 15.4"
        fastPass.serverVersion = 150_004
        var locks = PostgresMetricSink(target: nil)
        LocksCollector.map(PostgresRows([["datname": "app", "mode": "accessexclusivelock", "count": "2", "waiting": "0"]]), context: Self.pg15, into: &locks)
        fastPass.outcomes[.locks] = PostgresCollectorOutcome(success: true, duration: 0.01, metrics: locks)
        func scraped() -> ScrapedMetrics {
            let families = publication.snapshot()
            #expect(Set(families.map(\.descriptor.name)).count == families.count, "one family per name")
            return ScrapedMetrics(postgresExposition(families))
        }

        publication.apply(fastPass, isFast: true)
        publication.apply(settingsPass("100"), isFast: false)
        var metrics = scraped()
        #expect(metrics.sum("pg_settings_max_connections") == 100)
        #expect(metrics.sum("pg_settings_shared_buffers_bytes") == 67_108_864)
        #expect(metrics.sum("pg_locks_count", where: ["mode": "accessexclusivelock"]) == 2)
        if let target {
            #expect(metrics.values("pg_settings_max_connections").first?.labels["target"] == target)
        }

        // Fast passes alone keep the last slow pass's families, and their own values change.
        locks = PostgresMetricSink(target: nil)
        LocksCollector.map(PostgresRows([["datname": "app", "mode": "accessexclusivelock", "count": "5", "waiting": "0"]]), context: Self.pg15, into: &locks)
        fastPass.outcomes[.locks] = PostgresCollectorOutcome(success: true, duration: 0.01, metrics: locks)
        for _ in 0..<3 { publication.apply(fastPass, isFast: true) }
        metrics = scraped()
        #expect(metrics.sum("pg_settings_max_connections") == 100)
        #expect(metrics.sum("pg_locks_count", where: ["mode": "accessexclusivelock"]) == 5)

        // The next slow pass replaces them; a failed one leaves none.
        publication.apply(settingsPass("200"), isFast: false)
        #expect(scraped().sum("pg_settings_max_connections") == 200)
        var failed = PostgresPassResult()
        failed.outcomes[.settings] = PostgresCollectorOutcome(success: false, duration: 0.01, error: PostgresError(.permission, sqlState: "42501"))
        publication.apply(failed, isFast: false)
        metrics = scraped()
        #expect(metrics.values("pg_settings_max_connections").isEmpty)
        #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": "settings"]) == 0)

        // Down drops them; back up, they return with the next slow pass only.
        publication.apply(settingsPass("300"), isFast: false)
        var down = PostgresPassResult()
        down.connectionError = PostgresError(.connect, detail: "refused")
        publication.apply(down, isFast: true)
        #expect(scraped().values("pg_settings_max_connections").isEmpty)
        publication.apply(fastPass, isFast: true)
        metrics = scraped()
        #expect(metrics.sum("pg_up") == 1)
        #expect(metrics.values("pg_settings_max_connections").isEmpty)
        publication.apply(settingsPass("400"), isFast: false)
        #expect(scraped().sum("pg_settings_max_connections") == 400)
    }

    @Test func severalTargetsGetATargetLabel() {
        let publication = PostgresPublication(target: "h:5432/app", enabled: [.locks])
        let text = postgresExposition(publication.snapshot())
        #expect(text.contains("pg_up{target=\"h:5432/app\"} 0"))
    }

    @Test func shortVersions() {
        #expect(PostgresPublication.shortVersion(150_004) == "15.4.0")
        #expect(PostgresPublication.shortVersion(170_002) == "17.2.0")
        #expect(PostgresPublication.shortVersion(90_624) == "9.6.24")
    }

    @Test func everyMetricNameIsValid() {
        var sink = PostgresMetricSink(target: "t")
        for metric in PostgresMetricCatalog.all { sink.add(metric, 1, metric.labels.map { _ in "x" }) }
        #expect(sink.build().count == PostgresMetricCatalog.all.count)
    }
}

func postgresExposition(_ families: [FamilySnapshot]) -> String {
    String(decoding: ExpositionWriter(format: .prometheusText).write(families), as: UTF8.self)
}

/// Answers queries from fixtures; a query matching a `failures` key throws that error.
struct PostgresFixtureSession: PostgresQuerying {
    var failures: [String: PostgresError] = [:]
    var rows: [String: PostgresRows] = [:]

    func query(_ sql: String) throws(PostgresError) -> PostgresRows {
        if let (_, error) = failures.first(where: { sql.contains($0.key) }) { throw error }
        return rows.first(where: { sql.contains($0.key) })?.value ?? PostgresRows([])
    }
}

@Suite struct PostgresCollectorIsolationTests {
    @Test func aFailingCollectorNeverHidesTheOthers() {
        let session = PostgresFixtureSession(
            failures: ["pg_locks": PostgresError(.permission, sqlState: "42501")],
            rows: ["pg_postmaster_start_time": PostgresRows([["start_time": "1700000000"]])])
        var result = PostgresPassResult()
        PostgresTargetWorker.run(
            [PostmasterCollector(), LocksCollector(), WALCollector()], on: session, context: PostgresMappingTests.pg15, into: &result)
        #expect(result.connectionError == nil)
        #expect(result.outcomes[.locks]?.success == false)
        #expect(result.outcomes[.locks]?.error?.reason == .permission)
        #expect(result.outcomes[.postmaster]?.success == true)
        #expect(result.outcomes[.wal]?.success == true)

        var publication = PostgresPublication(target: nil, enabled: [.locks, .postmaster, .wal])
        publication.apply(result, isFast: true)
        let metrics = ScrapedMetrics(postgresExposition(publication.snapshot()))
        #expect(metrics.sum("pg_up") == 1)
        #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": "locks"]) == 0)
        #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": "postmaster"]) == 1)
        #expect(metrics.sum("pg_postmaster_start_time_seconds") == 1_700_000_000)
        #expect(metrics.sum("pg_exporter_last_scrape_error") == 1)
    }

    @Test func aBrokenConnectionFailsTheRestWithoutQueryingAgain() {
        let session = PostgresFixtureSession(failures: ["pg_postmaster_start_time": PostgresError(.timeout)])
        var result = PostgresPassResult()
        PostgresTargetWorker.run([PostmasterCollector(), LocksCollector()], on: session, context: PostgresMappingTests.pg15, into: &result)
        #expect(result.connectionError?.code == .timeout)
        #expect(result.outcomes[.locks]?.success == false)
        var publication = PostgresPublication(target: nil, enabled: [.locks, .postmaster])
        publication.apply(result, isFast: true)
        #expect(ScrapedMetrics(postgresExposition(publication.snapshot())).sum("pg_up") == 0)
    }

    @Test func aMissingPgStatStatementsSaysTheFixAndIsNoScrapeError() throws {
        let absent = PostgresFixtureSession(rows: ["pg_extension": PostgresRows([["installed": "0"]])])
        var result = PostgresPassResult()
        PostgresTargetWorker.run([StatStatementsCollector(), PostmasterCollector()], on: absent, context: PostgresMappingTests.pg15, into: &result)
        let error = try #require(result.outcomes[.statStatements]?.error)
        #expect(error.code == .statementsNotInstalled && error.isMissingSetup)
        #expect(error.description.contains("CREATE EXTENSION pg_stat_statements;") && error.description.contains("shared_preload_libraries"))
        #expect(result.outcomes[.postmaster]?.success == true)
        var publication = PostgresPublication(target: nil, enabled: [.statStatements, .postmaster])
        publication.apply(result, isFast: true)
        let metrics = ScrapedMetrics(postgresExposition(publication.snapshot()))
        #expect(metrics.sum("pg_scrape_collector_success", where: ["collector": "stat_statements"]) == 0)
        #expect(metrics.sum("pg_exporter_last_scrape_error") == 0, "postgres-mixin alerts on it; nothing is failing")

        // Created but not preloaded: the server refuses the view with SQLSTATE 55000.
        let unloaded = PostgresFixtureSession(
            failures: ["pg_stat_statements(false)": PostgresError(.query, sqlState: "55000", detail: "must be loaded via shared_preload_libraries")],
            rows: ["pg_extension": PostgresRows([["installed": "1"]])])
        var second = PostgresPassResult()
        PostgresTargetWorker.run([StatStatementsCollector()], on: unloaded, context: PostgresMappingTests.pg15, into: &second)
        #expect(second.outcomes[.statStatements]?.error?.code == .statementsNotPreloaded)

        let board = PostgresStatementsBoard()
        board.update(target: "db:5432/app", entries: [], unavailable: error.description)
        let json = String(decoding: board.renderJSON(), as: UTF8.self)
        #expect(json.hasPrefix("{\"statements\":[],\"unavailable\":[{\"message\":\"pg_stat_statements is not installed"))
        #expect(json.contains("\"target\":\"db:5432/app\"}]}"))
        board.update(target: "db:5432/app", entries: [], unavailable: nil)
        #expect(String(decoding: board.renderJSON(), as: UTF8.self) == "{\"statements\":[]}\n")
    }

    // MARK: views added for PostgreSQL 14–18

    @Test func sessionCountersAppearFrom14InSeconds() {
        var row = PostgresMappingTests.statDatabasePG13
        row["sessions"] = "12"
        row["sessions_killed"] = "1"
        row["session_time"] = "2500"
        row["idle_in_transaction_time"] = "500"
        var sink = PostgresMetricSink(target: nil)
        StatDatabaseCollector.map(PostgresRows([row]), context: PostgresMappingTests.pg15, into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        #expect(samples["pg_stat_database_sessions_total{datid=\"16384\",datname=\"app\"}"] == 12)
        #expect(samples["pg_stat_database_sessions_killed_total{datid=\"16384\",datname=\"app\"}"] == 1)
        #expect(samples["pg_stat_database_session_time_seconds_total{datid=\"16384\",datname=\"app\"}"] == 2.5)
        #expect(samples["pg_stat_database_idle_in_transaction_time_seconds_total{datid=\"16384\",datname=\"app\"}"] == 0.5)
        var old = PostgresMetricSink(target: nil)
        StatDatabaseCollector.map(PostgresRows([PostgresMappingTests.statDatabasePG13]), context: PostgresMappingTests.pg13, into: &old)
        #expect(old.build().allSatisfy { !$0.descriptor.name.hasPrefix("pg_stat_database_session") }, "13 has no session columns")
    }

    @Test func archiverKeepsTheExporterNamesAndHasNoAgeBeforeTheFirstArchive() {
        var sink = PostgresMetricSink(target: nil)
        StatArchiverCollector.map(PostgresRows([["archived_count": "7", "failed_count": "1", "last_archive_age": "30.5"]]), into: &sink)
        #expect(PostgresMappingTests.samples(sink) == ["pg_stat_archiver_archived_count": 7, "pg_stat_archiver_failed_count": 1, "pg_stat_archiver_last_archive_age": 30.5])
        var never = PostgresMetricSink(target: nil)
        StatArchiverCollector.map(PostgresRows([["archived_count": "0", "failed_count": "0", "last_archive_age": nil]]), into: &never)
        #expect(PostgresMappingTests.samples(never)["pg_stat_archiver_last_archive_age"] == nil)
    }

    @Test func wraparoundAgesAndTheShareOfFreezeMaxAge() {
        var sink = PostgresMetricSink(target: nil)
        DatabaseWraparoundCollector.map(
            PostgresRows([["datname": "app", "xid_age": "100000000", "mxid_age": "5", "freeze_ratio": "0.5"]]), context: PostgresMappingTests.pg15, into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        #expect(samples["pg_database_wraparound_age_datfrozenxid_seconds{datname=\"app\"}"] == 100_000_000)
        #expect(samples["pg_database_wraparound_age_datminmxid_seconds{datname=\"app\"}"] == 5)
        #expect(samples["pg_database_wraparound_freeze_max_age_ratio{datname=\"app\"}"] == 0.5)
    }

    @Test func progressVacuumHasOneSeriesPerPhaseAndTheColumnsOf17() {
        #expect(StatProgressVacuumCollector.sql(majorVersion: 17).contains("num_dead_item_ids AS num_dead_tuples"))
        #expect(StatProgressVacuumCollector.sql(majorVersion: 16).contains("num_dead_tuples AS num_dead_tuples"))
        let row: [String: String?] = [
            "datname": "app", "relname": "public.orders", "phase": "vacuuming indexes", "heap_blks_total": "100", "heap_blks_scanned": "40",
            "heap_blks_vacuumed": "10", "index_vacuum_count": "1", "max_dead_tuples": "2000", "num_dead_tuples": "70",
        ]
        var sink = PostgresMetricSink(target: nil)
        StatProgressVacuumCollector.map(PostgresRows([row, row]), context: PostgresMappingTests.pg15, into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        let labels = "datname=\"app\",relname=\"public.orders\""
        #expect(samples.keys.filter { $0.hasPrefix("pg_stat_progress_vacuum_phase{") }.count == 7)
        #expect(samples["pg_stat_progress_vacuum_phase{\(labels),phase=\"vacuuming indexes\"}"] == 1)
        #expect(samples["pg_stat_progress_vacuum_phase{\(labels),phase=\"scanning heap\"}"] == 0)
        #expect(samples["pg_stat_progress_vacuum_num_dead_tuples{\(labels)}"] == 70)
    }

    @Test func statIOSkipsImpossibleOperationsAndConvertsTimes() {
        let row: [String: String?] = [
            "backend_type": "client backend", "object": "relation", "context": "normal", "reads": "10", "read_time": "2000",
            "writes": "3", "writebacks": nil, "extends": "1", "hits": "90", "evictions": "0", "reuses": nil, "fsyncs": "0",
        ]
        var sink = PostgresMetricSink(target: nil)
        StatIOCollector.map(PostgresRows([row]), into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        let labels = "{backend_type=\"client backend\",object=\"relation\",context=\"normal\"}"
        #expect(samples["pg_stat_io_reads_total" + labels] == 10)
        #expect(samples["pg_stat_io_read_time_seconds_total" + labels] == 2)
        #expect(samples["pg_stat_io_reuses_total" + labels] == nil, "NULL: not possible for this combination")
        #expect(samples["pg_stat_io_read_bytes_total" + labels] == nil, "neither op_bytes nor read_bytes: no bytes")
    }

    /// The same bytes on 16–17 (operations × op_bytes) as 18 counts them (read_bytes, …).
    @Test(arguments: [
        (["op_bytes": "8192", "reads": "10", "writes": "3", "extends": nil], 81920.0, 24576.0, nil),
        (["read_bytes": "81920", "write_bytes": "24576", "extend_bytes": nil, "reads": "10", "writes": "3", "extends": nil], 81920.0, 24576.0, nil),
        (["op_bytes": "8192", "reads": "0", "writes": "0", "extends": "2"], 0.0, 0.0, 16384.0),
    ] as [([String: String?], Double?, Double?, Double?)])
    func statIOBytesAreTheSameOnEveryVersion(columns: [String: String?], read: Double?, written: Double?, extended: Double?) {
        var row: [String: String?] = ["backend_type": "client backend", "object": "relation", "context": "normal"]
        row.merge(columns) { $1 }
        var sink = PostgresMetricSink(target: nil)
        StatIOCollector.map(PostgresRows([row]), into: &sink)
        let samples = PostgresMappingTests.samples(sink)
        let labels = "{backend_type=\"client backend\",object=\"relation\",context=\"normal\"}"
        #expect(samples["pg_stat_io_read_bytes_total" + labels] == read)
        #expect(samples["pg_stat_io_write_bytes_total" + labels] == written)
        #expect(samples["pg_stat_io_extend_bytes_total" + labels] == extended)
    }
}
