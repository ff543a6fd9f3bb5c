import Foundation
import Testing

@testable import Vitals

/// Issue 21: a password in SQL text, in every quoting form PostgreSQL accepts, never leaves vitals
/// (`/statements`, error text), and the slow-query plugin's normalised text never holds it either.
@Suite struct PasswordRedactionTests {
    let redactor = PostgresRedactor(secrets: [])

    func redacted(_ sql: String) -> String { PostgresRedactor.redactPasswordLiterals(sql) }

    @Test(arguments: [
        ("ALTER ROLE app PASSWORD 'it''s secret';", "ALTER ROLE app PASSWORD '****';"),
        ("ALTER ROLE app PASSWORD E'it\\'s \\\\ secret';", "ALTER ROLE app PASSWORD '****';"),
        ("ALTER ROLE app PASSWORD e'\\x41secret'", "ALTER ROLE app PASSWORD '****'"),
        ("ALTER ROLE app PASSWORD U&'d\\0061t secret'", "ALTER ROLE app PASSWORD '****'"),
        ("ALTER ROLE app PASSWORD U&'d!0061t secret' UESCAPE '!' LOGIN", "ALTER ROLE app PASSWORD '****' LOGIN"),
        ("ALTER ROLE app PASSWORD $$Dollar5ecretXYZ$$;", "ALTER ROLE app PASSWORD '****';"),
        ("ALTER ROLE app PASSWORD $pw$ it's $$ secret $pw$ VALID UNTIL 'infinity'", "ALTER ROLE app PASSWORD '****' VALID UNTIL 'infinity'"),
        ("ALTER ROLE app PASSWORD 'first'\n  'secret' LOGIN", "ALTER ROLE app PASSWORD '****' LOGIN"),
        ("alter role app password\n'secret'", "alter role app password\n'****'"),
        ("ALTER ROLE app PASSWORD/* c */'secret'", "ALTER ROLE app PASSWORD/* c */'****'"),
        ("ALTER ROLE app PASSWORD N'secret'", "ALTER ROLE app PASSWORD '****'"),
    ])
    func everyQuotingForm(sql: String, expected: String) {
        #expect(redacted(sql) == expected)
        #expect(!redactor.redact(sql).contains("secret") && !redactor.redact(sql).contains("5ecret"))
    }

    @Test func rolesUsersAndEncryptedPasswords() {
        #expect(redacted("CREATE ROLE x LOGIN ENCRYPTED PASSWORD 'a b' IN ROLE y") == "CREATE ROLE x LOGIN ENCRYPTED PASSWORD '****' IN ROLE y")
        #expect(redacted("CREATE USER \"Bob\" WITH ENCRYPTED PASSWORD $$s$$ CONNECTION LIMIT 3") == "CREATE USER \"Bob\" WITH ENCRYPTED PASSWORD '****' CONNECTION LIMIT 3")
        #expect(redacted("ALTER USER bob WITH PaSsWoRd 'x' VALID UNTIL '2030-01-01'") == "ALTER USER bob WITH PaSsWoRd '****' VALID UNTIL '2030-01-01'")
        // Two statements, each with its own.
        #expect(redacted("ALTER ROLE a PASSWORD 'p'; ALTER ROLE b PASSWORD $x$q$x$;") == "ALTER ROLE a PASSWORD '****'; ALTER ROLE b PASSWORD '****';")
    }

    @Test func nothingToRedact() {
        for sql in [
            "ALTER ROLE app PASSWORD NULL", "ALTER ROLE app PASSWORD NULL VALID UNTIL 'infinity'", "SELECT password FROM users WHERE id = 'x'",
            "SELECT 'no secret here'", "ALTER ROLE app PASSWORD $1", "", "password",
        ] {
            #expect(redacted(sql) == sql)
        }
    }

