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
            let before = try session.query(explain, parameters: [])
            step = .index
            let created = try session.query(HypopgStatements.createIndex, parameters: [job.indexDefinition])
            step = .statement
            let after = try session.query(explain, parameters: [])
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

    static func cost(_ rows: PostgresRows) -> ExplainCost? {
        rows.first?["QUERY PLAN"].flatMap(ExplainCost.parse)
    }
}
