#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif
import NIOSSL

/// `--web.config.file`, in the Prometheus exporter-toolkit's format, so the file users already
/// keep for node_exporter or postgres_exporter works for vitals:
///
/// ```yaml
/// tls_server_config:
///   cert_file: /etc/vitals/tls.crt
///   key_file: /etc/vitals/tls.key
///   client_auth_type: RequireAndVerifyClientCert
///   client_ca_file: /etc/vitals/clients-ca.crt
///   min_version: TLS12
///   cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]
///   curve_preferences: [X25519, CurveP256]
/// http_server_config:
///   headers: {Strict-Transport-Security: max-age=31536000}
/// basic_auth_users:
///   prometheus: $2y$10$...   # bcrypt, e.g. from `htpasswd -nBC 10 prometheus`
/// ```
///
/// Every key the toolkit documents is either honoured or refused with a message saying why;
/// an unknown key at any depth is an error, so a typo never silently weakens the listener.
public struct WebConfiguration: Sendable, Equatable {
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        var verifiesAgainstCA: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// PEM text given inline, or a file to read it from.
    public enum PEMSource: Sendable, Equatable {
        case file(String)
        case inline(String)
    }

    public struct TLS: Sendable, Equatable {
        public var certificate: PEMSource
        public var key: PEMSource
        public var clientAuth: ClientAuth = .noClientCert
        public var clientCA: PEMSource?
        public var minimumVersion: TLSVersion = .tlsv12
        public var maximumVersion: TLSVersion?
        /// OpenSSL names of the TLS 1.2 suites, in order; empty is the ECDHE-AEAD default.
        public var cipherSuites: [String] = []
        public var curves: [NIOTLSCurve] = []
        public var preferServerCipherSuites = true

        public var certificateFile: String? { if case .file(let path) = certificate { path } else { nil } }
    }

    public var tls: TLS?
    /// User name to bcrypt hash.
    public var basicAuthUsers: [String: String]
    /// Security headers added to every response (`http_server_config.headers`).
    public var headers: [(name: String, value: String)]
    /// `http_server_config.http2`: accepted, and without effect: vitals serves HTTP/1.1 only.
    public var http2: Bool

