/// Why a connection or a query failed.
///
/// ``description`` is fixed text plus the SQLSTATE, safe for `/ready`; ``detail`` is libpq's or
/// the server's message with secrets already removed, for logs only. Labels carry neither: they
/// carry ``reason``, one of the fixed ``SourceErrorReason``s.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String {
            case connect, auth, timeout, permission, unsupported, query, connectionLost, cancelled
            case statementsNotInstalled, statementsNotPreloaded
            case tls, tlsUntrusted, tlsWrongHost, tlsNotOffered, tlsNoRootCertificate
        }
        private let base: Base
        /// The server could not be reached or refused the connection.
        public static let connect = Code(base: .connect)
        /// Authentication or authorization at connect time failed.
        public static let auth = Code(base: .auth)
        /// A deadline passed (vitals' own, statement_timeout or lock_timeout).
        public static let timeout = Code(base: .timeout)
        /// The role lacks a privilege (SQLSTATE 42501).
        public static let permission = Code(base: .permission)
        /// The server lacks a view, function or extension this query needs.
        public static let unsupported = Code(base: .unsupported)
        /// Any other error a query reported.
        public static let query = Code(base: .query)
        /// The connection broke mid-conversation.
        public static let connectionLost = Code(base: .connectionLost)
        /// vitals is shutting down.
        public static let cancelled = Code(base: .cancelled)
        /// `pg_stat_statements` is not created in the database vitals connects to.
        public static let statementsNotInstalled = Code(base: .statementsNotInstalled)
        /// The extension exists but the server did not load its library at start (SQLSTATE 55000).
        public static let statementsNotPreloaded = Code(base: .statementsNotPreloaded)
        /// TLS failed in a way the codes below do not name (a client key, the handshake itself).
        public static let tls = Code(base: .tls)
        /// The server's certificate is not signed by the CA in `sslrootcert`, or has expired.
        public static let tlsUntrusted = Code(base: .tlsUntrusted)
        /// The certificate names another host than the DSN's (`sslmode=verify-full`).
        public static let tlsWrongHost = Code(base: .tlsWrongHost)
        /// The server has no TLS and `sslmode` requires it.
        public static let tlsNotOffered = Code(base: .tlsNotOffered)
        /// `sslmode=verify-ca` or `verify-full` without a readable root certificate file.
        public static let tlsNoRootCertificate = Code(base: .tlsNoRootCertificate)
        public var description: String { base.rawValue }
    }

    public let code: Code
    public let sqlState: String?
    public let detail: String

    public init(_ code: Code, sqlState: String? = nil, detail: String = "") {
        self.code = code
        self.sqlState = sqlState
        self.detail = detail
    }

    public var reason: SourceErrorReason {
        switch code {
        case .connect, .connectionLost: .connect
        case .auth: .auth
        case .timeout: .timeout
        case .permission: .permission
        case .unsupported, .statementsNotInstalled, .statementsNotPreloaded: .unsupported
        case .cancelled: .timeout
        case .tls, .tlsUntrusted, .tlsWrongHost, .tlsNotOffered, .tlsNoRootCertificate: .tls
        default: .query
        }
    }

    /// A monitoring prerequisite the operator has not set up (pg_stat_statements), as opposed to a
    /// query going wrong: said in `/ready`, the log and `/statements`, never alerted on as an error.
    public var isMissingSetup: Bool { code == .statementsNotInstalled || code == .statementsNotPreloaded }

    /// Whether the connection can no longer be used: it is closed and reopened on the next pass.
    public var breaksConnection: Bool {
        switch code {
        case .connect, .auth, .connectionLost, .cancelled: true
        case .tls, .tlsUntrusted, .tlsWrongHost, .tlsNotOffered, .tlsNoRootCertificate: true
        // A vitals deadline abandons the query mid-flight; the protocol state is unknown.
        case .timeout: sqlState == nil
        default: false
        }
    }

    public var description: String {
        let text: String
        switch code {
        case .connect: text = "cannot connect to the server"
        case .auth: text = "the server rejected the credentials"
        case .timeout: text = sqlState == nil ? "no answer before the deadline" : "the server cancelled the statement (timeout)"
        case .permission: text = "permission denied"
        case .unsupported: text = "not supported by this server (missing view, function or extension)"
        case .connectionLost: text = "the connection was lost"
        case .cancelled: text = "cancelled"
        // libpq's own messages name files and hosts; these say what to change instead.
        case .tls: text = "TLS failed (libpq's message is in vitals' log)"
        case .tlsUntrusted: text = "the server's certificate did not verify: not signed by the CA in sslrootcert, or expired, or not yet valid"
        case .tlsWrongHost:
            text = "the server's certificate does not name the DSN's host (sslmode=verify-full compares it with host as written)"
        case .tlsNotOffered: text = "the server does not offer TLS, and the DSN's sslmode requires it"
        case .tlsNoRootCertificate:
            // libpq 15 (Debian 12's) has no sslrootcert=system: the system's roots are a file.
            text = "sslmode=verify-ca and verify-full need the CA's certificate: set sslrootcert to its file (libpq's default, "
                + "~/.postgresql/root.crt, is missing or unreadable); for a certificate from a public CA, the system's bundle "
                + "(/etc/ssl/certs/ca-certificates.crt)"
        // What an operator needs to act: both steps, since a missing library is the usual cause.
        case .statementsNotInstalled:
            text = "pg_stat_statements is not installed in this database: run CREATE EXTENSION pg_stat_statements; "
                + "(the server also needs shared_preload_libraries = 'pg_stat_statements' in postgresql.conf, and a restart)"
        case .statementsNotPreloaded:
            text = "pg_stat_statements is installed but not loaded: add shared_preload_libraries = 'pg_stat_statements' "
                + "to postgresql.conf and restart the server (then CREATE EXTENSION pg_stat_statements; if it is not created yet)"
        default: text = "query failed"
        }
        return sqlState.map { "\(text) (SQLSTATE \($0))" } ?? text
    }

    /// Classifies a failed query by its SQLSTATE.
    static func fromSQLState(_ sqlState: String?, detail: String) -> PostgresError {
        guard let sqlState else { return PostgresError(.query, detail: detail) }
        switch sqlState {
        case "42501": return PostgresError(.permission, sqlState: sqlState, detail: detail)
        // query_canceled (statement_timeout), lock_not_available (lock_timeout), idle_in_transaction_session_timeout
        case "57014", "55P03", "25P03": return PostgresError(.timeout, sqlState: sqlState, detail: detail)
        // undefined_table, undefined_function, undefined_column, undefined_object, feature_not_supported
        case "42P01", "42883", "42703", "42704", "0A000": return PostgresError(.unsupported, sqlState: sqlState, detail: detail)
        default:
            // Class 08: connection exceptions; 57P0x: admin shutdown, crash shutdown, cannot connect now.
            if sqlState.hasPrefix("08") || sqlState.hasPrefix("57P") { return PostgresError(.connectionLost, sqlState: sqlState, detail: detail) }
            // Class 28: invalid authorization; 3D000: the database does not exist.
            if sqlState.hasPrefix("28") || sqlState == "3D000" { return PostgresError(.auth, sqlState: sqlState, detail: detail) }
            return PostgresError(.query, sqlState: sqlState, detail: detail)
        }
    }

    /// Classifies a failed connection attempt by libpq's message (libpq gives no SQLSTATE for these).
    static func fromConnectMessage(_ message: String) -> PostgresError {
        let lower = message.lowercased()
        // Before the authentication markers: "root certificate file … does not exist".
        let tlsMarkers: [(String, Code)] = [
            ("certificate verify failed", .tlsUntrusted), ("does not match host name", .tlsWrongHost),
            ("server does not support ssl", .tlsNotOffered), ("root certificate file", .tlsNoRootCertificate),
        ]
        if let (_, code) = tlsMarkers.first(where: { lower.contains($0.0) }) { return PostgresError(code, detail: message) }
        let authMarkers = [
            "password authentication failed", "no pg_hba.conf entry", "does not exist", "authentication failed",
            "no password supplied", "permission denied for database", "pg_hba.conf rejects",
        ]
        if authMarkers.contains(where: lower.contains) { return PostgresError(.auth, detail: message) }
        if lower.contains("timeout expired") || lower.contains("timed out") { return PostgresError(.timeout, detail: message) }
        // After them: "certificate authentication failed" is pg_hba's `cert` method refusing the role.
        if ["ssl error", "ssl syscall", "certificate", "private key file"].contains(where: lower.contains) {
            return PostgresError(.tls, detail: message)
        }
        return PostgresError(.connect, detail: message)
    }
}
