import Testing

@testable import Vitals

/// `--findings.hypopg`'s pure parts: the kept statement, the SQL, the cost reader, the planner
/// and what an estimate adds to a finding.
@Suite struct HypopgTests {
    static let normalizer = StatementNormalizer()
    static let vendors = IndexCandidateKey(relation: "vendors", filter: FilterShape.parse("(category_id = 7)")!)
    static let trigram = IndexCandidateKey(relation: "vendors", filter: FilterShape.parse("((name)::text ~~* '%acme%'::text)")!)

    static func sample(_ statement: String, database: String? = "app") -> StatementSample? {
        let bytes = Array(statement.utf8)
        return StatementSample(statement: bytes, fingerprint: normalizer.fingerprint(bytes), database: database)
    }

    // MARK: The kept statement

    @Test func aSampleKeepsBothFormsAndPrintsNeither() throws {
        let sample = try #require(Self.sample("SELECT id FROM vendors WHERE category_id = 7 AND name = 'secret-acme'"))
        #expect(sample.text(serverVersion: 150_010)?.sql == "SELECT id FROM vendors WHERE category_id = 7 AND name = 'secret-acme'")
        #expect(sample.text(serverVersion: 150_010)?.generic == false)
        let generic = try #require(sample.text(serverVersion: 160_002))
        #expect(generic.generic && generic.sql == "SELECT id FROM vendors WHERE category_id = $1 AND name = $2")
        for shown in ["\(sample)", String(describing: sample), String(reflecting: sample), "\([sample])", "\(Optional(sample) as Any)"] {
            #expect(!shown.contains("secret") && !shown.contains("vendors"), "\(shown)")
        }
        var dumped = ""
        dump(sample, to: &dumped)
        #expect(!dumped.contains("secret"))
    }

    @Test(arguments: [
        "SELECT 1; DELETE FROM vendors", "select 1; commit; delete from vendors", "DELETE FROM vendors WHERE id = 1; SELECT 1", "VACUUM vendors",
        "COMMIT", "CREATE INDEX ON vendors (id)", "", "-- only a comment",
    ])
    func onlyOneExplainableStatementIsKept(_ statement: String) {
        #expect(Self.sample(statement) == nil)
    }

    @Test func aTrailingSemicolonIsOneStatement() throws {
        let sample = try #require(Self.sample("SELECT id FROM vendors WHERE category_id = 7;"))
        #expect(sample.text(serverVersion: 150_000) != nil)
        #expect(HypopgStatements.explain(sample.text(serverVersion: 150_000)!.sql, generic: false) == "EXPLAIN (FORMAT JSON) SELECT id FROM vendors WHERE category_id = 7")
    }

    @Test func parametersNeedAGenericPlanAndCollapsedListsCannotHaveOne() throws {
        // Extended protocol: `$1` was bound to a value vitals never read; only PG16+ can plan it.
        let bound = try #require(Self.sample("SELECT id FROM vendors WHERE category_id = $1"))
        #expect(bound.text(serverVersion: 150_000) == nil)
        #expect(bound.text(serverVersion: 160_000)?.sql == "SELECT id FROM vendors WHERE category_id = $1")
        // `IN (...)` is not SQL: the literal text serves older servers and newer alike.
        let list = try #require(Self.sample("SELECT id FROM vendors WHERE category_id IN (1, 2, 3)"))
        #expect(list.text(serverVersion: 160_000)?.generic == false)
        #expect(Self.sample("SELECT id FROM vendors WHERE category_id IN ($1, $2)") == nil)
    }

    @Test func aLongStatementIsNotKept() {
        let long = "SELECT id FROM vendors WHERE name = '" + String(repeating: "x", count: StatementSample.maxLength) + "'"
        #expect(Self.sample(long)?.text(serverVersion: 150_000) == nil)
    }

    @Test func candidatesKeepOneSampleOnlyWhenAsked() throws {
        let plan = PlanParser.parse(IndexCandidatePlanTests.jsonPlan).summary
        var off = IndexCandidates()
        off.observe(plan, seconds: 1, sample: { Self.sample("SELECT 1") })
        #expect(off.samples.isEmpty)
        var on = IndexCandidates(keepsSamples: true)
        var made = 0
        for statement in ["SELECT id FROM vendors WHERE category_id = 7", "SELECT id FROM vendors WHERE category_id = 8"] {
            on.observe(plan, seconds: 1, sample: { made += 1; return Self.sample(statement) })
        }
        #expect(made == 2)
        #expect(on.samples.count == 1)
        #expect(on.samples.values.first?.text(serverVersion: 150_000)?.sql == "SELECT id FROM vendors WHERE category_id = 8")
    }