    public init(tls: TLS? = nil, basicAuthUsers: [String: String] = [:], headers: [(name: String, value: String)] = [], http2: Bool = true) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.headers = headers
        self.http2 = http2
    }

    public static func == (lhs: WebConfiguration, rhs: WebConfiguration) -> Bool {
        lhs.tls == rhs.tls && lhs.basicAuthUsers == rhs.basicAuthUsers && lhs.http2 == rhs.http2
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    /// Go's TLS 1.2 suite names (`crypto/tls.CipherSuites()`) and BoringSSL's names for them.
    static let cipherSuiteNames: [String: String] = [
        "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
        "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
        "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
        "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    ]

    /// TLS 1.3 suites: Go accepts the names and ignores them (1.3 suites are not configurable),
    /// and so does BoringSSL, so vitals accepts them too.
    static let tls13CipherSuiteNames: Set<String> = ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"]

    /// Go's default for TLS 1.2 without a list: ECDHE key exchange with an AEAD, nothing else.
    static let defaultCipherSuites = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    static let curveNames: [String: NIOTLSCurve] = [
        "CurveP256": .secp256r1, "CurveP384": .secp384r1, "CurveP521": .secp521r1, "X25519": .x25519, "X25519MLKEM768": .x25519_MLKEM768,
    ]

    static let versions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]

    /// The headers the toolkit allows, with the values it accepts (nil: any).
    static let allowedHeaders: [(name: String, values: Set<String>?)] = [
        ("Strict-Transport-Security", nil), ("X-Frame-Options", ["deny", "sameorigin"]), ("X-Content-Type-Options", ["nosniff"]),
        ("X-XSS-Protection", nil), ("Content-Security-Policy", nil),
    ]

    /// Parses the file's text. Errors name the key and never echo a hash or a key.
    public init(yaml: String, fileName: String) throws(ConfigurationError) {
        let document: YAMLTree
        do {
            document = try YAMLTree.parse(yaml)
        } catch {
            throw ConfigurationError(.invalidFile, key: "web.config.file", "\(fileName) is not valid YAML: \(error.message)")
        }
        let reader = Reader(fileName: fileName)
        let root = try reader.mapping(document, "web.config.file", allowed: ["tls_server_config", "basic_auth_users", "http_server_config", "rate_limit"])
        if root["rate_limit"] != nil {
            throw ConfigurationError(
                .invalidValue, key: "rate_limit", "is not supported by vitals; the listener's limits are flags (web.max-connections, timeouts) (in \(fileName))")
        }
        basicAuthUsers = [:]
        if let users = root["basic_auth_users"] {
            for (user, hash) in try reader.mapping(users, "basic_auth_users", allowed: nil) {
                guard let hash = reader.text(hash), BcryptHash.isWellFormed(hash) else {
                    throw ConfigurationError(
                        .invalidValue, key: "basic_auth_users.\(user)",
                        "must be a bcrypt hash: $2a$, $2b$ or $2y$, a cost of 04 to 31, then 53 characters of salt and hash (in \(fileName))")
                }
                basicAuthUsers[user] = hash
            }
        }
        headers = []
        http2 = true
        if let server = root["http_server_config"] {
            let map = try reader.mapping(server, "http_server_config", allowed: ["http2", "headers"])
            if let value = map["http2"] { http2 = try reader.bool(value, "http_server_config.http2") }
            if let headerTree = map["headers"] {
                let given = try reader.mapping(headerTree, "http_server_config.headers", allowed: Set(Self.allowedHeaders.map(\.name)))
                for (name, values) in Self.allowedHeaders {
                    guard let tree = given[name] else { continue }
                    let key = "http_server_config.headers.\(name)"
                    guard let value = reader.text(tree) else { throw ConfigurationError(.invalidValue, key: key, "must be a string (in \(fileName))") }
                    if value.isEmpty { continue }  // the toolkit: unset if blank
                    guard !value.contains(where: { $0.isNewline }) else { throw ConfigurationError(.invalidValue, key: key, "must be one line") }
                    if let values, !values.contains(value.lowercased()) {
                        throw ConfigurationError(.invalidValue, key: key, "must be one of \(values.sorted().joined(separator: ", ")) (in \(fileName))")
                    }
                    headers.append((name, value))
                }
            }
        }
        if let tlsValue = root["tls_server_config"] {
            tls = try Self.parseTLS(tlsValue, reader: reader)
        }
    }

    private static func parseTLS(_ tree: YAMLTree, reader: Reader) throws(ConfigurationError) -> TLS {
        let fileName = reader.fileName
        let map = try reader.mapping(
            tree, "tls_server_config",
            allowed: [
                "cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file", "client_allowed_sans", "min_version",
                "max_version", "cipher_suites", "prefer_server_cipher_suites", "curve_preferences",
            ])
        func source(inline: String, file: String) throws(ConfigurationError) -> PEMSource? {
            switch (reader.text(map[inline]), reader.text(map[file])) {
            case (let text?, nil): return .inline(text)
            case (nil, let path?): return .file(path)
            case (nil, nil): return nil
            case (_?, _?): throw ConfigurationError(.invalidValue, key: "tls_server_config.\(inline)", "give \(inline) or \(file), not both (in \(fileName))")
            }
        }
        guard let certificate = try source(inline: "cert", file: "cert_file"), let key = try source(inline: "key", file: "key_file") else {
            throw ConfigurationError(.missingValue, key: "tls_server_config", "needs cert_file and key_file (or cert and key) (in \(fileName))")
        }
        var tls = TLS(certificate: certificate, key: key)
        tls.clientCA = try source(inline: "client_ca", file: "client_ca_file")
        if let name = reader.text(map["client_auth_type"]) {
            guard let clientAuth = ClientAuth(rawValue: name) else {
                throw ConfigurationError(
                    .invalidValue, key: "tls_server_config.client_auth_type",
                    "'\(name)' is not one of \(ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")) (in \(fileName))")
            }
            tls.clientAuth = clientAuth
        }
        if tls.clientAuth.verifiesAgainstCA, tls.clientCA == nil {
            throw ConfigurationError(
                .missingValue, key: "tls_server_config.client_ca_file", "\(tls.clientAuth.rawValue) needs client_ca_file (in \(fileName))")
        }
        if tls.clientCA != nil, !tls.clientAuth.verifiesAgainstCA {
            // As the toolkit: a CA nobody checks against is a configuration mistake.
            throw ConfigurationError(
                .invalidValue, key: "tls_server_config.client_auth_type",
                "client_ca_file is set but \(tls.clientAuth.rawValue) does not verify client certificates; use RequireAndVerifyClientCert (in \(fileName))")
        }
        if map["client_allowed_sans"] != nil {
            throw ConfigurationError(
                .invalidValue, key: "tls_server_config.client_allowed_sans", "is not supported by vitals; use a client CA of its own (in \(fileName))")
        }
        func version(_ key: String) throws(ConfigurationError) -> TLSVersion? {
            guard let name = reader.text(map[key]) else { return nil }
            guard let version = versions[name] else {
                throw ConfigurationError(.invalidValue, key: "tls_server_config.\(key)", "'\(name)' is not one of TLS10, TLS11, TLS12, TLS13")
            }
            return version
        }
        func order(_ version: TLSVersion) -> Int {
            switch version {
            case .tlsv1: 0
            case .tlsv11: 1
            case .tlsv12: 2
            case .tlsv13: 3
            }
        }
        tls.minimumVersion = try version("min_version") ?? .tlsv12
        tls.maximumVersion = try version("max_version")
        if let maximum = tls.maximumVersion, order(maximum) < order(tls.minimumVersion) {
            throw ConfigurationError(.invalidValue, key: "tls_server_config.max_version", "is below min_version (in \(fileName))")
        }
        if let list = map["cipher_suites"] {
            for name in try reader.strings(list, "tls_server_config.cipher_suites") {
                if tls13CipherSuiteNames.contains(name) { continue }
                guard let openSSLName = cipherSuiteNames[name] else {
                    throw ConfigurationError(
                        .invalidValue, key: "tls_server_config.cipher_suites", "'\(name)' is not a cipher suite Go offers (crypto/tls.CipherSuites) (in \(fileName))")
                }
                if !tls.cipherSuites.contains(openSSLName) { tls.cipherSuites.append(openSSLName) }
            }
        }
        if let list = map["curve_preferences"] {
            for name in try reader.strings(list, "tls_server_config.curve_preferences") {
                guard let curve = curveNames[name] else {
                    throw ConfigurationError(
                        .invalidValue, key: "tls_server_config.curve_preferences",
                        "'\(name)' is not one of \(curveNames.keys.sorted().joined(separator: ", ")) (in \(fileName))")
                }
                tls.curves.append(curve)
            }
        }
        if let value = map["prefer_server_cipher_suites"] {
            tls.preferServerCipherSuites = try reader.bool(value, "tls_server_config.prefer_server_cipher_suites")
        }
        return tls
    }

    public static func load(path: String) throws(ConfigurationError) -> WebConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.unreadableFile, key: "web.config.file", "cannot read '\(path)'")
        }
        return try WebConfiguration(yaml: text, fileName: path)
    }

    /// The NIOSSL server configuration; the certificate, key and client CA are read here.
    ///
    /// `client_auth_type` onto swift-nio-ssl: the verifying types map to `optionalVerification`
    /// and `noHostnameVerification` with the client CA as the only trust root (a client has no
    /// host name to check). `RequestClientCert` and `RequireAnyClientCert` ask for a certificate
    /// (optionally, or failing the handshake without one) and accept any, as Go does, through a
    /// verification callback that accepts every chain (``TLSServerContext/acceptsAnyClientCertificate``).
    /// `prefer_server_cipher_suites` has no switch in swift-nio-ssl; BoringSSL picks by the
    /// client's order among the allowed suites, as Go ≥ 1.18 does whatever the setting.
    func makeTLSConfiguration() throws(ConfigurationError) -> TLSConfiguration? {
        guard let tls else { return nil }
        let chain = try tls.certificate.loadCertificates(key: "tls_server_config")
        let privateKey = try tls.key.loadPrivateKey(key: "tls_server_config")
        guard !chain.isEmpty else { throw ConfigurationError(.unreadableFile, key: "tls_server_config", "no certificate\(tls.certificate.pathDescription)") }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        configuration.minimumTLSVersion = tls.minimumVersion
        configuration.maximumTLSVersion = tls.maximumVersion
        configuration.cipherSuites = tls.cipherSuites.isEmpty ? Self.defaultCipherSuites : tls.cipherSuites.joined(separator: ":")
        if !tls.curves.isEmpty { configuration.curves = tls.curves }
        switch tls.clientAuth {
        case .noClientCert:
            configuration.certificateVerification = .none
        case .requestClientCert, .verifyClientCertIfGiven:
            configuration.certificateVerification = .optionalVerification
        case .requireAnyClientCert, .requireAndVerifyClientCert:
            configuration.certificateVerification = .noHostnameVerification
        }
        if let ca = tls.clientCA {
            let roots = try ca.loadCertificates(key: "tls_server_config.client_ca_file")
            guard !roots.isEmpty else { throw ConfigurationError(.unreadableFile, key: "tls_server_config.client_ca_file", "no certificate in it") }
            configuration.trustRoots = .certificates(roots)
            configuration.sendCANameList = true
        } else if tls.clientAuth != .noClientCert {
            // Any chain is accepted by the callback; the roots only need to exist.
            configuration.trustRoots = .certificates([])
        }
        return configuration
    }
}

