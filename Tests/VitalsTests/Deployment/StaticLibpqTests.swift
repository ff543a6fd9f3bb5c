import Foundation
import Testing

/// The shipped build (scripts/build-shipped.sh) links libpq from its static archives, with
/// deploy/libpq-optional.c standing in for libgssapi_krb5 and libldap, which libpq.so would load at
/// start with GnuTLS, SASL and Kerberos behind them. These tests link a small C program the same way
/// (Tests/deployment/libpq-optional-check.c) and connect to the test PostgreSQL with it: a plain
/// connection maps neither library, and GSSAPI or an LDAP service lookup opens its library when
/// libpq first calls it; built with library names that do not exist, those connections fail with
/// libpq's error and the program goes on. TLS, which libpq does through the OpenSSL the daemon links
/// anyway, verifies a certificate as libpq.so does. The link itself is checked by build-shipped.sh.
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
                "-I/usr/include/postgresql", root + "/Tests/deployment/libpq-optional-check.c", root + "/deploy/libpq-optional.c",
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
        return output
    }

    /// Runs the program against the test server, with a service file whose one service is an LDAP
    /// URL on a port nothing listens on, and Kerberos' trace file in `directory` (`kerberosTrace`):
    /// MIT Kerberos creates it when a GSSAPI call reaches the library, not when it is only loaded.
    static func run(_ program: String, dsn: String, in directory: String) async throws -> [String: Step] {
        let serviceFile = directory + "/pg_service.conf"
        try "[ldap-lookup]\nldap://127.0.0.1:1/dc=example?uri?one?(cn=vitals)\n".write(toFile: serviceFile, atomically: true, encoding: .utf8)
        var environment = ProcessInfo.processInfo.environment
        environment["PGSERVICEFILE"] = serviceFile
        environment["KRB5_TRACE"] = kerberosTrace(in: directory)
        let child = try ChildProcess(program, [dsn], environment: environment)
        let status = await child.wait(timeout: .seconds(60))
        try #require(status == 0, "the check failed: \(child.output)")
        var steps: [String: Step] = [:]
        for line in child.output.split(separator: "\n") {
            let fields = line.split(separator: " ", maxSplits: 4)
            guard fields.count >= 3 else { continue }
            func flag(_ name: String) -> Bool { fields.contains { $0 == "\(name)=1" } }
            let error = line.range(of: " error=").map { String(line[$0.upperBound...]) } ?? ""
            steps[String(fields[0])] = Step(connected: flag("connected"), gssapiMapped: flag("gssapi"), ldapMapped: flag("ldap"), error: error)
        }
        return steps
    }

    static func kerberosTrace(in directory: String) -> String { directory + "/krb5.trace" }

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
