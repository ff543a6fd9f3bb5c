/// Which index candidates to estimate with hypopg, and when: a value that reads no clock and
/// does no I/O. After each collection pass the target asks ``next(now:candidates:samples:serverVersion:database:)``
/// for an action, carries it out, and reports back.
///
/// The bounds: at most ``Settings/maxPerPass`` estimates per pass, the costliest candidates
/// first; a candidate is tried again (estimated or failed) only after ``Settings/retryInterval``;
/// whether hypopg is installed is asked again only after ``Settings/extensionRecheck``, and only
/// while there is something to estimate.
struct HypopgPlanner: Sendable {
    struct Settings: Sendable, Equatable {
        var maxPerPass = 3
        var retryInterval: Double = 600
        var extensionRecheck: Double = 600
    }

    /// One estimate to make. Its statement holds literals on servers before 16: it goes to the
    /// server and nowhere else.
    struct Job: Sendable, Equatable {
        var key: IndexCandidateKey
        var statement: String
        var generic: Bool
        var indexDefinition: String
    }

    enum Action: Sendable, Equatable {
        case idle
        case checkExtension
        case estimate([Job])
    }

    let settings: Settings
    /// nil until checked.
    private(set) var installed: Bool?
    private var checkedAt: Double?
    private var attempted: [IndexCandidateKey: Double] = [:]

    init(settings: Settings = Settings()) {
        self.settings = settings
    }

    /// - Parameters:
    ///   - serverVersion: `PQserverVersion` of the session that will run the estimates.
    ///   - database: the session's database; a sample from another database is not this target's.
    mutating func next(
        now: Double, candidates: [IndexCandidateKey: IndexCandidateTotals], samples: [IndexCandidateKey: StatementSample], serverVersion: Int,
        database: String
    ) -> Action {
        attempted = attempted.filter { now - $0.value < settings.retryInterval && now >= $0.value }
        var eligible: [(job: Job, seconds: Double)] = []
        for (key, totals) in candidates {
            guard let sample = samples[key], sample.database == nil || sample.database == database,
                let (statement, generic) = sample.text(serverVersion: serverVersion),
                let definition = HypopgStatements.indexDefinition(for: key)
            else { continue }
            eligible.append((Job(key: key, statement: statement, generic: generic, indexDefinition: definition), totals.seconds))
        }
        guard !eligible.isEmpty else { return .idle }
        if installed == nil || checkedAt.map({ now - $0 >= settings.extensionRecheck || now < $0 }) == true { return .checkExtension }
        guard installed == true else { return .idle }
        let due = eligible.filter { attempted[$0.job.key] == nil }
            .sorted { ($0.seconds, Self.order($1.job.key)) > ($1.seconds, Self.order($0.job.key)) }
            .prefix(settings.maxPerPass)
        guard !due.isEmpty else { return .idle }
        for item in due { attempted[item.job.key] = now }
        return .estimate(due.map(\.job))
    }

    mutating func extensionChecked(installed: Bool, now: Double) {
        self.installed = installed
        checkedAt = now
    }

    /// The connection was replaced (new credentials, reconnect): the extension may differ.
    mutating func forgetExtension() {
        installed = nil
        checkedAt = nil
    }

    /// A stable tie-break between candidates of equal cost.
    static func order(_ key: IndexCandidateKey) -> String {
        key.relation + "\u{0}" + key.filter.conditions.map { $0.column + ":" + $0.comparison.rawValue }.joined(separator: ",")
    }
}
