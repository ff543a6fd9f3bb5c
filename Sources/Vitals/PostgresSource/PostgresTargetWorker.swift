/// What one collector produced in one pass.
public struct PostgresCollectorOutcome: Sendable {
    public var success: Bool
    public var duration: Double
    public var metrics: PostgresMetricSink
    public var error: PostgresError?
    public var statements: [PostgresStatementEntry]?
    public var statementTexts: PostgresStatementTexts?
    public var mappedRows: PostgresMappedRows?

    public init(
        success: Bool, duration: Double, metrics: PostgresMetricSink = PostgresMetricSink(), error: PostgresError? = nil,
        statements: [PostgresStatementEntry]? = nil, statementTexts: PostgresStatementTexts? = nil, mappedRows: PostgresMappedRows? = nil
    ) {
        self.success = success
        self.duration = duration
        self.metrics = metrics
        self.error = error
        self.statements = statements
        self.statementTexts = statementTexts
        self.mappedRows = mappedRows
    }
}

/// What one pass (fast or slow) produced.
public struct PostgresPassResult: Sendable {
    /// nil when the main connection worked; otherwise why it did not (the target is down).
    public var connectionError: PostgresError?
    public var outcomes: [PostgresCollectorName: PostgresCollectorOutcome] = [:]
    /// `SELECT version()` of the server, once connected.
    public var version: String?
    public var serverVersion: Int = 0
    public var duration: Double = 0
}

/// The blocking half of one target: owns its libpq connection and runs passes on the target's
/// own thread (never an event loop, never the shared thread pool).
///
/// Connections: the main connection is long-lived and reused pass after pass. Per-table
/// statistics need a connection *in each database*; to keep the promise "at most one connection
/// per target at any moment", the slow pass closes the main connection, visits the other
/// databases one at a time (each connection closed before the next opens), and the next fast pass
/// reconnects. That costs one reconnect per slow interval, and only when another database is due:
/// one found without user tables is visited again only every tenth slow pass (``DatabaseVisitSchedule``).
///
/// Not thread-safe by design: only the target's single worker thread calls it.
final class PostgresTargetWorker: @unchecked Sendable {
    struct Settings: Sendable {
        var info: PostgresConnectionInfo
        var timeout: Duration
        var statementTimeout: Duration
        var lockTimeout: Duration
        var context: PostgresCollectionContext
        var fastCollectors: [any PostgresCollector]
        var slowCollectors: [any PostgresCollector]
        var tablesEnabled: Bool
        /// Send the statements the last pass asked in one pipeline (``PostgresReplay``).
        var pipeline = true
    }

    private var settings: Settings
    private let cancellation: PostgresCancellation
    private var connection: PostgresConnection?
    private var version: String?
    private var visits = DatabaseVisitSchedule()
    /// Per set of collectors (the slow ones, the fast ones with and without the statements
    /// collector), the statements they asked last time and that worked: their next pipeline.
    private var plans: [[PostgresCollectorName]: [String]] = [:]
    /// The statements collector's texts, carried from pass to pass; a failed pass keeps them.
    private var statementTexts = PostgresStatementTexts()
    /// What each collector last mapped, carried from pass to pass; a collector that fails loses it.
    private var mappedRows: [PostgresCollectorName: PostgresMappedRows] = [:]

    init(settings: Settings, cancellation: PostgresCancellation) {
        self.settings = settings
        self.cancellation = cancellation
    }

    deinit { connection?.close() }

    /// `SET` the session timeouts, then read the version: one round trip after connecting.
    var sessionSetup: String {
        "SET statement_timeout = \(Self.milliseconds(settings.statementTimeout)); SET lock_timeout = \(Self.milliseconds(settings.lockTimeout)); SELECT version() AS version"
    }

    static func milliseconds(_ duration: Duration) -> Int { max(1, Int((duration.seconds * 1000).rounded())) }

    func close() {
        connection?.close()
        connection = nil
    }

    /// New credentials (a rotated `DATA_SOURCE_NAME_FILE`): the next pass connects with them.
    func replace(_ info: PostgresConnectionInfo) {
        settings.info = info
        // Perhaps another server, whose queryids name other statements.
        statementTexts = PostgresStatementTexts()
        mappedRows = [:]
        close()
    }