/// PEM loading shared by every TLS user in vitals: the listener (`--web.config.file`) and the
/// Redis source's client side (`--redis.tls-*`). Errors name the file, never its contents.
extension WebConfiguration.PEMSource {
    var pathDescription: String {
        if case .file(let path) = self { " (\(path))" } else { " (inline)" }
    }

    /// The certificates in the PEM (a chain, or a CA bundle); `key` is the setting named in errors.
    func loadCertificates(key: String) throws(ConfigurationError) -> [NIOSSLCertificate] {
        do {
            switch self {
            case .file(let path): return try NIOSSLCertificate.fromPEMFile(path)
            case .inline(let text): return try NIOSSLCertificate.fromPEMBytes(Array(text.utf8))
            }
        } catch {
            throw ConfigurationError(.unreadableFile, key: key, "cannot load the certificate\(pathDescription)")
        }
    }

    func loadPrivateKey(key: String) throws(ConfigurationError) -> NIOSSLPrivateKey {
        do {
            switch self {
            case .file(let path): return try NIOSSLPrivateKey(file: path, format: .pem)
            case .inline(let text): return try NIOSSLPrivateKey(bytes: Array(text.utf8), format: .pem)
            }
        } catch {
            throw ConfigurationError(.unreadableFile, key: key, "cannot load the certificate or key\(pathDescription)")
        }
    }
}

