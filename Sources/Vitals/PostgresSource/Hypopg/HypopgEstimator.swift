/// Runs one estimate on a session: read-only transaction, EXPLAIN, hypothetical index, EXPLAIN,
/// reset, rollback. Blocking: only ever called on the Postgres target's worker thread.
enum HypopgEstimator {
    struct Outcome: Sendable {
        var result: Result<IndexCostEstimate, HypopgError>
        /// False when the session may still be inside the transaction or hold a hypothetical
        /// index: the caller closes it.
        var sessionClean: Bool
    }

    static func isInstalled(on session: some PostgresQuerying) throws(PostgresError) -> Bool {
        try !session.query(HypopgStatements.extensionInstalled).isEmpty
    }

    static func estimate(_ job: HypopgPlanner.Job, on session: some PostgresParameterQuerying, statementTimeout: Duration, now: Double) -> Outcome {
        var step = HypopgError.Code.statement
        do {
            _ = try session.query(HypopgStatements.begin(statementTimeout: statementTimeout))
            let explain = HypopgStatements.explain(job.statement, generic: job.generic)
            let before = try explainQuery(explain, generic: job.generic, on: session)
            step = .index
            let created = try session.query(HypopgStatements.createIndex, parameters: [job.indexDefinition])
            step = .statement
            let after = try explainQuery(explain, generic: job.generic, on: session)
            _ = try session.query(HypopgStatements.reset)
            _ = try session.query(HypopgStatements.rollback)
            guard let costBefore = cost(before), let costAfter = cost(after), let name = created.first?["indexname"] else {
                return Outcome(result: .failure(HypopgError(.plan)), sessionClean: true)
            }
            let estimate = IndexCostEstimate(
                costBefore: costBefore.totalCost, costAfter: costAfter.totalCost, usesIndex: costAfter.indexNames.contains(name), estimatedAt: now)
            return Outcome(result: .success(estimate), sessionClean: true)
        } catch {
            let failure = HypopgError(error, during: step)
            guard !error.breaksConnection else { return Outcome(result: .failure(failure), sessionClean: false) }
            do {
                _ = try session.query(HypopgStatements.rollbackAndReset)
                return Outcome(result: .failure(failure), sessionClean: true)
            } catch {
                return Outcome(result: .failure(failure), sessionClean: false)
            }
        }
    }

    /// A statement with its literals goes through the extended protocol, where the server itself
    /// refuses a second statement (and a literal the lexer might read otherwise cannot matter).
    /// A generic plan cannot: its `$n` would have to be bound, and the planner folds bound values
    /// into a custom plan (`category_id = NULL` plans as a one-time `false`). Its text is the
    /// normalised one — no literal, no comment, rebuilt from tokens by the same lexer that
    /// checked it holds one statement — so the simple protocol is as safe there.
    static func explainQuery(_ sql: String, generic: Bool, on session: some PostgresParameterQuerying) throws(PostgresError) -> PostgresRows {
        generic ? try session.query(sql) : try session.query(sql, parameters: [])
    }

    static func cost(_ rows: PostgresRows) -> ExplainCost? {
        rows.first?["QUERY PLAN"].flatMap(ExplainCost.parse)
    }
}