    /// Opens a connection to the DSN's database (or `database`), bounded by `deadline`.
    private func open(database: String? = nil, deadline: ContinuousClock.Instant) throws(PostgresError) -> (PostgresConnection, String?) {
        var addresses: [String] = []
        if let host = settings.info.hostToResolve {
            do {
                addresses = try HostResolver.addresses(of: host, deadline: deadline)
            } catch {
                throw PostgresError(error.code == .unknownHost ? .connect : .timeout, detail: error.description)
            }
        }
        let parameters = settings.info.connectParameters(connectTimeout: settings.timeout, database: database, hostAddresses: addresses)
        let connection = try PostgresConnection.connect(
            parameters: parameters, redactor: settings.info.redactor, cancellation: cancellation, deadline: deadline)
        let version = try connection.query(sessionSetup).first?["version"]
        return (connection, version)
    }

    /// The main connection, reconnecting when there is none.
    private func mainConnection(deadline: ContinuousClock.Instant) throws(PostgresError) -> PostgresConnection {
        if let connection, connection.isOpen {
            connection.deadline = deadline
            return connection
        }
        close()
        let (opened, version) = try open(deadline: deadline)
        connection = opened
        self.version = version
        return opened
    }

    /// The fast collectors, on the main connection, bounded by the pass's deadline. Without
    /// `readingStatements` the statements collector does not run, and its last outcome stands
    /// (``StatementsReadSchedule``).
    func fastPass(_ pass: CollectionPass, readingStatements: Bool = true) -> PostgresPassResult {
        let start = ContinuousClock.now
        var result = PostgresPassResult()
        do {
            let main = try mainConnection(deadline: pass.deadline)
            result.version = version
            result.serverVersion = main.serverVersion
            let collectors = readingStatements ? settings.fastCollectors : settings.fastCollectors.filter { $0.name != .statStatements }
            run(collectors, on: main, into: &result)
        } catch {
            close()
            result.connectionError = error
        }
        result.duration = (ContinuousClock.now - start).seconds
        return result
    }

    /// Runs collectors, their statements sent at once as the previous run of the same collectors
    /// asked them (``PostgresReplay``): at rest, a pass is one round trip where it was one per statement.
    private func run(_ collectors: [any PostgresCollector], on main: PostgresConnection, into result: inout PostgresPassResult) {
        var context = settings.context
        context.serverVersion = main.serverVersion
        context.statementTexts = statementTexts
        context.mappedRows = mappedRows
        let planKey = collectors.map(\.name)
        let plan = settings.pipeline ? plans[planKey] ?? [] : []
        do {
            let answers = plan.isEmpty ? [] : try main.pipeline(plan)
            let session = PostgresReplaySession(live: main, plan: plan, answers: answers)
            Self.run(collectors, on: session, context: context, into: &result)
            plans[planKey] = session.nextPlan
        } catch {
            // The pipeline broke the connection, as a query can: the target is down this pass.
            result.connectionError = error
            Self.run(collectors, on: main, context: context, into: &result)
        }
        if result.connectionError != nil { close() }
        if let texts = result.outcomes[.statStatements]?.statementTexts { statementTexts = texts }
        for collector in collectors { mappedRows[collector.name] = result.outcomes[collector.name]?.mappedRows }
    }

    /// Runs collectors in order; a failing one is recorded (success 0, no series) and the others
    /// still run, unless the connection itself broke: then the target is down and the remaining
    /// collectors are reported failed without touching the connection again.
    static func run(
        _ collectors: [any PostgresCollector], on session: any PostgresQuerying, context: PostgresCollectionContext,
        into result: inout PostgresPassResult
    ) {
        for collector in collectors {
            if let broken = result.connectionError {
                result.outcomes[collector.name] = PostgresCollectorOutcome(success: false, duration: 0, error: broken)
                continue
            }
            let started = ContinuousClock.now
            var output = PostgresCollectorOutput()
            do {
                try collector.collect(session, context: context, into: &output)
                result.outcomes[collector.name] = PostgresCollectorOutcome(
                    success: true, duration: (ContinuousClock.now - started).seconds + session.takePrefetchedSeconds(), metrics: output.metrics,
                    statements: output.statements, statementTexts: output.statementTexts, mappedRows: output.mappedRows)
            } catch {
                result.outcomes[collector.name] = PostgresCollectorOutcome(
                    success: false, duration: (ContinuousClock.now - started).seconds + session.takePrefetchedSeconds(), error: error)
                if error.breaksConnection { result.connectionError = error }
            }
        }
    }