/// Strict reading of the web configuration's YAML: a mapping key not in `allowed` is an error.
private struct Reader {
    let fileName: String

    func mapping(_ tree: YAMLTree, _ key: String, allowed: Set<String>?) throws(ConfigurationError) -> [String: YAMLTree] {
        switch tree {
        case .null: return [:]
        case .mapping(let pairs):
            if let allowed {
                for pair in pairs where !allowed.contains(pair.key) {
                    let path = key == "web.config.file" ? pair.key : "\(key).\(pair.key)"
                    throw ConfigurationError(.unknownKey, key: path, "unknown key in \(fileName) (known: \(allowed.sorted().joined(separator: ", ")))")
                }
            }
            return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
        default: throw ConfigurationError(.invalidValue, key: key, "must be a mapping (in \(fileName))")
        }
    }

    func text(_ tree: YAMLTree?) -> String? {
        if case .scalar(let value)? = tree { return value }
        return nil
    }

    func bool(_ tree: YAMLTree, _ key: String) throws(ConfigurationError) -> Bool {
        switch text(tree)?.lowercased() {
        case "true": return true
        case "false": return false
        default: throw ConfigurationError(.invalidValue, key: key, "must be true or false (in \(fileName))")
        }
    }

    func strings(_ tree: YAMLTree, _ key: String) throws(ConfigurationError) -> [String] {
        switch tree {
        case .null: return []
        case .list(let items):
            var result: [String] = []
            for item in items {
                guard let value = text(item) else { throw ConfigurationError(.invalidValue, key: key, "must be a list of strings (in \(fileName))") }
                result.append(value)
            }
            return result
        default: throw ConfigurationError(.invalidValue, key: key, "must be a list (in \(fileName))")
        }
    }
}

/// The shape of a bcrypt hash as htpasswd and Go's bcrypt write it.
enum BcryptHash {
    private static let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    static func isWellFormed(_ hash: String) -> Bool {
        cost(of: hash) != nil
    }

    /// `$2b$10$` + 22 characters of salt + 31 of hash; nil when the text is not that.
    static func cost(of hash: String) -> Int? {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]), bytes[3] == UInt8(ascii: "$"),
            bytes[6] == UInt8(ascii: "$"), let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)), (4...31).contains(cost),
            bytes[7...].allSatisfy({ alphabet.contains($0) })
        else { return nil }
        return cost
    }

    /// A well-formed hash of the given cost that no password matches in practice (a random
    /// salt and hash): verifying against it costs one full bcrypt, as a real user's does.
    static func dummy(cost: Int) -> String {
        let characters = Array("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var generator = SystemRandomNumberGenerator()
        // The salt's last character carries 2 unused bits; '.' keeps them zero, as bcrypt writes them.
        let salt = String((0..<21).map { _ in characters.randomElement(using: &generator)! }) + "."
        let digest = String((0..<31).map { _ in characters.randomElement(using: &generator)! })
        return "$2b$" + (cost < 10 ? "0\(cost)" : "\(cost)") + "$" + salt + digest
    }
}
