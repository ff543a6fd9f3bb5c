#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// Credentials for probed targets, by name, as postgres_exporter's `auth_modules:` has them:
///
/// ```yaml
/// auth_modules:
///   prod:
///     type: userpass
///     userpass: {username: monitor, password: secret}
///     options: {sslmode: require}
/// ```
///
/// They live in a file (`--postgres.auth-modules-file`, the same format as postgres_exporter's
/// `--config.file`), never in the URL: `/probe?auth_module=prod` names them. Redis' `/scrape`
/// reads the same format from `--redis.auth-modules-file`.
public struct ProbeAuthModule: Sendable, Equatable {
    public var username: String
    public var password: String
    /// libpq keywords added to the connection string (`sslmode`, `connect_timeout`…).
    public var options: [String: String]

    public static let fileKey = "postgres.auth-modules-file"

    /// Parses the file's text. Messages name modules and keys, never a value.
    /// - Parameters:
    ///   - key: the setting that names the file, for messages (Redis reads the same format).
    ///   - usernameRequired: Redis' AUTH takes a password alone; libpq always needs a user.
    ///   - allowsOptions: whether `options:` is read (libpq keywords) or refused.
    public static func parse(
        _ text: String, fileName: String? = nil, key: String = fileKey, usernameRequired: Bool = true, allowsOptions: Bool = true
    ) throws(ConfigurationError) -> [String: ProbeAuthModule] {
        let fileName = fileName ?? key
        func fail(_ message: String) -> ConfigurationError { ConfigurationError(.invalidFile, key: key, "\(fileName): \(message)") }
        let document: YAMLTree
        do {
            document = try YAMLTree.parse(text)
        } catch {
            throw fail("is not valid YAML: \(error.message)")
        }
        func mapping(_ tree: YAMLTree?, _ what: String) throws(ConfigurationError) -> [(key: String, value: YAMLTree)] {
            switch tree {
            case .mapping(let pairs)?: return pairs
            case .null?, nil: return []
            default: throw fail("\(what) must be a mapping")
            }
        }
        func scalar(_ tree: YAMLTree?) -> String? {
            if case .scalar(let value)? = tree { return value }
            return nil
        }
        let root = try mapping(document, "the file")
        for (key, _) in root where key != "auth_modules" {
            throw fail("unknown key '\(key)' (only auth_modules is read)")
        }
        var modules: [String: ProbeAuthModule] = [:]
        for (name, body) in try mapping(root.first { $0.key == "auth_modules" }?.value, "auth_modules") {
            let fields = try mapping(body, "auth module '\(name)'")
            func field(_ key: String) -> YAMLTree? { fields.first { $0.key == key }?.value }
            for (key, _) in fields where !["type", "userpass"].contains(key) && !(allowsOptions && key == "options") {
                throw fail("auth module '\(name)': unknown key '\(key)'")
            }
            guard scalar(field("type")) == "userpass" else {
                throw fail("auth module '\(name)': type must be userpass")
            }
            let userpass = try mapping(field("userpass"), "auth module '\(name)' userpass")
            let username = scalar(userpass.first(where: { $0.key == "username" })?.value) ?? ""
            guard !usernameRequired || !username.isEmpty else {
                throw fail("auth module '\(name)': userpass.username is missing")
            }
            let password = scalar(userpass.first(where: { $0.key == "password" })?.value) ?? ""
            var options: [String: String] = [:]
            for (key, value) in try mapping(field("options"), "auth module '\(name)' options") {
                guard let value = scalar(value) else { throw fail("auth module '\(name)': option '\(key)' must be a plain value") }
                guard !["user", "password", "dbname", "host", "hostaddr", "port"].contains(key) else {
                    throw fail("auth module '\(name)': option '\(key)' belongs in the target or userpass")
                }
                options[key] = value
            }
            modules[name] = ProbeAuthModule(username: username, password: password, options: options)
        }
        return modules
    }

    /// Reads and parses `path`.
    public static func load(
        path: String, key: String = fileKey, usernameRequired: Bool = true, allowsOptions: Bool = true,
        readFile: (String) -> String? = PostgresConfiguration.readFile
    ) throws(ConfigurationError) -> [String: ProbeAuthModule] {
        guard let text = readFile(path) else { throw ConfigurationError(.unreadableFile, key: key, "cannot read '\(path)'") }
        return try parse(text, fileName: path, key: key, usernameRequired: usernameRequired, allowsOptions: allowsOptions)
    }
}