    static let planLog = """
        2026-11-24 16:46:25.639 UTC [6102] app@shop LOG:  duration: 120.152 ms  plan:
        \tQuery Text: SELECT id FROM vendors WHERE category_id = 7 AND note <> 'SECRET-LITERAL-9137';
        \tSeq Scan on vendors  (cost=0.00..1893.00 rows=5 width=40) (actual rows=12 loops=1)
        \t  Filter: ((note <> 'SECRET-LITERAL-9137'::text) AND (category_id = 7))
        \t  Rows Removed by Filter: 59988
        2026-11-24 16:46:25.640 UTC [6102] app@shop LOG:  duration: 121.021 ms  statement: SELECT id FROM vendors WHERE category_id = 7 AND note <> 'SECRET-LITERAL-9137';

        """

    /// The slow-query source keeps the statement only with `--findings.hypopg`, and nothing it
    /// publishes or logs carries it.
    @Test(arguments: [false, true])
    func theIngesterKeepsTheStatementOnlyWhenAsked(_ keep: Bool) throws {
        var logged: [String] = []
        let registry = MetricRegistry()
        var ingester = SlowQueryIngester(
            settings: .init(prefix: LogLinePrefix("%m [%p] %q%u@%d "), nPlusOne: .init(), keepStatementSamples: keep),
            metrics: try SlowQueryMetrics(registry: registry), logSink: { logged.append($0.formatted(.json)) })
        for line in Self.planLog.split(separator: "\n", omittingEmptySubsequences: false) { ingester.ingest(String(line), now: 0) }
        let report = ingester.endOfPoll(linesRead: 6, now: 0)
        _ = ingester.endOfPoll(linesRead: 0, now: 1)
        let candidates = ingester.takeIndexCandidatesChange()
        #expect(candidates?.count == 1)
        #expect(ingester.statementSamples.count == (keep ? 1 : 0))
        if keep {
            let sample = try #require(ingester.statementSamples.values.first)
            #expect(sample.database == "shop")
            #expect(sample.text(serverVersion: 150_000)?.sql.contains("SECRET-LITERAL-9137") == true)
            #expect(sample.text(serverVersion: 160_000)?.sql == "SELECT id FROM vendors WHERE category_id = $1 AND note <> $2")
        }
        let published = logged.joined() + "\(String(describing: report))" + String(decoding: ExpositionWriter(format: .prometheusText).write(registry.gather()), as: UTF8.self)
        #expect(!published.contains("SECRET") && !logged.isEmpty)
    }

    // MARK: The SQL

    @Test func theHypotheticalIndexIsTheFindingsOwnWithoutConcurrently() {
        let (suggested, _) = Self.vendors.filter.suggestedIndex(on: Self.vendors.relation)
        #expect(suggested == "CREATE INDEX CONCURRENTLY ON vendors (category_id);")
        #expect(HypopgStatements.indexDefinition(for: Self.vendors) == "CREATE INDEX ON vendors (category_id);")
        #expect(suggested.replacingOccurrences(of: " CONCURRENTLY", with: "") == HypopgStatements.indexDefinition(for: Self.vendors))
        // hypopg simulates btree, not a trigram GIN.
        #expect(HypopgStatements.indexDefinition(for: Self.trigram) == nil)
    }

    @Test(arguments: [
        ("vendors", "vendors"), ("public.vendors", "public.vendors"), ("\"Order Items\"", "\"Order Items\""), ("Order Items", "\"Order Items\""),
        ("sales.\"Order\"\"s\"", "sales.\"Order\"\"s\""), ("a\"; DROP TABLE x; --", "\"a\"\"; DROP TABLE x; --\""),
    ])
    func relationsAreQuotedOnce(_ relation: String, _ written: String) {
        let key = IndexCandidateKey(relation: relation, filter: FilterShape.parse("(category_id = 7)")!)
        #expect(HypopgStatements.indexDefinition(for: key) == "CREATE INDEX ON \(written) (category_id);")
    }

