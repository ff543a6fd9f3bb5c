import CLibPQ
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// One target's connection string, parsed by libpq itself (`PQconninfoParse`) so that every libpq
/// option and both syntaxes (URI and key=value) work exactly as in psql.
///
/// The string is never printed: what vitals shows of a target is ``targetLabel`` (host:port/dbname),
/// and ``redactor`` strips the password from any text libpq hands back.
public struct PostgresConnectionInfo: Sendable, Equatable {
    public struct ParseError: Error, Sendable, Equatable {
        /// Fixed text: libpq's own message can quote the string, password included.
        public let message: String
    }

    public static let defaultApplicationName = "vitals"

    /// The user's string, passed to libpq as the expandable `dbname`.
    let dsn: String
    /// What libpq parsed out of it (keywords with a value only).
    public let options: [String: String]
    public let targetLabel: String
    public let redactor: PostgresRedactor
    /// The one host name libpq would resolve itself, inside a connect call no deadline bounds;
    /// vitals resolves it first (``HostResolver``) and passes the addresses as `hostaddr`. Nil
    /// for a Unix socket, an address, a `hostaddr` already given, a service file or a list of
    /// hosts or ports (libpq resolves those itself).
    public let hostToResolve: String?
    /// Whether the user chose GSSAPI encryption (in the string, `PGGSSENCMODE` or a service file,
    /// which vitals does not read); otherwise vitals turns it off, see ``connectParameters``.
    let choosesGSSEncryption: Bool

