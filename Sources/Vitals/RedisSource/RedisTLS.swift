#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOSSL

/// The client side of `rediss://`: the `--redis.tls-*` flags, validated. A pure value: loading
/// the files into a context is ``makeContext()``, done at start-up and again on SIGHUP.
public struct RedisTLSSettings: Sendable, Equatable {
    /// PEM bundle of the CAs that may sign the server's certificate; nil: the system's roots.
    public var caCertFile: String?
    /// vitals' own certificate and key, for servers with `tls-auth-clients yes`.
    public var clientCertFile: String?
    public var clientKeyFile: String?
    /// The name sent as SNI and checked against the server's certificate; nil: the address's
    /// host name, or, for an IP address, no SNI and the certificate's IP SANs checked instead.
    /// (swift-nio-ssl also accepts a certificate whose IP SAN is the connected address.)
    public var serverName: String?
    /// Accept any server certificate. Off by default; logged as a warning when on.
    public var skipVerification: Bool
    public var minimumVersion: TLSVersion

    public init(
        caCertFile: String? = nil, clientCertFile: String? = nil, clientKeyFile: String? = nil, serverName: String? = nil,
        skipVerification: Bool = false, minimumVersion: TLSVersion = .tlsv12
    ) {
        self.caCertFile = caCertFile
        self.clientCertFile = clientCertFile
        self.clientKeyFile = clientKeyFile
        self.serverName = serverName
        self.skipVerification = skipVerification
        self.minimumVersion = minimumVersion
    }

    static let keys: [ConfigurationKey] = [
        ConfigurationKey(
            "redis.tls-ca-cert-file", .string, environment: ["REDIS_EXPORTER_TLS_CA_CERT_FILE"],
            help: "PEM file of the CA(s) that sign the server's certificate, for rediss:// (default: the system's roots). Re-read on SIGHUP."),
        ConfigurationKey(
            "redis.tls-client-cert-file", .string, environment: ["REDIS_EXPORTER_TLS_CLIENT_CERT_FILE"],
            help: "PEM client certificate for rediss:// servers with tls-auth-clients; needs redis.tls-client-key-file. Re-read on SIGHUP."),
        ConfigurationKey(
            "redis.tls-client-key-file", .string, environment: ["REDIS_EXPORTER_TLS_CLIENT_KEY_FILE"],
            help: "PEM private key of redis.tls-client-cert-file. Re-read on SIGHUP."),
        ConfigurationKey(
            "redis.tls-server-name", .string,
            help: "Server name sent as SNI and checked against the server's certificate (default: the address's host)."),
        ConfigurationKey(
            "redis.skip-tls-verification", .bool, default: .bool(false), environment: ["REDIS_EXPORTER_SKIP_TLS_VERIFICATION"],
            help: "Accept any server certificate (insecure; logged as a warning)."),
        ConfigurationKey(
            "redis.tls-min-version", .string, default: .string("TLS12"),
            help: "Lowest TLS version offered to rediss:// servers: TLS12 or TLS13."),
    ]

    /// The settings given on the command line, or nil when no `--redis.tls-*` flag is set.
    init?(values: ConfigurationValues) throws(ConfigurationError) {
        func text(_ key: String) -> String? { values.string(key).flatMap { $0.isEmpty ? nil : $0 } }
        var settings = RedisTLSSettings(
            caCertFile: text("redis.tls-ca-cert-file"), clientCertFile: text("redis.tls-client-cert-file"),
            clientKeyFile: text("redis.tls-client-key-file"), serverName: text("redis.tls-server-name"),
            skipVerification: values.bool("redis.skip-tls-verification"))
        let versionName = text("redis.tls-min-version") ?? "TLS12"
        switch versionName.uppercased() {
        case "TLS12": settings.minimumVersion = .tlsv12
        case "TLS13": settings.minimumVersion = .tlsv13
        default:
            throw ConfigurationError(.invalidValue, key: "redis.tls-min-version", "'\(versionName)' is not TLS12 or TLS13 (Redis offers nothing older)")
        }
        if (settings.clientCertFile == nil) != (settings.clientKeyFile == nil) {
            throw ConfigurationError(
                .missingValue, key: settings.clientCertFile == nil ? "redis.tls-client-cert-file" : "redis.tls-client-key-file",
                "redis.tls-client-cert-file and redis.tls-client-key-file go together")
        }
        if let name = settings.serverName, !Self.isValidServerName(name) {
            throw ConfigurationError(.invalidValue, key: "redis.tls-server-name", "must be a DNS name (an IP address is checked without SNI: leave this unset)")
        }
        if settings == RedisTLSSettings() { return nil }
        self = settings
    }