    /// The slow collectors and the per-database table statistics. Each step has a timeout of its
    /// own, and the pass's deadline moves on with it.
    func slowPass(_ pass: CollectionPass) -> PostgresPassResult {
        let start = ContinuousClock.now
        var result = PostgresPassResult()
        do {
            let main = try mainConnection(deadline: pass.stepDeadline(start + settings.timeout))
            result.version = version
            result.serverVersion = main.serverVersion
            run(settings.slowCollectors, on: main, into: &result)
            if settings.tablesEnabled, result.connectionError == nil {
                let tables = collectTables(main: main, pass: pass)
                result.outcomes[StatUserTablesCollector.name] = tables
                mappedRows[StatUserTablesCollector.name] = tables.mappedRows
            }
        } catch {
            close()
            result.connectionError = error
        }
        result.duration = (ContinuousClock.now - start).seconds
        return result
    }

    /// One step's timeout: what each hypopg estimate gets.
    var stepTimeout: Duration { settings.timeout }

    /// Runs `body` on the main connection when it is open (an estimate never opens one of its
    /// own), with the session's statement_timeout. `body` says whether the session is still
    /// clean; when not, it is closed and the next pass reconnects.
    func withMainConnection<Result>(pass: CollectionPass, _ body: (PostgresConnection, Duration) -> (Result, Bool)) -> Result? {
        guard let connection, connection.isOpen, !cancellation.isCancelled else { return nil }
        connection.deadline = pass.stepDeadline(ContinuousClock.now + settings.timeout)
        let (result, clean) = body(connection, min(settings.statementTimeout, settings.timeout))
        if !clean { close() }
        return result
    }

    /// Visits each allowed database in turn, one connection at a time.
    private func collectTables(main: PostgresConnection, pass: CollectionPass) -> PostgresCollectorOutcome {
        let started = ContinuousClock.now
        var context = settings.context
        context.serverVersion = main.serverVersion
        let limit = context.tablesLimit
        let home = main.database
        main.deadline = pass.stepDeadline(ContinuousClock.now + settings.timeout)
        var visited: [StatUserTablesCollector.DatabaseTables] = []
        var failure: PostgresError?
        do throws(PostgresError) {
            let names = try main.query(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate AND has_database_privilege(datname, 'CONNECT')"
            ).rows.compactMap { $0["datname"] }
            let databases = context.databases.select(names)
            if databases.contains(home) {
                visited.append(try StatUserTablesCollector.query(main, limit: limit))
            }
            let others = visits.due(databases.filter { $0 != home })
            if !others.isEmpty {
                // At most one connection per target, even now, and as the server counts them.
                connection?.closeAndWaitForServer()
                connection = nil
            }
            for database in others {
                do throws(PostgresError) {
                    let deadline = pass.stepDeadline(ContinuousClock.now + settings.timeout)
                    let (visit, _) = try open(database: database, deadline: deadline)
                    defer { visit.closeAndWaitForServer() }
                    let tables = try StatUserTablesCollector.query(visit, limit: limit)
                    visits.visited(database, userTables: tables.tables.count)
                    visited.append(tables)
                } catch where error.code == .auth || error.code == .permission {
                    // A database this role may not read: skip it, keep the others.
                    visits.failed(database)
                    failure = error
                } catch {
                    visits.failed(database)
                    throw error
                }
            }
        } catch {
            // A timeout or a lost server: stop visiting, the next fast pass will tell whether it is down.
            failure = error
            if error.breaksConnection { close() }
        }
        context.mappedRows = mappedRows
        var output = PostgresCollectorOutput()
        output.map(visited.flatMap { [$0.tables, $0.indexes] }, of: StatUserTablesCollector.name, context: context) { _, sink in
            StatUserTablesCollector.map(visited, limit: limit, into: &sink)
        }
        return PostgresCollectorOutcome(
            success: failure == nil, duration: (ContinuousClock.now - started).seconds, metrics: output.metrics, error: failure,
            mappedRows: failure == nil ? output.mappedRows : nil)
    }
}