    public init(_ dsn: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ParseError) {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let parsed = PQconninfoParse(dsn, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            throw ParseError(message: "libpq cannot parse it (check quoting and percent-encoding)")
        }
        defer { PQconninfoFree(parsed) }
        var options: [String: String] = [:]
        var option = parsed
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { options[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        self.dsn = dsn
        self.options = options
        self.targetLabel = Self.targetLabel(options: options, environment: environment)
        // sslpassword decrypts the client key (sslkey): as secret as the password.
        self.redactor = PostgresRedactor(secrets: [options["password"], options["sslpassword"], environment["PGPASSWORD"]].compactMap { $0 })
        self.hostToResolve = Self.hostToResolve(options: options, environment: environment)
        self.choosesGSSEncryption = ["gssencmode", "service"].contains { options[$0] != nil }
            || ["PGGSSENCMODE", "PGSERVICE"].contains { environment[$0]?.isEmpty == false }
    }

    static func hostToResolve(options: [String: String], environment: [String: String]) -> String? {
        func given(_ keyword: String, _ variable: String) -> String? {
            if let value = options[keyword] { return value.isEmpty ? nil : value }
            return environment[variable].flatMap { $0.isEmpty ? nil : $0 }
        }
        // A list of ports goes with a list of hosts (libpq pairs them): left to libpq too.
        guard given("hostaddr", "PGHOSTADDR") == nil, given("port", "PGPORT")?.contains(",") != true, let host = given("host", "PGHOST") else {
            return nil
        }
        guard !host.contains(","), !host.hasPrefix("/"), !host.hasPrefix("@"), !HostResolver.isNumeric(host) else { return nil }
        return host
    }

    /// `host:port/dbname` as libpq would resolve them (options, then PG* variables, then defaults),
    /// bounded in length because it becomes a label value.
    static func targetLabel(options: [String: String], environment: [String: String]) -> String {
        func pick(_ keyword: String, _ variable: String) -> String? {
            if let value = options[keyword], !value.isEmpty { return value }
            if let value = environment[variable], !value.isEmpty { return value }
            return nil
        }
        // A service-file entry names its host only inside pg_service.conf, which vitals does not
        // read itself: the service name identifies the target instead.
        let host = pick("host", "PGHOST") ?? pick("hostaddr", "PGHOSTADDR") ?? pick("service", "PGSERVICE").map { "service=\($0)" } ?? "localhost"
        let port = pick("port", "PGPORT") ?? "5432"
        let database = pick("dbname", "PGDATABASE") ?? pick("user", "PGUSER") ?? "postgres"
        return String("\(host):\(port)/\(database)".prefix(120))
    }

    /// Keyword/value pairs for `PQconnectStartParams(…, expand_dbname: 1)`.
    ///
    /// libpq processes the arrays in order and keeps the last value of a repeated keyword, so
    /// vitals' defaults go *before* the user's string (which may override them) and a database
    /// switch goes *after* it (overriding the string's database).
    ///
    /// `hostAddresses`, the resolved ``hostToResolve``, become `hostaddr` (libpq tries them in
    /// order, as it would its own lookup's) with the name kept as `host`, which libpq still uses
    /// for TLS verification, Kerberos and the password file.
    func connectParameters(connectTimeout: Duration, database: String? = nil, hostAddresses: [String] = []) -> [(String, String)] {
        var parameters: [(String, String)] = []
        if options["application_name"] == nil {
            parameters.append(("application_name", Self.defaultApplicationName))
        }
        if options["connect_timeout"] == nil {
            // libpq only enforces it in blocking calls; vitals polls with its own deadline, but the
            // value still bounds each host of a multi-host string. At least 2 s, as libpq requires.
            let seconds = max(2, Int(connectTimeout.seconds.rounded(.up)))
            parameters.append(("connect_timeout", String(seconds)))
        }
        if !choosesGSSEncryption {
            // libpq's default, `prefer`, asks Kerberos for credentials before every connection:
            // it reads krb5.conf and the credential cache, which kept 1.1 MiB resident in a daemon
            // that never uses them (issue 18). postgres_exporter's driver has no GSSAPI encryption
            // at all; GSSAPI *authentication* is unaffected by this option.
            parameters.append(("gssencmode", "disable"))
        }
        parameters.append(("dbname", dsn))
        if let database { parameters.append(("dbname", database)) }
        if let host = hostToResolve, !hostAddresses.isEmpty {
            parameters.append(("host", Array(repeating: host, count: hostAddresses.count).joined(separator: ",")))
            parameters.append(("hostaddr", hostAddresses.joined(separator: ",")))
        }
        return parameters
    }

    /// The database the string names (without PG* fallbacks), for comparing with per-database visits.
    public var database: String? { options["dbname"] }
}

/// Removes secrets from text libpq or the server produced before it reaches logs or `/ready`.
public struct PostgresRedactor: Sendable, Equatable {
    let secrets: [String]

    public init(secrets: [String]) {
        var all: [String] = []
        for secret in secrets where !secret.isEmpty {
            all.append(secret)
            let encoded = PercentEncoding.encodedExceptAlphanumerics(secret)
            if encoded != secret { all.append(encoded) }
        }
        // Longest first, so a secret containing another is removed whole.
        self.secrets = all.sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        // Literals first, on the SQL's tokens: the passes below read `password=…` and would cut
        // a quoted value short.
        var result = Self.redactPasswordLiterals(text)
        for secret in secrets where Self.contains(result, secret) { result = result.replacing(secret, with: "****") }
        // Whatever libpq may echo of a connection string: password=… and scheme://user:…@
        // (the regexes only run when their literal part is present: this is on every statement text).
        if Self.mentionsPassword(result) {
            result = result.replacing(Self.passwordAssignment, with: "password=****")
        }
        if Self.contains(result, "://") {
            result = result.replacing(Self.urlCredentials, with: { "\($0.output.1):****@" })
        }
        return result
    }

    /// A statement text as `GET /statements` serves it: normalised as the slow-query plugin's
    /// fingerprints are, so that no literal of any kind leaves (pg_stat_statements normalises
    /// plannable statements only; `ALTER ROLE … PASSWORD`, `DO` bodies and other utility
    /// statements keep theirs), then redacted. The secrets go before normalising too, which
    /// lower-cases an unquoted word that might spell one.
    public func redactStatement(_ text: String) -> String {
        redact(Self.statementNormalizer.fingerprint(redact(text)).text)
    }

    /// The collector caps the text it fetches (`postgres.statements.query-length`); this cap only
    /// keeps the normaliser's from cutting it again.
    private static let statementNormalizer = StatementNormalizer(maxLength: 1 << 20)

    // Compiled once: a regex literal is parsed again each time it is evaluated, which made
    // regex parsing a visible share of a Postgres pass when a statement mentioned a password.
    nonisolated(unsafe) private static let passwordAssignment = #/password\s*=\s*('([^'\\]|\\.)*'|\S+)/#.ignoresCase()
    nonisolated(unsafe) private static let urlCredentials = #/(postgres(ql)?://[^:/@\s]*):[^@\s]*@/#

    /// Whether `text` contains `needle`, byte for byte. Foundation's `contains` bridges to
    /// CFString, which this path (every statement text, every pass) cannot afford.
    static func contains(_ text: String, _ needle: String) -> Bool {
        var text = text
        var needle = needle
        return text.withUTF8 { haystack in
            needle.withUTF8 { needle in
                guard !needle.isEmpty else { return true }
                guard haystack.count >= needle.count else { return false }
                let first = needle[0]
                var start = 0
                while start <= haystack.count - needle.count {
                    if haystack[start] == first, memcmp(haystack.baseAddress! + start, needle.baseAddress!, needle.count) == 0 { return true }
                    start += 1
                }
                return false
            }
        }
    }

    /// Whether `text` contains "password" in any ASCII case. This runs on every statement text of
    /// every pass; Foundation's case-insensitive `range(of:)` bridges to UTF-16 and was the largest
    /// single cost of a Postgres pass in the profile (BENCHMARKS.md).
    static func mentionsPassword(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            PasswordLiteralRedaction.mentionsPassword(UnsafeRawBufferPointer(bytes), 0..<bytes.count)
        }
    }

    /// The literals that can hold a password in SQL (`PASSWORD '…'` in every quoting form,
    /// connection strings with `password=`, see ``PasswordLiteralRedaction``) → `'****'`.
    /// Lexing runs only on texts that mention a password.
    public static func redactPasswordLiterals(_ sql: String) -> String {
        guard mentionsPassword(sql) else { return sql }
        return PasswordLiteralRedaction.redact(sql)
    }
}