    @Test func theTransactionIsReadOnlyAndBounded() {
        #expect(HypopgStatements.begin(statementTimeout: .milliseconds(2500)) == "BEGIN READ ONLY; SET LOCAL statement_timeout = 2500; SET LOCAL lock_timeout = 2500")
        #expect(HypopgStatements.explain("SELECT $1::int", generic: true) == "EXPLAIN (FORMAT JSON, GENERIC_PLAN) SELECT $1::int")
        #expect(HypopgStatements.createIndex.contains("$1"))
    }

    // MARK: EXPLAIN's cost

    static let seqScanPlan = #"""
        [
          {
            "Plan": {
              "Node Type": "Seq Scan", "Parallel Aware": false, "Async Capable": false, "Relation Name": "vendors", "Alias": "vendors",
              "Startup Cost": 0.00, "Total Cost": 1943.00, "Plan Rows": 11, "Plan Width": 4, "Filter": "(category_id = 7)"
            }
          }
        ]
        """#
    static let indexPlan = #"""
        [{"Plan": {"Node Type": "Limit", "Total Cost": 8.30, "Plans": [{"Node Type": "Index Scan", "Parent Relationship": "Outer",
          "Index Name": "<13542>btree_vendors_category_id", "Relation Name": "vendors", "Total Cost": 8.29}]}}]
        """#

    @Test func theCostIsTheRootsTotalAndTheIndexesAreEveryNodes() throws {
        let before = try #require(ExplainCost.parse(Self.seqScanPlan))
        #expect(before.totalCost == 1943 && before.indexNames.isEmpty)
        let after = try #require(ExplainCost.parse(Self.indexPlan))
        #expect(after.totalCost == 8.30)
        #expect(after.indexNames == ["<13542>btree_vendors_category_id"])
    }

    @Test(arguments: ["", "[]", "[{}]", "{\"Plan\": {}}", "[{\"Plan\": {\"Total Cost\": -1}}]", "not json", "[{\"Plan\": {\"Total Cost\": \"x\"}}]"])
    func anUnreadablePlanHasNoCost(_ text: String) {
        #expect(ExplainCost.parse(text) == nil)
    }

    // MARK: The planner

    static func totals(_ seconds: Double) -> IndexCandidateTotals { IndexCandidateTotals(statements: 1, seconds: seconds) }

    static func keys(_ count: Int) -> [IndexCandidateKey] {
        (0..<count).map { IndexCandidateKey(relation: "t\($0)", filter: FilterShape.parse("(category_id = 7)")!) }
    }

    @Test func nothingToEstimateAsksNothingOfTheServer() {
        var planner = HypopgPlanner()
        #expect(planner.next(now: 0, candidates: [Self.vendors: Self.totals(1)], samples: [:], serverVersion: 150_000, database: "app") == .idle)
        // A trigram candidate, or one from another database, is not estimable here.
        let samples = [Self.trigram: Self.sample("SELECT 1 FROM vendors WHERE name ILIKE '%a%'")!, Self.vendors: Self.sample("SELECT 1", database: "other")!]
        #expect(planner.next(now: 0, candidates: [Self.trigram: Self.totals(1), Self.vendors: Self.totals(1)], samples: samples, serverVersion: 150_000, database: "app") == .idle)
        #expect(planner.installed == nil)
    }

    @Test func withoutTheExtensionNothingIsEstimatedAndItIsAskedAgainLater() {
        var planner = HypopgPlanner()
        let candidates = [Self.vendors: Self.totals(1)]
        let samples = [Self.vendors: Self.sample("SELECT id FROM vendors WHERE category_id = 7")!]
        #expect(planner.next(now: 0, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .checkExtension)
        planner.extensionChecked(installed: false, now: 0)
        #expect(planner.next(now: 1, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .idle)
        #expect(planner.next(now: 599, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .idle)
        #expect(planner.next(now: 600, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .checkExtension)
    }

    @Test func theCostliestFewAreEstimatedAndEachOnlyOnceInTheInterval() throws {
        var planner = HypopgPlanner()
        let keys = Self.keys(5)
        var candidates: [IndexCandidateKey: IndexCandidateTotals] = [:]
        var samples: [IndexCandidateKey: StatementSample] = [:]
        for (index, key) in keys.enumerated() {
            candidates[key] = Self.totals(Double(index))
            samples[key] = Self.sample("SELECT id FROM \(key.relation) WHERE category_id = 7")
        }
        planner.extensionChecked(installed: true, now: 0)
        guard case .estimate(let first) = planner.next(now: 10, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") else {
            Issue.record("expected estimates")
            return
        }
        #expect(first.map(\.key.relation) == ["t4", "t3", "t2"])
        #expect(first[0].indexDefinition == "CREATE INDEX ON t4 (category_id);")
        #expect(first[0].generic == false && first[0].statement == "SELECT id FROM t4 WHERE category_id = 7")
        guard case .estimate(let second) = planner.next(now: 20, candidates: candidates, samples: samples, serverVersion: 160_000, database: "app") else {
            Issue.record("expected estimates")
            return
        }
        #expect(second.map(\.key.relation) == ["t1", "t0"])
        #expect(second[0].generic && second[0].statement == "SELECT id FROM t1 WHERE category_id = $1")
        #expect(planner.next(now: 30, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .idle)
        #expect(planner.next(now: 610, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") == .checkExtension)
        planner.extensionChecked(installed: true, now: 610)
        guard case .estimate(let again) = planner.next(now: 610, candidates: candidates, samples: samples, serverVersion: 150_000, database: "app") else {
            Issue.record("expected estimates after the interval")
            return
        }
        #expect(again.count == 3)
    }

    // MARK: The finding

    @Test func anEstimateAddsItsCostsToTheFinding() throws {
        var candidates = IndexCandidates()
        for _ in 0..<30 { candidates.observe(PlanParser.parse(IndexCandidatePlanTests.jsonPlan).summary, seconds: 0.5) }
        var latest = MetricFrame(time: 300)
        latest.indexCandidates = candidates.totals
        let key = try #require(candidates.totals.keys.first)
        latest.indexEstimates = [key: IndexCostEstimate(costBefore: 1943, costAfter: 8.3, usesIndex: true, estimatedAt: 290)]
        let inputs = FindingInputs(earliest: MetricFrame(time: 0), previous: MetricFrame(time: 285), latest: latest)
        let finding = try #require(FindingRules.evaluate(inputs, settings: FindingSettings()).first)
        #expect(finding.evidence.first { $0.name == "estimated_cost_before" }?.value == 1943)
        #expect(finding.evidence.first { $0.name == "estimated_cost_after" }?.value == 8.3)
        #expect(finding.evidence.filter { $0.unit == "cost" }.count == 2)
        #expect(finding.action.hasSuffix("CREATE INDEX CONCURRENTLY ON vendors (category_id); hypopg estimates the plan cost falls from 1943 to 8.3."))

        latest.indexEstimates[key]?.usesIndex = false
        latest.indexEstimates[key]?.costAfter = 1943
        let unused = try #require(FindingRules.evaluate(FindingInputs(earliest: MetricFrame(time: 0), previous: MetricFrame(time: 285), latest: latest), settings: FindingSettings()).first)
        #expect(unused.action.contains("would not use this index"))

        latest.indexEstimates = [:]
        let plain = try #require(FindingRules.evaluate(FindingInputs(earliest: MetricFrame(time: 0), previous: MetricFrame(time: 285), latest: latest), settings: FindingSettings()).first)
        #expect(!plain.evidence.contains { $0.unit == "cost" } && !plain.action.contains("hypopg"))
    }

    @Test func errorsNameAReasonAndNeverTheServersMessage() {
        let server = PostgresError(.query, sqlState: "42601", detail: "syntax error at or near \"'secret'\"")
        let error = HypopgError(server, during: .statement)
        #expect(error.code == .statement)
        #expect(!error.description.contains("secret") && !"\(error)".contains("secret"))
        #expect(HypopgError(PostgresError(.timeout, sqlState: "57014"), during: .index).code == .timeout)
        #expect(HypopgError(PostgresError(.connectionLost), during: .index).code == .connection)
        #expect(Set(HypopgError.Code.allCases.map(\.description)).count == 6)
    }
}
