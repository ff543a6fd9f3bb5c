import Foundation
import Testing

/// The shipped build (scripts/build-shipped.sh) links libpq from its static archives, with
/// deploy/libpq-optional.c standing in for libgssapi_krb5 and libldap, which libpq.so would load at
/// start with GnuTLS, SASL and Kerberos behind them, and deploy/libpq-crypto.c for the archives'
/// hashes, HMACs and random bytes, which would set up OpenSSL's providers at the first password
/// exchange. These tests link a small C program the same way (Tests/deployment/static-libpq-check.c)
/// and connect to the test PostgreSQL with it: a plain connection maps neither library and does its
/// SCRAM exchange through deploy/libpq-crypto.c, and GSSAPI or an LDAP service lookup opens its
/// library when libpq first calls it; built with library names that do not exist, those connections
/// fail with libpq's error and the program goes on. TLS, which libpq does through the OpenSSL the
/// daemon links anyway, verifies a certificate as libpq.so does. The link itself is checked by
/// build-shipped.sh.
@Suite(.serialized)
struct StaticLibpqTests {
    /// What the program printed after one connection.
    struct Step: Equatable {
        var connected: Bool
        var gssapiMapped: Bool
        var ldapMapped: Bool
        var error: String
    }

    /// Builds the program into `directory`; `absentLibraries` names files that do not exist instead
    /// of the two libraries.
    static func build(in directory: String, absentLibraries: Bool) async throws -> String {
        let root = TestEnvironment.repositoryRoot
        let archives = root + "/.build/static-libpq"
        let (prepared, preparation) = try await DeploymentTools.run("/bin/bash", [root + "/scripts/static-libpq.sh", archives])
        try #require(prepared == 0, "scripts/static-libpq.sh failed: \(preparation)")
        let clang = try #require(TestEnvironment.tool("clang", variable: "VITALS_TEST_CLANG"), "no clang on PATH")
        let output = directory + (absentLibraries ? "/check-absent" : "/check")
        let defines = absentLibraries ? [#"-DGSSAPI_LIBRARY_FILES="libvitals-absent-gssapi.so""#, #"-DLDAP_LIBRARY_FILES="libvitals-absent-ldap.so""#] : []
        let arguments =
            ["-O1", "-Wall", "-Werror"] + defines + [
                "-I/usr/include/postgresql", root + "/Tests/deployment/static-libpq-check.c", root + "/deploy/libpq-optional.c",
                root + "/deploy/libpq-crypto.c",
                "-Wl,--whole-archive", archives + "/libpq.a", "-Wl,--no-whole-archive",
                archives + "/encnames_shlib.o", archives + "/wchar_shlib.o", archives + "/libpgcommon_shlib.a", archives + "/libpgport_shlib.a",
                "-lssl", "-lcrypto", "-o", output,
            ]
        let (status, log) = try await DeploymentTools.run(clang, arguments)
        try #require(status == 0, "linking the check failed: \(log)")
        let (_, needed) = try await DeploymentTools.run("/usr/bin/readelf", ["-d", output])
        for library in ["libpq.so", "libgssapi_krb5", "libldap"] {
            #expect(!needed.contains(library), "the check must not link \(library), as the shipped daemon does not")
        }
        // The archives' OpenSSL hashes, HMACs and random bytes are not linked: deploy/libpq-crypto.c's are.
        let (_, imported) = try await DeploymentTools.run("/usr/bin/nm", ["-D", "--undefined-only", output])
        // Names come versioned (`RAND_bytes@OPENSSL_3.0.0`).
        let imports = Set(imported.split(separator: "\n").compactMap { $0.split(separator: " ").last?.split(separator: "@").first.map(String.init) })
        for function in ["EVP_DigestInit_ex", "HMAC_Init_ex", "RAND_bytes"] {
            #expect(!imports.contains(function), "\(function) is imported: an archive's OpenSSL version of libpq's hashing was linked")
        }
        return output
    }

    /// Runs the program against the test server, with a service file whose one service is an LDAP
    /// URL on a port nothing listens on, and Kerberos' trace file in `directory` (`kerberosTrace`):
    /// MIT Kerberos creates it when a GSSAPI call reaches the library, not when it is only loaded.
    static func run(_ program: String, dsn: String, in directory: String) async throws -> [String: Step] {
        try await runCounting(program, dsn: dsn, in: directory).steps
    }

    /// ``run(_:dsn:in:)``, with how many hashes, HMACs and random draws deploy/libpq-crypto.c had
    /// served after each step.
    static func runCounting(_ program: String, dsn: String, in directory: String) async throws -> (steps: [String: Step], cryptoCalls: [String: Int]) {
        let serviceFile = directory + "/pg_service.conf"
        try "[ldap-lookup]\nldap://127.0.0.1:1/dc=example?uri?one?(cn=vitals)\n".write(toFile: serviceFile, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PGSERVICEFILE"] = serviceFile
        environment["KRB5_TRACE"] = kerberosTrace(in: directory)
        let child = try ChildProcess(program, [dsn], environment: environment)
        let status = await child.wait(timeout: .seconds(60))
        try #require(status == 0, "the check failed: \(child.output)")
        var steps: [String: Step] = [:]
        var cryptoCalls: [String: Int] = [:]
        for line in child.output.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count >= 3 else { continue }
            func flag(_ name: String) -> Bool { fields.contains { $0 == "\(name)=1" } }
            let error = line.range(of: " error=").map { String(line[$0.upperBound...]) } ?? ""
            steps[String(fields[0])] = Step(connected: flag("connected"), gssapiMapped: flag("gssapi"), ldapMapped: flag("ldap"), error: error)
            cryptoCalls[String(fields[0])] = fields.first { $0.hasPrefix("crypto=") }.flatMap { Int($0.dropFirst("crypto=".count)) }
        }
        return (steps, cryptoCalls)
    }

    static func kerberosTrace(in directory: String) -> String { directory + "/krb5.trace" }

    /// deploy/libpq-crypto.c against OpenSSL's EVP digests and HMAC, the functions the archives'
    /// versions call: every type libpq can ask for, messages and keys around both block sizes.
    @Test func theHashesAreOpenSSLs() async throws {
        let directory = try TemporaryDirectory()
        let program = try await Self.build(in: directory.path, absentLibraries: false)
        let child = try ChildProcess(program, ["--hashes"])
        let status = await child.wait(timeout: .seconds(60))
        #expect(status == 0)
        // 6 types × 15 message lengths × (1 digest + 15 key lengths).
        #expect(child.output.trimmingCharacters(in: .whitespacesAndNewlines) == "hashes ok 1440", "\(child.output)")
    }

    /// The plain connection's SCRAM exchange is done by deploy/libpq-crypto.c (its hashes, its HMACs
    /// and its nonce), and a wrong password is refused with the server's message, as with libpq.so.
    @Test func aPasswordExchangeUsesTheLowLevelHashes() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let directory = try TemporaryDirectory()
        let (steps, calls) = try await Self.runCounting(try await Self.build(in: directory.path, absentLibraries: false), dsn: server.dsn, in: directory.path)

        #expect(calls["start"] == 0)
        #expect(steps["plain"]?.connected == true)
        let afterPlain = try #require(calls["plain"])
        #expect(afterPlain > 0, "the SCRAM exchange did not come to deploy/libpq-crypto.c")
        let wrong = try #require(steps["wrong-password"])
        #expect(!wrong.connected)
        #expect(wrong.error.contains("password authentication failed"), "\(wrong.error)")
        #expect(try #require(calls["wrong-password"]) > afterPlain)
    }

