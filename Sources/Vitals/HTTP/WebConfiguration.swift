import Foundation
import NIOSSL

/// `--web.config.file`, in the Prometheus exporter-toolkit's format, so the file users already
/// keep for node_exporter or postgres_exporter works for vitals:
///
/// ```yaml
/// tls_server_config:
///   cert_file: /etc/vitals/tls.crt
///   key_file: /etc/vitals/tls.key
///   min_version: TLS12
/// basic_auth_users:
///   prometheus: $2y$10$...   # bcrypt, e.g. from `htpasswd -nBC 10 prometheus`
/// ```
public struct WebConfiguration: Sendable {
    public struct TLS: Sendable {
        public var certificateFile: String
        public var keyFile: String
        public var minimumVersion: TLSVersion
    }

    public var tls: TLS?
    /// User name to bcrypt hash.
    public var basicAuthUsers: [String: String]

    public init(tls: TLS? = nil, basicAuthUsers: [String: String] = [:]) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
    }

    /// Parses the file's text. Errors name the key and never echo a hash.
    public init(yaml: String, fileName: String) throws(ConfigurationError) {
        let document: YAMLTree
        do {
            document = try YAMLTree.parse(yaml)
        } catch {
            throw ConfigurationError(.invalidFile, key: "web.config.file", "\(fileName) is not valid YAML: \(error.message)")
        }
        func mapping(_ tree: YAMLTree, _ key: String) throws(ConfigurationError) -> [String: YAMLTree] {
            switch tree {
            case .null: return [:]
            case .mapping(let pairs): return Dictionary(pairs.map { ($0.key, $0.value) }, uniquingKeysWith: { _, last in last })
            default: throw ConfigurationError(.invalidValue, key: key, "must be a mapping (in \(fileName))")
            }
        }
        func text(_ tree: YAMLTree?) -> String? {
            if case .scalar(let value)? = tree { return value }
            return nil
        }
        let root = try mapping(document, "web.config.file")
        for key in root.keys where !["tls_server_config", "basic_auth_users", "http_server_config"].contains(key) {
            throw ConfigurationError(.unknownKey, key: key, "unknown key in \(fileName)")
        }
        basicAuthUsers = [:]
        if let users = root["basic_auth_users"] {
            for (user, hash) in try mapping(users, "basic_auth_users") {
                guard let hash = text(hash), hash.hasPrefix("$2") else {
                    throw ConfigurationError(.invalidValue, key: "basic_auth_users.\(user)", "must be a bcrypt hash ($2a$, $2b$ or $2y$) (in \(fileName))")
                }
                basicAuthUsers[user] = hash
            }
        }
        if let tlsValue = root["tls_server_config"] {
            let tlsMap = try mapping(tlsValue, "tls_server_config")
            guard let cert = text(tlsMap["cert_file"]), let key = text(tlsMap["key_file"]) else {
                throw ConfigurationError(.missingValue, key: "tls_server_config", "needs cert_file and key_file (in \(fileName))")
            }
            let versionName = text(tlsMap["min_version"]) ?? "TLS12"
            let versions: [String: TLSVersion] = ["TLS10": .tlsv1, "TLS11": .tlsv11, "TLS12": .tlsv12, "TLS13": .tlsv13]
            guard let version = versions[versionName] else {
                throw ConfigurationError(.invalidValue, key: "tls_server_config.min_version", "'\(versionName)' is not one of TLS10, TLS11, TLS12, TLS13")
            }
            tls = TLS(certificateFile: cert, keyFile: key, minimumVersion: version)
        }
    }

    public static func load(path: String) throws(ConfigurationError) -> WebConfiguration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(.unreadableFile, key: "web.config.file", "cannot read '\(path)'")
        }
        return try WebConfiguration(yaml: text, fileName: path)
    }

    /// The NIOSSL server configuration; reading the certificate and key happens here, at start-up.
    func makeTLSConfiguration() throws(ConfigurationError) -> TLSConfiguration? {
        guard let tls else { return nil }
        do {
            let certificates = try NIOSSLCertificate.fromPEMFile(tls.certificateFile)
            let key = try NIOSSLPrivateKey(file: tls.keyFile, format: .pem)
            var configuration = TLSConfiguration.makeServerConfiguration(
                certificateChain: certificates.map { .certificate($0) }, privateKey: .privateKey(key))
            configuration.minimumTLSVersion = tls.minimumVersion
            return configuration
        } catch {
            throw ConfigurationError(.unreadableFile, key: "tls_server_config", "cannot load the certificate or key (\(tls.certificateFile), \(tls.keyFile))")
        }
    }
}
