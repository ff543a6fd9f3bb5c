#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// The Postgres source's settings, validated.
public struct PostgresConfiguration: Sendable {
    public static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "postgres.dsn", .strings, environment: ["DATA_SOURCE_NAME"], secret: true,
            help: "libpq connection string (URI or key=value) of a server to watch; repeatable. The source is off without one."),
        ConfigurationKey(
            "postgres.dsn-file", .string, environment: ["DATA_SOURCE_NAME_FILE"],
            help: "File holding the connection string(s), comma-separated; read when no DSN is given."),
        ConfigurationKey(
            ProbeAuthModule.fileKey, .string,
            help: "YAML file with postgres_exporter's auth_modules (type userpass, username, password, options) for /probe?auth_module=NAME; re-read on SIGHUP."),
        ConfigurationKey("postgres.interval", .duration, default: .duration(.seconds(15)), help: "How often the fast collectors run (activity, locks, stat_database, statements…)."),
        ConfigurationKey("postgres.slow-interval", .duration, default: .duration(.seconds(60)), help: "How often settings, database sizes and per-table/index statistics are collected."),
        ConfigurationKey("postgres.timeout", .duration, default: .duration(.seconds(5)), help: "Deadline of one collection step (connect and queries); past it pg_up becomes 0."),
        ConfigurationKey("postgres.statement-timeout", .duration, default: .duration(.seconds(5)), help: "Session statement_timeout of vitals' connections."),
        ConfigurationKey("postgres.lock-timeout", .duration, default: .duration(.seconds(1)), help: "Session lock_timeout of vitals' connections."),
        ConfigurationKey(
            "postgres.pipeline", .bool, default: .bool(true),
            help: "Send a pass's statements in one round trip (libpq pipeline mode); false asks them one at a time, for a pooler that refuses pipelines."),
        ConfigurationKey("postgres.statements.enabled", .bool, default: .bool(true), help: "Collect pg_stat_statements when the extension exists in the connected database."),
        ConfigurationKey(
            "postgres.statements.interval", .duration,
            help: "How often pg_stat_statements is read, a multiple of postgres.interval (default: every fast pass); its series keep their last values in between."),
        ConfigurationKey("postgres.statements.limit", .int, default: .int(100), help: "Statements kept: the top N by total execution time."),
        ConfigurationKey("postgres.statements.query-length", .int, default: .int(1000), help: "Query text served on /statements is cut to this many characters."),
        ConfigurationKey("postgres.tables.limit", .int, default: .int(200), help: "Tables with per-table series: the N largest across databases (their indexes follow)."),
        ConfigurationKey("postgres.databases.limit", .int, default: .int(50), help: "Databases with per-database series and per-table visits, at most."),
        ConfigurationKey("postgres.include-databases", .strings, help: "Only these databases (comma-separated or repeated); default all the role can connect to."),
        ConfigurationKey("postgres.exclude-databases", .strings, help: "Databases to leave out (comma-separated or repeated)."),
        ConfigurationKey(
            "postgres.disable-collector", .strings,
            help: "Collectors to switch off (comma-separated or repeated): \(PostgresCollectorName.allCases.map(\.rawValue).joined(separator: ", "))."),
    ]

    public var targets: [PostgresConnectionInfo]
    public var interval: Duration
    public var slowInterval: Duration
    public var timeout: Duration
    public var statementTimeout: Duration
    public var lockTimeout: Duration
    /// `--postgres.pipeline`: a pass's statements in one round trip.
    public var pipeline: Bool
    public var statementsEnabled: Bool
    /// `--postgres.statements.interval` in fast passes: 1 reads the statements every pass.
    public var statementsEveryPasses: Int
    public var statementsLimit: Int
    public var queryLength: Int
    public var tablesLimit: Int
    public var databases: PostgresDatabaseFilter
    public var disabledCollectors: Set<PostgresCollectorName>
    /// `--findings.hypopg` (a findings key, read here because the estimates run on this source's connection).
    public var hypopgEnabled: Bool

    /// - Parameter readFile: how `postgres.dsn-file` is read; injected by tests.
    public init(values: ConfigurationValues, readFile: (String) -> String? = Self.readFile) throws(ConfigurationError) {
        var dsns = values.strings("postgres.dsn")
        if dsns.isEmpty, let path = values.string("postgres.dsn-file"), !path.isEmpty {
            guard let text = readFile(path) else {
                throw ConfigurationError(.unreadableFile, key: "postgres.dsn-file", "cannot read '\(path)'")
            }
            dsns = text.split(separator: ",").map { $0.trimmingCharacters(in: .spaceTabAndNewlines) }.filter { !$0.isEmpty }
        }
        var targets: [PostgresConnectionInfo] = []
        for (index, dsn) in dsns.enumerated() {
            do {
                targets.append(try PostgresConnectionInfo(dsn))
            } catch {
                // The DSN holds the password: name it by position, never by content.
                throw ConfigurationError(.invalidValue, key: "postgres.dsn", "connection string #\(index + 1) is not valid: \(error.message)")
            }
        }
        let labels = targets.map(\.targetLabel)
        if Set(labels).count != labels.count {
            throw ConfigurationError(.invalidValue, key: "postgres.dsn", "two connection strings name the same host:port/database")
        }
        self.targets = targets

        func duration(_ key: String, _ fallback: Duration, minimum: Duration) throws(ConfigurationError) -> Duration {
            let value = values.duration(key) ?? fallback
            guard value >= minimum else {
                throw ConfigurationError(.invalidValue, key: key, "must be at least \(DurationParser.format(minimum))")
            }
            return value
        }
        interval = try duration("postgres.interval", .seconds(15), minimum: .milliseconds(100))
        slowInterval = try duration("postgres.slow-interval", .seconds(60), minimum: .milliseconds(100))
        timeout = try duration("postgres.timeout", .seconds(5), minimum: .milliseconds(100))
        statementTimeout = try duration("postgres.statement-timeout", .seconds(5), minimum: .milliseconds(1))
        lockTimeout = try duration("postgres.lock-timeout", .seconds(1), minimum: .milliseconds(1))
        guard slowInterval >= interval else {
            throw ConfigurationError(.invalidValue, key: "postgres.slow-interval", "must not be shorter than postgres.interval")
        }

        func limit(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
            let value = values.int(key) ?? fallback
            guard range.contains(value) else {
                throw ConfigurationError(.invalidValue, key: key, "must be between \(range.lowerBound) and \(range.upperBound)")
            }
            return value
        }
        statementsEveryPasses = 1
        if let statementsInterval = values.duration("postgres.statements.interval") {
            let passes = Int((statementsInterval / interval).rounded())
            guard passes >= 1, interval * passes == statementsInterval, statementsInterval <= .seconds(3600) else {
                throw ConfigurationError(
                    .invalidValue, key: "postgres.statements.interval",
                    "must be a multiple of postgres.interval (\(DurationParser.format(interval))) and at most 1h")
            }
            statementsEveryPasses = passes
        }
        pipeline = values.bool("postgres.pipeline")
        statementsEnabled = values.bool("postgres.statements.enabled")
        statementsLimit = try limit("postgres.statements.limit", 100, 1...10_000)
        queryLength = try limit("postgres.statements.query-length", 1000, 16...100_000)
        tablesLimit = try limit("postgres.tables.limit", 200, 0...100_000)
        let databasesLimit = try limit("postgres.databases.limit", 50, 1...10_000)

        func list(_ key: String) -> [String] {
            values.strings(key).flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .spaceAndTab) }.filter { !$0.isEmpty }
        }
        databases = PostgresDatabaseFilter(include: list("postgres.include-databases"), exclude: list("postgres.exclude-databases"), limit: databasesLimit)

        var disabled: Set<PostgresCollectorName> = []
        for name in list("postgres.disable-collector") {
            guard let collector = PostgresCollectorName(rawValue: name) else {
                throw ConfigurationError(
                    .invalidValue, key: "postgres.disable-collector",
                    "'\(name)' is not one of \(PostgresCollectorName.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            disabled.insert(collector)
        }
        if !statementsEnabled { disabled.insert(.statStatements) }
        disabledCollectors = disabled
        hypopgEnabled = values.bool("findings.hypopg") && (values.value("findings.enabled") == nil || values.bool("findings.enabled"))
    }

    public static func readFile(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).flatMap { String(data: $0, encoding: .utf8) }
    }
}

/// Which databases get per-database series: include/exclude lists, then a hard cap, so a server
/// with thousands of databases cannot blow up the label set.
public struct PostgresDatabaseFilter: Sendable, Equatable {
    public var include: Set<String>
    public var exclude: Set<String>
    public var limit: Int

    public init(include: [String] = [], exclude: [String] = [], limit: Int = 50) {
        self.include = Set(include)
        self.exclude = Set(exclude)
        self.limit = limit
    }

    public func allows(_ datname: String) -> Bool {
        (include.isEmpty || include.contains(datname)) && !exclude.contains(datname)
    }

    /// The allowed names, capped: the first `limit` in name order, so the choice is stable between passes.
    public func select(_ names: some Sequence<String>) -> [String] {
        Array(Set(names).filter(allows).sorted().prefix(limit))
    }
}
