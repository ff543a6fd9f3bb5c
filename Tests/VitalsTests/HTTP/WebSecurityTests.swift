import CCrypt
import Foundation
import Testing

@testable import Vitals

@Suite struct WebConfigurationTests {
    @Test func parsesTheExporterToolkitFormat() throws {
        let configuration = try WebConfiguration(
            yaml: """
                tls_server_config:
                  cert_file: /etc/vitals/tls.crt
                  key_file: /etc/vitals/tls.key
                  min_version: TLS13
                basic_auth_users:
                  prometheus: $2b$05$abcdefghijklmnopqrstuuJ2hS1mV8yqkLPLs6UqWj0FZbVqBp3ly
                """, fileName: "web.yml")
        #expect(configuration.tls?.certificateFile == "/etc/vitals/tls.crt")
        #expect(configuration.tls?.minimumVersion == .tlsv13)
        #expect(configuration.basicAuthUsers.keys.sorted() == ["prometheus"])
    }

    @Test func rejectsWhatItCannotUseAndNamesTheKey() {
        #expect(throws: ConfigurationError.self) { try WebConfiguration(yaml: "basic_auth_users:\n  alice: plaintext\n", fileName: "w") }
        #expect(throws: ConfigurationError.self) { try WebConfiguration(yaml: "tls_server_config:\n  cert_file: a\n", fileName: "w") }
        #expect(throws: ConfigurationError.self) {
            try WebConfiguration(yaml: "tls_server_config: {cert_file: a, key_file: b, min_version: SSL3}\n", fileName: "w")
        }
        #expect(throws: ConfigurationError.self) { try WebConfiguration(yaml: "tls_config: {}\n", fileName: "w") }
    }

    @Test func aMalformedHashOrUnknownNestedKeyIsAnErrorNamingTheKey() {
        func error(_ yaml: String) -> ConfigurationError? {
            do {
                _ = try WebConfiguration(yaml: yaml, fileName: "w")
                return nil
            } catch { return error }
        }
        let valid = "$2b$05$abcdefghijklmnopqrstuuJ2hS1mV8yqkLPLs6UqWj0FZbVqBp3ly"
        #expect(error("basic_auth_users: {alice: '\(valid)'}\n") == nil)
        for malformed in ["$2b$05$short", "$2b$99$" + valid.dropFirst(7), "$2x$05$" + valid.dropFirst(7), String(valid.dropLast()) + "!"] {
            #expect(error("basic_auth_users: {alice: '\(malformed)'}\n")?.key == "basic_auth_users.alice", "\(malformed)")
        }
        #expect(error("tls_server_config: {cert_file: a, key_file: b, min_verison: TLS13}\n")?.key == "tls_server_config.min_verison")
        #expect(error("http_server_config: {header: {}}\n")?.key == "http_server_config.header")
        #expect(error("http_server_config: {headers: {X-Powered-By: me}}\n")?.key == "http_server_config.headers.X-Powered-By")
        #expect(error("http_server_config: {headers: {X-Frame-Options: allow}}\n")?.key == "http_server_config.headers.X-Frame-Options")
        #expect(error("tls_server_config: {cert_file: a, key_file: b, cipher_suites: [AES128-SHA]}\n")?.key == "tls_server_config.cipher_suites")
        #expect(error("tls_server_config: {cert_file: a, key_file: b, curve_preferences: [P256]}\n")?.key == "tls_server_config.curve_preferences")
        #expect(error("tls_server_config: {cert_file: a, key_file: b, client_auth_type: RequireAndVerifyClientCert}\n")?.key == "tls_server_config.client_ca_file")
        #expect(error("tls_server_config: {cert_file: a, key_file: b, client_ca_file: c}\n")?.key == "tls_server_config.client_auth_type")
        #expect(error("tls_server_config: {cert_file: a, key_file: b, min_version: TLS13, max_version: TLS12}\n")?.key == "tls_server_config.max_version")
    }

    @Test func everyExporterToolkitKeyIsRead() throws {
        let configuration = try WebConfiguration(
            yaml: """
                tls_server_config:
                  cert_file: /c.crt
                  key_file: /c.key
                  client_auth_type: VerifyClientCertIfGiven
                  client_ca_file: /ca.crt
                  min_version: TLS12
                  max_version: TLS13
                  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA, TLS_AES_128_GCM_SHA256]
                  prefer_server_cipher_suites: false
                  curve_preferences: [X25519, CurveP256]
                http_server_config:
                  http2: false
                  headers:
                    Strict-Transport-Security: max-age=31536000
                    X-Frame-Options: deny
                    X-Content-Type-Options: nosniff
                    X-XSS-Protection: "1; mode=block"
                    Content-Security-Policy: ""
                """, fileName: "web.yml")
        let tls = try #require(configuration.tls)
        #expect(tls.clientAuth == .verifyClientCertIfGiven)
        #expect(tls.clientCA == .file("/ca.crt"))
        #expect(tls.maximumVersion == .tlsv13)
        #expect(tls.cipherSuites == ["ECDHE-RSA-AES128-GCM-SHA256", "AES128-SHA"])
        #expect(tls.curves == [.x25519, .secp256r1])
        #expect(!tls.preferServerCipherSuites)
        #expect(!configuration.http2)
        // A blank header is unset, as in the toolkit.
        #expect(configuration.headers.map(\.name) == ["Strict-Transport-Security", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection"])
    }

    @Test func theDummyHashIsWellFormedAndMatchesNothing() {
        let dummy = BcryptHash.dummy(cost: 5)
        #expect(BcryptHash.cost(of: dummy) == 5)
        #expect(!BasicAuthVerifier.verify(password: "", hash: dummy))
        #expect(!BasicAuthVerifier.verify(password: "password", hash: dummy))
    }

    @Test func verifiesBcryptHashes() throws {
        let hash = try bcryptHash("s3cret")
        #expect(BasicAuthVerifier.verify(password: "s3cret", hash: hash))
        #expect(!BasicAuthVerifier.verify(password: "s3cret ", hash: hash))
        #expect(!BasicAuthVerifier.verify(password: "", hash: hash))
        #expect(BasicAuthVerifier.credentials("Basic YWxpY2U6cGE6c3M=")! == ("alice", "pa:ss"))
        #expect(BasicAuthVerifier.credentials("Bearer abc") == nil)
        #expect(BasicAuthVerifier.credentials("Basic !!!") == nil)
    }
}