    @Test func userMappingsAndConnectionStrings() {
        #expect(
            redacted("CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', password 'secret')")
                == "CREATE USER MAPPING FOR app SERVER remote OPTIONS (user 'app', password '****')")
        #expect(
            redacted("ALTER USER MAPPING FOR app SERVER remote OPTIONS (SET password $$secret$$)")
                == "ALTER USER MAPPING FOR app SERVER remote OPTIONS (SET password '****')")
        // A connection string: the whole literal, whatever its quoting.
        #expect(redacted("SELECT dblink_connect('c', 'host=h user=u password=secret dbname=d')") == "SELECT dblink_connect('c', '****')")
        #expect(redacted("SELECT dblink_connect($$host=h PASSWORD='secret'$$)") == "SELECT dblink_connect('****')")
        #expect(redacted("SELECT * FROM dblink(E'dbname=d password=se\\'cret', 'SELECT 1') AS t(x int)") == "SELECT * FROM dblink('****', 'SELECT 1') AS t(x int)")
        #expect(redacted("CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host 'h', dbname 'postgresql://u:secret@h/d?password=x')").contains("'****')"))
        // A function body that sets one goes whole.
        #expect(redacted("DO $body$ BEGIN EXECUTE 'ALTER ROLE x PASSWORD ''secret'''; END $body$") == "DO '****'")
    }

    @Test func truncatedAndMalformed() {
        // Cut by the collector's query-length cap: an unterminated literal runs to the end.
        #expect(redacted("ALTER ROLE app PASSWORD 'secr") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD $$secret") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD $t$secret$u$ more") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD E'secret\\") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD U&'secret") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD 'a'\n'secret") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD") == "ALTER ROLE app PASSWORD")
        #expect(redacted("ALTER ROLE app PASSW") == "ALTER ROLE app PASSW")
        // standard_conforming_strings = off: `\'` does not end a plain literal either.
        // Read as SQL with standard_conforming_strings on, `secret` would be a word and the quote
        // after it would open a literal running to the end: it goes too.
        #expect(redacted("ALTER ROLE app PASSWORD 'ab\\' secret' LOGIN") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD 'ab\\'' secret' LOGIN") == "ALTER ROLE app PASSWORD '****' LOGIN")
        // Not SQL, but what stands there is the password.
        #expect(redacted("ALTER ROLE app PASSWORD \"secret\"") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("ALTER ROLE app PASSWORD 12345678") == "ALTER ROLE app PASSWORD '****'")
        #expect(redacted("password = 'secret'") == "password = '****'")
        // A comment that mentions a password goes.
        #expect(redacted("SELECT 1 -- new password: secret\n, 2") == "SELECT 1 , 2")
        #expect(redacted("SELECT 1 /* password secret") == "SELECT 1 ")
    }

    @Test func libpqTextKeepsItsDSNRedaction() {
        let redactor = PostgresRedactor(secrets: ["hunter2"])
        #expect(redactor.redact("FATAL:  password authentication failed for user \"vitals\"") == "FATAL:  password authentication failed for user \"vitals\"")
        #expect(redactor.redact("host=h password='it''s' user=u") == "host=h password=**** user=u")
        #expect(redactor.redact("could not connect: hunter2") == "could not connect: ****")
        #expect(redactor.redact("postgresql://u:pw@h/d") == "postgresql://u:****@h/d")
    }

    /// The DSN's secrets: the password, the client key's passphrase and `PGPASSWORD`.
    @Test func theConnectionStringsSecretsAreWhatIsRedacted() throws {
        let info = try PostgresConnectionInfo(
            "postgresql://vitals:pw-one@db/app?sslmode=verify-full&sslcert=/c.crt&sslkey=/c.key&sslpassword=key-two",
            environment: ["PGPASSWORD": "env-three"])
        #expect(info.redactor.redact("pw-one key-two env-three /c.key") == "**** **** **** /c.key")
    }

    @Test func statementsAreServedNormalised() {
        let redactor = PostgresRedactor(secrets: ["Hunter2"])
        #expect(redactor.redactStatement("ALTER ROLE app PASSWORD $$Dollar5ecretXYZ$$;") == "ALTER role app password $1")
        #expect(redactor.redactStatement("SELECT * FROM t WHERE id = $1 AND name = 'bob'") == "SELECT * FROM t WHERE id = $1 AND name = $2")
        #expect(redactor.redactStatement("DO $$ BEGIN PERFORM 'x'; END $$") == "DO $1")
        // An unquoted word that spells the target's password, before lower-casing hides it.
        #expect(redactor.redactStatement("SELECT Hunter2 FROM t") == "SELECT **** FROM t")
    }

    // MARK: - Property

    static let secret = "Zq7Sekr3tMarker"

    /// One literal holding `secret` somewhere among random filler, in the given form.
    static func literal(form: Int, secret: String, _ random: inout SplitMix64) -> String {
        func filler(_ alphabet: [String]) -> String {
            (0..<Int(random.next() % 6)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }.joined()
        }
        let common = ["a", "Z", " ", "é", "\n", ";", "--", "/*", "*/", "\"", "password", "=", "(", ")", "0"]
        let before = Int(random.next() % 2) == 0
        func body(_ extra: [String]) -> String {
            let f1 = filler(common + extra)
            let f2 = filler(common + extra)
            return before ? f1 + secret + f2 : secret + f2
        }
        switch form {
        case 0: return "'" + body(["''", "\\"]) + "'"
        case 1: return ["E", "e"][Int(random.next() % 2)] + "'" + body(["''", "\\'", "\\\\", "\\n"]) + "'"
        case 2:
            let uescape = random.next() % 2 == 0
            return "U&'" + body(["''", uescape ? "!0041" : "\\0041"]) + "'" + (uescape ? " UESCAPE '!'" : "")
        // A `$` in the filler, but never two in a row: they would close the quote.
        case 3: return "$$" + body(["'", "$a", "a$b", "$1"]) + "$$"
        case 4:
            let tag = ["pw", "_x1", "Tag", "q"][Int(random.next() % 4)]
            return "$\(tag)$" + body(["'", "$$", "$", "$other$"]) + "$\(tag)$"
        case 5: return "'" + filler(common) + "'\n" + filler(["  ", "\t"]) + "'" + body(["''"]) + "'"
        // With standard_conforming_strings off, `\'` is a quote inside a plain literal.
        default: return "'" + body(["\\'", "''"]) + "'"
        }
    }

    static func statement(_ random: inout SplitMix64) -> String {
        func pick(_ options: [String]) -> String { options[Int(random.next() % UInt64(options.count))] }
        let value = literal(form: Int(random.next() % 7), secret: secret, &random)
        let password = pick(["PASSWORD", "password", "Password", "pAsSwOrD"])
        let space = pick([" ", "\n", "\t ", " /* c */ ", " -- c\n", "  \n  "])
        let prefix = pick([
            "", "SELECT 1; ", "/* x */ ", "-- note\n", "SET search_path = 'a'; ", "SELECT 'it''s', $$d$$, E'\\''; ",
        ])
        let suffix = pick(["", ";", " LOGIN;", " VALID UNTIL 'infinity'", "\n-- end", "; SELECT 'x', 42", " /* c */;", "  "])
        switch random.next() % 5 {
        case 0: return prefix + "ALTER ROLE app" + space + password + space + value + suffix
        case 1: return prefix + "CREATE USER \"App\" WITH LOGIN ENCRYPTED " + password + space + value + suffix
        case 2: return prefix + "CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u'," + space + password + space + value + ")" + suffix
        case 3:
            // A connection string: the secret sits inside a literal that says `password=`.
            let connection = literal(form: Int(random.next() % 5), secret: "host=h " + password + "=" + secret + " dbname=d", &random)
            return prefix + "SELECT dblink_connect(" + connection + ")" + suffix
        default: return prefix + "ALTER ROLE app WITH" + space + password + space + value + suffix
        }
    }

    @Test(.onItsOwnThread) func noSecretSurvivesAnyForm() {
        var random = SplitMix64(seed: 0x21_5ec2e7)
        let normalizer = StatementNormalizer()
        let redactor = PostgresRedactor(secrets: [])
        var forms = 0
        for _ in 0..<4000 {
            let sql = Self.statement(&random)
            #expect(sql.contains(Self.secret))
            let outputs = [redactor.redact(sql), redactor.redactStatement(sql), normalizer.fingerprint(sql).text]
            for output in outputs where output.lowercased().contains(Self.secret.lowercased()) {
                Issue.record("the secret survives in \(output.debugDescription) from \(sql.debugDescription)")
            }
            if outputs[0].contains(PasswordLiteralRedaction.placeholder) { forms += 1 }
        }
        // The redactor did replace something each time, rather than the statements being odd.
        #expect(forms == 4000)
    }
}