    static func isValidServerName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 253 && !isIPAddress(name)
            && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "." || $0 == "-" || $0 == "_") }
    }

    /// An IPv4 or IPv6 literal: never sent as SNI (RFC 6066).
    static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in part.count <= 3 && UInt8(part) != nil }
    }

    /// What to send as SNI and check the certificate against for `host`; nil: no SNI, and the
    /// certificate's IP SANs are checked against the connected address.
    func serverHostname(for host: String) -> String? {
        if let serverName { return serverName }
        return Self.isIPAddress(host) ? nil : host
    }

    /// Reads the CA, certificate and key files into a client context. Errors name the flag and the
    /// file, never the contents.
    func makeContext() throws(ConfigurationError) -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = minimumVersion
        configuration.certificateVerification = skipVerification ? .none : .fullVerification
        if let caCertFile {
            let roots = try WebConfiguration.PEMSource.file(caCertFile).loadCertificates(key: "redis.tls-ca-cert-file")
            guard !roots.isEmpty else { throw ConfigurationError(.unreadableFile, key: "redis.tls-ca-cert-file", "no certificate in '\(caCertFile)'") }
            configuration.trustRoots = .certificates(roots)
        }
        if let clientCertFile, let clientKeyFile {
            let chain = try WebConfiguration.PEMSource.file(clientCertFile).loadCertificates(key: "redis.tls-client-cert-file")
            guard !chain.isEmpty else {
                throw ConfigurationError(.unreadableFile, key: "redis.tls-client-cert-file", "no certificate in '\(clientCertFile)'")
            }
            let key = try WebConfiguration.PEMSource.file(clientKeyFile).loadPrivateKey(key: "redis.tls-client-key-file")
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            // BoringSSL refuses e.g. a key that does not match the certificate.
            throw ConfigurationError(
                .invalidValue, key: "redis.tls-client-key-file", "the client certificate and key are not usable together (does the key match the certificate?)")
        }
    }
}

/// Turns what BoringSSL or swift-nio-ssl reported into a short, fixed sentence for `/ready` and
/// the log. Only the error's names are looked at; nothing from the peer is echoed.
enum RedisTLSFailure {
    static func describe(_ errorText: String, duringHandshake: Bool) -> String {
        let text = errorText.uppercased()
        let table: [(String, String)] = [
            ("CERTIFICATE_VERIFY_FAILED", "the server's certificate did not verify: not signed by a CA in redis.tls-ca-cert-file, or expired, or not yet valid"),
            ("FAILEDTOVALIDATEHOSTNAME", "the server's certificate is not for this host name (see redis.tls-server-name)"),
            ("ALERT_CERTIFICATE_EXPIRED", "the server refused vitals' client certificate: it has expired"),
            ("ALERT_UNKNOWN_CA", "the server refused vitals' client certificate: not signed by a CA it trusts"),
            ("ALERT_BAD_CERTIFICATE", "the server refused vitals' client certificate"),
            ("CERTIFICATE_REQUIRED", "the server requires a client certificate (redis.tls-client-cert-file)"),
            ("ALERT_HANDSHAKE_FAILURE", "the server refused the TLS handshake (no common version or cipher, or a client certificate is required)"),
            ("ALERT_PROTOCOL_VERSION", "no TLS version in common with the server (see redis.tls-min-version)"),
            ("UNSUPPORTED_PROTOCOL", "no TLS version in common with the server (see redis.tls-min-version)"),
            ("WRONG_VERSION_NUMBER", "the server did not answer with TLS (is this the plain-text port?)"),
            ("UNCLEANSHUTDOWN", "the server closed the connection without finishing TLS"),
        ]
        for (needle, sentence) in table where text.contains(needle) { return sentence }
        return duringHandshake ? "TLS handshake failed" : "TLS error"
    }

    /// Whether an error is BoringSSL's "the chain did not verify".
    static func isVerificationFailure(_ errorText: String) -> Bool {
        errorText.uppercased().contains("CERTIFICATE_VERIFY_FAILED")
    }

    /// A sharper sentence for a chain that did not verify, from the server certificate's validity
    /// dates (public data): expired, not yet valid, or else not signed by a trusted CA.
    static func describeVerification(notValidBefore: Int, notValidAfter: Int, now: Int) -> String {
        if now > notValidAfter { return "the server's certificate has expired (not valid after \(date(notValidAfter)))" }
        if now < notValidBefore { return "the server's certificate is not valid yet (not before \(date(notValidBefore)))" }
        return "the server's certificate is not signed by a CA in redis.tls-ca-cert-file (or the system's roots when unset)"
    }

    private static func date(_ seconds: Int) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }
}