/// A bcrypt hash made by the system's libcrypt, as `htpasswd -B` would.
func bcryptHash(_ password: String, cost: Int = 5) throws -> String {
    var saltBuffer = [CChar](repeating: 0, count: 64)
    guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, &saltBuffer, Int32(saltBuffer.count)) != nil else {
        throw WebSecurityTestFailure()
    }
    var data = crypt_data()
    guard let result = crypt_r(password, saltBuffer, &data) else { throw WebSecurityTestFailure() }
    return String(cString: result)
}

struct WebSecurityTestFailure: Error {}

/// Real TLS and basic auth on the real binary, checked with curl.
@Suite(.serialized) struct WebSecurityEndToEndTests {
    @Test func tlsAndBasicAuthProtectEveryEndpointButChosenProbes() async throws {
        let directory = try TemporaryDirectory()
        let (opensslStatus, opensslOutput) = try await ChildProcess.run(
            "/usr/bin/openssl",
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", directory.path + "/tls.key", "-out", directory.path + "/tls.crt",
            ])
        try #require(opensslStatus == 0, "openssl: \(opensslOutput)")
        try """
            tls_server_config:
              cert_file: \(directory.path)/tls.crt
              key_file: \(directory.path)/tls.key
              min_version: TLS13
            basic_auth_users:
              prometheus: \(try bcryptHash("correct horse"))
            """.write(toFile: directory.path + "/web.yml", atomically: false, encoding: .utf8)
        let port = TestEnvironment.freePort()
        let daemon = try ChildProcess(
            TestEnvironment.vitalsBinary,
            ["--web.listen-address", "127.0.0.1:\(port)", "--web.config.file", directory.path + "/web.yml", "--web.auth-exempt-probes"])
        let base = "https://127.0.0.1:\(port)"
        func curl(_ arguments: [String]) async throws -> (status: Int32, output: String) {
            try await ChildProcess.run(
                "/usr/bin/curl", ["-sS", "--max-time", "10", "--cacert", directory.path + "/tls.crt", "-o", "/dev/null", "-w", "%{http_code}"] + arguments)
        }
        var ready = false
        for _ in 0..<100 {
            if try await curl([base + "/health"]).output == "200" { ready = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        try #require(ready, "vitals did not serve TLS: \(daemon.output)")

        #expect(try await curl([base + "/metrics"]).output == "401")
        #expect(try await curl(["-u", "prometheus:wrong", base + "/metrics"]).output == "401")
        #expect(try await curl(["-u", "nobody:correct horse", base + "/metrics"]).output == "401")
        #expect(try await curl(["-u", "prometheus:correct horse", base + "/metrics"]).output == "200")
        #expect(try await curl(["-u", "prometheus:correct horse", base + "/"]).output == "200")
        // The multi-target endpoints make vitals connect where the URL says: behind the same
        // auth (with it, a refused target is an answer, pg_up 0 / redis_up 0).
        for probe in ["/probe?target=127.0.0.1%3A1%2Fapp", "/scrape?target=redis%3A%2F%2F127.0.0.1%3A1"] {
            #expect(try await curl([base + probe]).output == "401", "\(probe) without credentials")
            #expect(try await curl(["-u", "prometheus:correct horse", base + probe]).output == "200", "\(probe) with them")
        }
        // The probes are exempt because the user chose --web.auth-exempt-probes.
        #expect(try await curl([base + "/ready"]).output != "401")
        // Plain HTTP to the TLS port gets no HTTP answer, and TLS 1.2 is refused under min_version TLS13.
        let plain = try await ChildProcess.run("/usr/bin/curl", ["-sS", "--max-time", "5", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/health"])
        #expect(plain.output.hasSuffix("000"), "\(plain.output)")
        let oldTLS = try await curl(["--tls-max", "1.2", base + "/health"])
        #expect(oldTLS.output.hasSuffix("000") && oldTLS.output.contains("protocol version"), "\(oldTLS.output)")
        #expect(!daemon.output.contains("correct horse"))
        daemon.signal(SIGTERM)
        _ = await daemon.wait(timeout: .seconds(30))
    }

    @Test func anUnreadableCertificateIsAStartupErrorWithStatusTwo() async throws {
        let directory = try TemporaryDirectory()
        try "tls_server_config: {cert_file: \(directory.path)/missing.crt, key_file: \(directory.path)/missing.key}\n"
            .write(toFile: directory.path + "/web.yml", atomically: false, encoding: .utf8)
        let (status, output) = try await ChildProcess.run(
            TestEnvironment.vitalsBinary, ["--web.listen-address", "127.0.0.1:0", "--web.config.file", directory.path + "/web.yml"])
        #expect(status == 2)
        #expect(output.contains("tls_server_config"))
    }
}
