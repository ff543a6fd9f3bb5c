import Testing

@testable import Vitals

@Suite struct FilterShapeTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let filter: String
        let conditions: [String]
        let ddl: String
        var testDescription: String { filter }
    }

    @Test(arguments: [
        Row(filter: "(category_id = 42)", conditions: ["category_id equality"], ddl: "CREATE INDEX CONCURRENTLY ON vendors (category_id);"),
        Row(
            filter: "((name)::text ~~* '%acme%'::text)", conditions: ["name contains_pattern"],
            ddl: "CREATE INDEX CONCURRENTLY ON vendors USING gin (name gin_trgm_ops);"),
        Row(filter: "((name)::text ~~ 'acme%'::text)", conditions: ["name prefix_pattern"], ddl: "CREATE INDEX CONCURRENTLY ON vendors (name text_pattern_ops);"),
        Row(
            filter: "((name)::text ~~* $1)", conditions: ["name contains_pattern"],
            ddl: "CREATE INDEX CONCURRENTLY ON vendors USING gin (name gin_trgm_ops);"),
        Row(filter: "((name)::text ~~ $1)", conditions: ["name contains_pattern"], ddl: "CREATE INDEX CONCURRENTLY ON vendors USING gin (name gin_trgm_ops);"),
        Row(
            filter: "((status = 'open'::text) AND (created_at >= '2026-01-01 00:00:00+00'::timestamp with time zone))",
            conditions: ["status equality", "created_at range"], ddl: "CREATE INDEX CONCURRENTLY ON vendors (status, created_at);"),
        Row(filter: "(v.\"Region\" = ANY ('{eu,us}'::text[]))", conditions: ["Region equality"], ddl: "CREATE INDEX CONCURRENTLY ON vendors (\"Region\");"),
    ])
    func shapesAndSuggestions(_ row: Row) throws {
        let shape = try #require(FilterShape.parse(row.filter))
        #expect(shape.conditions.map { "\($0.column) \($0.comparison.rawValue)" } == row.conditions)
        #expect(shape.suggestedIndex(on: "vendors").ddl == row.ddl)
    }

    /// Reserved words as table or column names are quoted, or the suggested DDL would not run.
    @Test func reservedWordsAreQuoted() throws {
        let shape = try #require(FilterShape.parse("(\"user\" = 42)"))
        #expect(shape.suggestedIndex(on: "public.order").ddl == "CREATE INDEX CONCURRENTLY ON public.\"order\" (\"user\");")
        #expect(FilterShape.sqlIdentifier("orders") == "orders")
        #expect(FilterShape.sqlIdentifier("group") == "\"group\"")
        #expect(FilterShape.sqlIdentifier("current_user") == "\"current_user\"")
    }

    @Test(arguments: ["('acme'::text = name)", "(name IS NULL)", "(lower(x) ~~ $1)", "", "((a = b) OR c)"])
    func noLiteralEverBecomesAColumn(_ filter: String) {
        let columns = FilterShape.parse(filter)?.conditions.map(\.column) ?? []
        #expect(!columns.contains("acme") && !columns.contains("'acme'"))
    }
}

@Suite struct IndexCandidatePlanTests {
    static let textPlan = """
        Query Text: SELECT id, name FROM vendors WHERE name ILIKE '%acme%'
        Seq Scan on vendors  (cost=0.00..1893.00 rows=5 width=40) (actual time=0.020..18.200 rows=3 loops=1)
          Filter: ((name)::text ~~* '%acme%'::text)
          Rows Removed by Filter: 59997
        """

    static let jsonPlan = #"""
        {"Query Text": "SELECT id FROM vendors WHERE category_id = 7", "Plan": {"Node Type": "Seq Scan", "Parallel Aware": false,
         "Relation Name": "vendors", "Alias": "vendors", "Actual Rows": 12, "Actual Loops": 1,
         "Filter": "(category_id = 7)", "Rows Removed by Filter": 59988}}
        """#

    @Test func textAndJSONPlansKeepTheFilterShapeOnly() throws {
        let text = PlanParser.parse(Self.textPlan).summary
        let scan = try #require(text.nodes.first)
        #expect(scan.filter?.conditions.first?.comparison == .containsPattern)
        #expect(scan.rowsRemovedByFilter == 59997)
        #expect(!"\(text)".contains("acme"))
        let json = PlanParser.parse(Self.jsonPlan).summary
        #expect(json.nodes.first?.filter?.conditions.map(\.column) == ["category_id"])
        #expect(json.nodes.first?.rowsRemovedByFilter == 59988)
        #expect(!"\(json)".contains("= 7"))
    }

    @Test func onlyLargeScansThatThrowMostRowsAwayAreCandidates() {
        var candidates = IndexCandidates()
        let first = candidates.observe(PlanParser.parse(Self.textPlan).summary, seconds: 0.02)
        let second = candidates.observe(PlanParser.parse(Self.textPlan).summary, seconds: 0.03)
        #expect(first && second)
        let small = PlanSummary(nodes: [.init(type: "Seq Scan", relation: "tiny", rows: 1, filter: FilterShape.parse("(id = 1)"), rowsRemovedByFilter: 99)])
        let smallCounted = candidates.observe(small, seconds: 1)
        #expect(!smallCounted)
        let unselective = PlanSummary(nodes: [.init(type: "Seq Scan", relation: "big", rows: 50_000, filter: FilterShape.parse("(flag = true)"), rowsRemovedByFilter: 50_000)])
        let unselectiveCounted = candidates.observe(unselective, seconds: 1)
        #expect(!unselectiveCounted)
        #expect(candidates.totals.count == 1)
        let totals = candidates.totals.values.first
        #expect(totals?.statements == 2)
        #expect(totals?.rowsScanned == 60_000)
    }

    @Test func theRuleSuggestsTheIndexWithTheTimeItWouldServe() throws {
        var candidates = IndexCandidates()
        for _ in 0..<30 { candidates.observe(PlanParser.parse(Self.textPlan).summary, seconds: 0.5) }
        var latest = MetricFrame(time: 300)
        latest.indexCandidates = candidates.totals
        let finding = try #require(FindingRules.evaluate(FindingInputs(earliest: MetricFrame(time: 0), previous: MetricFrame(time: 285), latest: latest), settings: FindingSettings()).first)
        #expect(finding.kind == .missingIndex)
        #expect(finding.subject == "vendors (name)")
        #expect(finding.action.contains("CREATE INDEX CONCURRENTLY ON vendors USING gin (name gin_trgm_ops);"))
        #expect(finding.action.contains("pg_trgm"))
        #expect(finding.impactSecondsPerMinute == 3)
        #expect(!finding.action.contains("acme"))
    }
}