    @Test func gssapiAndLDAPAreOpenedOnlyWhenLibpqFirstCallsThem() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let directory = try TemporaryDirectory()
        let steps = try await Self.run(try await Self.build(in: directory.path, absentLibraries: false), dsn: server.dsn, in: directory.path)

        #expect(steps["start"] == Step(connected: false, gssapiMapped: false, ldapMapped: false, error: ""))
        // SCRAM over TCP with gssencmode=disable, as vitals connects by default: neither is opened.
        #expect(steps["plain"] == Step(connected: true, gssapiMapped: false, ldapMapped: false, error: ""))
        // gssencmode=require asks GSSAPI for credentials: the library opens, Kerberos is called (its
        // trace file appears), finds none, and libpq says so.
        let gssapi = try #require(steps["gssencmode"])
        #expect(!gssapi.connected && gssapi.gssapiMapped && !gssapi.ldapMapped)
        #expect(gssapi.error.contains("GSSAPI encryption required but was impossible"), "\(gssapi.error)")
        #expect(FileManager.default.fileExists(atPath: Self.kerberosTrace(in: directory.path)), "the GSSAPI calls reached Kerberos")
        // The service lookup opens libldap, whose ldap_init answers (no "could not create LDAP
        // structure"), finds no server, and libpq goes on without the service's parameters.
        let ldap = try #require(steps["ldap"])
        #expect(!ldap.connected && ldap.ldapMapped)
        #expect(!ldap.error.contains("LDAP structure"), "\(ldap.error)")
    }

    @Test func withoutTheLibrariesOnlyTheConnectionsThatNeedThemFail() async throws {
        guard let server = PostgresTestServer.require() else { return }
        let directory = try TemporaryDirectory()
        let steps = try await Self.run(try await Self.build(in: directory.path, absentLibraries: true), dsn: server.dsn, in: directory.path)

        #expect(steps["plain"] == Step(connected: true, gssapiMapped: false, ldapMapped: false, error: ""))
        let gssapi = try #require(steps["gssencmode"])
        #expect(!gssapi.connected && !gssapi.gssapiMapped)
        #expect(gssapi.error.contains("GSSAPI encryption required but was impossible"), "\(gssapi.error)")
        #expect(!FileManager.default.fileExists(atPath: Self.kerberosTrace(in: directory.path)))
        #expect(steps["ldap"] == Step(connected: false, gssapiMapped: false, ldapMapped: false, error: "could not create LDAP structure "))
    }

    /// The static libpq's TLS against `scripts/test-servers.sh start DIR --tls`: full verification
    /// by name connects (the server refuses the role without TLS), the wrong CA is refused, and
    /// neither opens GSSAPI or LDAP.
    @Test func tlsVerifiesTheServerCertificate() async throws {
        let directory = try TemporaryDirectory()
        try await PostgresTLSTestServer.with { tls in
            let program = try await Self.build(in: directory.path, absentLibraries: false)
            let trusted = try await Self.run(program, dsn: tls.dsn("sslmode=verify-full&sslrootcert=\(tls.ca)"), in: directory.path)
            #expect(trusted["plain"] == Step(connected: true, gssapiMapped: false, ldapMapped: false, error: ""))
            let untrusted = try await Self.run(program, dsn: tls.dsn("sslmode=verify-full&sslrootcert=\(tls.otherCA)"), in: directory.path)
            let plain = try #require(untrusted["plain"])
            #expect(!plain.connected && !plain.gssapiMapped && !plain.ldapMapped)
            #expect(plain.error.contains("certificate verify failed"), "\(plain.error)")
        }
    }
}
