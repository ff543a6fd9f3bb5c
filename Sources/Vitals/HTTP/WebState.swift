import Logging
import NIOConcurrencyHelpers
import NIOSSL

/// A TLS context with what the per-connection handler needs to know about client certificates.
struct TLSServerContext: Sendable {
    let context: NIOSSLContext
    /// `RequestClientCert` and `RequireAnyClientCert`: ask for a certificate, accept any (as Go).
    let acceptsAnyClientCertificate: Bool
}

/// The web configuration in force: users, headers and the TLS context. SIGHUP replaces it
/// whole; requests and new connections read it, so a change applies to the next request or
/// connection (a connection keeps the certificate it was accepted with).
final class WebState: Sendable {
    struct Current: Sendable {
        let configuration: WebConfiguration
        let tls: TLSServerContext?
        /// Nil when no basic-auth users are configured.
        let authentication: BasicAuthVerifier?
    }

    let path: String?
    private let box: NIOLockedValueBox<Current>

    init(configuration: WebConfiguration, path: String?) throws(ConfigurationError) {
        self.path = path
        self.box = NIOLockedValueBox(try Self.prepare(configuration))
    }

    var current: Current { box.withLockedValue { $0 } }

    /// Reads the file again and swaps it in, or throws and keeps the configuration in force.
    /// Turning TLS on or off needs a restart (the listener was built for one or the other).
    func reload() throws(ConfigurationError) {
        guard let path else { return }
        let configuration = try WebConfiguration.load(path: path)
        let old = current
        if (configuration.tls == nil) != (old.configuration.tls == nil) {
            throw ConfigurationError(.invalidValue, key: "tls_server_config", "turning TLS on or off needs a restart (in \(path))")
        }
        let prepared = try Self.prepare(configuration)
        box.withLockedValue { $0 = prepared }
    }

    private static func prepare(_ configuration: WebConfiguration) throws(ConfigurationError) -> Current {
        var tls: TLSServerContext?
        if let tlsConfiguration = try configuration.makeTLSConfiguration() {
            do {
                tls = TLSServerContext(
                    context: try NIOSSLContext(configuration: tlsConfiguration),
                    acceptsAnyClientCertificate: [.requestClientCert, .requireAnyClientCert].contains(configuration.tls?.clientAuth))
            } catch {
                // BoringSSL refuses e.g. a key that does not match the certificate.
                throw ConfigurationError(.invalidValue, key: "tls_server_config", "the certificate, key or cipher settings are not usable: \(error)")
            }
        }
        let users = configuration.basicAuthUsers
        return Current(configuration: configuration, tls: tls, authentication: users.isEmpty ? nil : BasicAuthVerifier(users: users))
    }
}
