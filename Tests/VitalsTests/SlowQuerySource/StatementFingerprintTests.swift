import Foundation
import Testing

@testable import Vitals

@Suite struct SlowQueryFingerprintTests {
    let normalizer = StatementNormalizer()

    func text(_ sql: String) -> String { normalizer.fingerprint(sql).text }
    func id(_ sql: String) -> String { normalizer.fingerprint(sql).id }

    @Test func literalsBecomeNumberedPlaceholdersAndCaseAndSpaceAreCanonical() {
        #expect(text("select * from Orders where id = 42 and name = 'bob'") == "SELECT * FROM orders WHERE id = $1 AND name = $2")
        #expect(text("SELECT  a.b ,count( * )\n FROM t  -- trailing\n WHERE x::int >= -1.5e3") == "SELECT a.b, count(*) FROM t WHERE x::int >= $1")
        #expect(text("select E'it\\'s', B'0101', X'FF', N'n', U&'d\\0061t' UESCAPE '!'") == "SELECT $1, $2, $3, $4, $5 UESCAPE $6")
        #expect(text("select $$dollar 'quoted'$$, $fn$ body $$ inner $$ $fn$") == "SELECT $1, $2")
        #expect(text("SELECT * FROM t WHERE a = $1 AND b = $2 LIMIT 10") == "SELECT * FROM t WHERE a = $1 AND b = $2 LIMIT $3")
        #expect(text("SELECT \"Mixed Case\".\"Col\" FROM \"Mixed Case\"") == "SELECT \"Mixed Case\".\"Col\" FROM \"Mixed Case\"")
        #expect(text("SELECT 0x1F, 1_000, .5, 1., 3.14e-2") == "SELECT $1, $2, $3, $4, $5")
        #expect(text("SELECT x - 1, x-1, (-1), f(-2), x =-1") == "SELECT x - $1, x - $2, ($3), f($4), x = $5")
        #expect(text("SELECT 'a'\n  'b' FROM t") == "SELECT $1 FROM t")
        #expect(text("SELECT TRUE, NULL WHERE x IS NOT NULL") == "SELECT TRUE, NULL WHERE x IS NOT NULL")
    }

    @Test func listsCollapse() {
        #expect(text("SELECT * FROM t WHERE id IN (1, 2, 3)") == "SELECT * FROM t WHERE id IN (...)")
        #expect(text("SELECT * FROM t WHERE id in ($1::INTEGER, $2::INTEGER) AND y = 5") == "SELECT * FROM t WHERE id IN (...) AND y = $1")
        #expect(text("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (3, 'z') RETURNING id") == "INSERT INTO t(a, b) VALUES (...) RETURNING id")
        #expect(text("SELECT ARRAY[1, 2, 3], ARRAY[]::int[]") == "SELECT ARRAY[...], ARRAY[]::int[]")
        #expect(text("SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v IN (7))") == "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE v IN (...))")
        // Not plain lists: written as they came, placeholders numbered as usual.
        #expect(text("SELECT * FROM t WHERE id IN (1, x, 3)") == "SELECT * FROM t WHERE id IN ($1, x, $2)")
        #expect(text("INSERT INTO t VALUES (1, now()), (2, now())") == "INSERT INTO t VALUES ($1, now()), ($2, now())")
        #expect(text("INSERT INTO t VALUES (1, 2), (3, now())") == "INSERT INTO t VALUES (...), ($1, now())")
        #expect(text("SELECT 1 WHERE a IN (1::int, 2::text)") == "SELECT $1 WHERE a IN ($2::int, $3::text)")
        #expect(text("SELECT x IN (") == "SELECT x IN (")
        #expect(text("SELECT x IN (1, 2") == "SELECT x IN ($1, $2")
    }

    @Test func fingerprintsThatMustBeShared() {
        let pairs: [(String, String)] = [
            ("SELECT * FROM t WHERE id = 1", "select *\n\tfrom T where ID=2 -- x"),
            ("SELECT * FROM t WHERE id = 1", "SELECT * FROM t WHERE id = $1"),
            ("SELECT * FROM t WHERE id = -1", "SELECT * FROM t WHERE id = 7"),
            ("SELECT * FROM t WHERE id IN (1, 2)", "SELECT * FROM t WHERE id IN (1, 2, 3, 4, 5)"),
            ("INSERT INTO t VALUES (1, 'a')", "insert into t values (2, 'b'), (3, 'c')"),
            ("SELECT 'it''s' /* c /* nested */ c */", "SELECT 'plain'"),
            ("SELECT $tag$ a $ b $tag$", "SELECT 'x'"),
            ("SELECT E'\\\\'", "SELECT 'y'"),
            ("SELECT f(x) FROM t", "SELECT f ( x ) FROM t"),
            ("SELECT a.b FROM t", "SELECT a . b FROM t"),
            ("SELECT x::int", "SELECT x :: int"),
            ("SELECT * FROM t LIMIT 10 OFFSET 20", "SELECT * FROM t LIMIT 1 OFFSET 0"),
        ]
        for (a, b) in pairs {
            #expect(id(a) == id(b), "\(a) vs \(b): \(text(a)) vs \(text(b))")
        }
    }

    /// Issue 17: the log quotes statements as clients sent them, with or without a final `;`.
    @Test func aTrailingSemicolonAndKeywordCaseDoNotSplitAStatement() {
        let pairs: [(String, String)] = [
            ("SELECT * FROM t WHERE id = 13;", "SELECT * FROM t WHERE id = 13"),
            ("BEGIN;", "begin"),
            ("commit ;  -- done\n", "COMMIT"),
            ("SELECT 1;;", "select 2"),
            ("INSERT INTO t VALUES (1, 2);", "insert into t values (3, 4), (5, 6)"),
        ]
        for (a, b) in pairs {
            #expect(id(a) == id(b), "\(a) vs \(b): \(text(a)) vs \(text(b))")
        }
        #expect(text("BEGIN;") == "BEGIN")
        #expect(text("SELECT * FROM t WHERE id = 13;\n") == "SELECT * FROM t WHERE id = $1")
        // Between two statements it stays: a multi-statement string is not one statement.
        #expect(text("select 1; select 2;") == "SELECT $1; SELECT $2")
        #expect(id("SELECT 1; SELECT 2") != id("SELECT 1 SELECT 2"))
    }

    @Test func fingerprintsThatMustDiffer() {
        let pairs: [(String, String)] = [
            ("SELECT * FROM t WHERE id = 1", "SELECT * FROM u WHERE id = 1"),
            ("SELECT * FROM \"T\"", "SELECT * FROM t"),
            ("SELECT a FROM t", "SELECT b FROM t"),
            ("SELECT * FROM t WHERE a = 1 AND b = 2", "SELECT * FROM t WHERE a = 1 OR b = 2"),
            ("SELECT * FROM t WHERE id IN (1, 2)", "SELECT * FROM t WHERE id = ANY($1)"),
            ("SELECT x - 1", "SELECT x + 1"),
            ("SELECT 1 -- c\n, 2", "SELECT 1"),
            ("SELECT '--not a comment', a", "SELECT 'x'"),
            ("SELECT * FROM t WHERE x IS NULL", "SELECT * FROM t WHERE x IS NOT NULL"),
            ("SELECT a FROM t ORDER BY a", "SELECT a FROM t ORDER BY a DESC"),
        ]
        for (a, b) in pairs {
            #expect(id(a) != id(b), "\(a) vs \(b) share \(text(a))")
        }
    }

    @Test func idIsStableAcrossProcessesAndVersions() {
        // FNV-1a 64 over the normalised text: fixed forever, unlike Swift's seeded Hasher.
        // Known FNV-1a vector: "a" -> af63dc4c8601ec8c.
        #expect(normalizer.fingerprint("a").id == "af63dc4c8601ec8c")
        #expect(id("SELECT 1") == id("select 2"))
        #expect(NormalizedOutput.hex(0xcbf2_9ce4_8422_2325) == "cbf29ce484222325")
    }

    @Test func hostileStatements() {
        // Nested quotes, comments inside strings, strings inside comments.
        #expect(text("SELECT 'it''s /* not */ -- a comment', a /* 'not a string */ FROM t") == "SELECT $1, a FROM t")
        // Unterminated quote, identifier, dollar quote and comment run to the end.
        #expect(text("SELECT 'unterminated FROM t") == "SELECT $1")
        #expect(text("SELECT \"unterminated FROM t") == "SELECT \"unterminated FROM t")
        #expect(text("SELECT $a$ never closed $b$") == "SELECT $1")
        #expect(text("SELECT 1 /* /* nested */ still comment") == "SELECT $1")
        #expect(text("SELECT E'\\") == "SELECT $1")
        // A lone $ and odd bytes do not derail the lexer.
        #expect(text("SELECT a$b, $, {x}") == "SELECT a$b, $, { x }")
        #expect(text("") == "")
        #expect(text("   -- only a comment") == "")
    }

    @Test func invalidUTF8IsHashedAndReplacedNotCrashed() {
        let bytes: [UInt8] = Array("SELECT ".utf8) + [0xFF, 0xC3] + Array(" FROM t WHERE x = '".utf8) + [0xE2, 0x82] + Array("'".utf8)
        let fingerprint = normalizer.fingerprint(bytes)
        #expect(fingerprint.text.hasPrefix("SELECT "))
        #expect(fingerprint.text.hasSuffix("FROM t WHERE x = $1"))
        #expect(fingerprint.text.unicodeScalars.contains("\u{FFFD}"))
        let other = normalizer.fingerprint(Array("SELECT ".utf8) + [0xFE, 0xC3] + Array(" FROM t WHERE x = 'a'".utf8))
        #expect(other.id != fingerprint.id)
    }

    /// Found by Fuzz/FuzzFingerprint: the cap counted the normalised bytes, but each invalid byte
    /// among them became a 3-byte U+FFFD in the text, so the text could reach three times the cap.
    @Test func invalidUTF8KeepsTheTextWithinTheCap() {
        let normalizer = StatementNormalizer(maxLength: 64)
        let bytes = Array("SELECT ".utf8) + [UInt8](repeating: 0xFF, count: 60) + Array(" FROM t".utf8)
        let fingerprint = normalizer.fingerprint(bytes)
        #expect(fingerprint.text.utf8.count <= normalizer.maxLength + "…".utf8.count)
        #expect(fingerprint.isTruncated && fingerprint.text.hasPrefix("SELECT \u{FFFD}") && fingerprint.text.hasSuffix("\u{FFFD}…"))
        // The id still covers everything.
        #expect(fingerprint.id == StatementNormalizer(maxLength: 1 << 20).fingerprint(bytes).id)
        #expect(fingerprint.id != normalizer.fingerprint(Array(bytes.dropLast())).id)
    }

    /// Found by Fuzz/FuzzFingerprint, minimised to the first two statements:
    /// - a colon, a separator and a colon were written `::`, which reads back as a cast, so
    ///   normalising the normalised `IN ($1::n)` collapsed the list;
    /// - a list candidate that failed wrote its tokens without their effect, so in
    ///   `VALUES (''), (2::VALUES ('')` the second `VALUES (` opened no list, but did when the
    ///   normalised text, whose first row no longer collapses, was read again.
    /// Either way a statement and its own normalised text got different ids.
    @Test func aNormalisedTextIsAlreadyNormal() {
        let statements = [
            "SELECT x IN(1:\u{1E}:N)", "VALUES(''),(2::VALUES('')", "SELECT a : : b", "SELECT a : :: b", "SELECT a[1 : 2], a[:3], b :: int",
            "SELECT x IN (2::ARRAY[3])", "SELECT x IN (1::ARRAY[], 2::ARRAY[], x)", "INSERT INTO t VALUES (1), (2::IN (3, 4)",
        ]
        for sql in statements {
            let once = normalizer.fingerprint(sql)
            #expect(normalizer.fingerprint(once.text) == once, "\(sql) → \(once.text)")
        }
        // Still no space where a cast was a cast.
        #expect(text("SELECT x IN(1 :: N)") == text("SELECT x IN(1::N)"))
        #expect(text("SELECT x IN(1: :N)") != text("SELECT x IN(1::N)"))
    }

    @Test func capKeepsTextBoundedButIdCoversEverything() {
        let normalizer = StatementNormalizer(maxLength: 64)
        let long = "SELECT " + (0..<200).map { "column_\($0)" }.joined(separator: ", ") + " FROM t"
        let a = normalizer.fingerprint(long)
        let b = normalizer.fingerprint(long.replacingOccurrences(of: "column_199", with: "column_x"))
        #expect(a.isTruncated)
        #expect(a.text.utf8.count <= 64 + 3)
        #expect(a.text.hasSuffix("…"))
        #expect(a.text.dropLast() == b.text.dropLast())
        #expect(a.id != b.id)
        // A cut never splits a multi-byte character.
        let wide = StatementNormalizer(maxLength: 20).fingerprint("SELECT ééééééééééééééééé FROM t")
        #expect(!wide.text.unicodeScalars.contains("\u{FFFD}"))
    }

    @Test(.onItsOwnThread) func multiMegabyteStatementIsBounded() {
        let values = (0..<300_000).map { String($0) }.joined(separator: ",")
        let huge = "SELECT * FROM t WHERE id IN (" + values + ") AND note = '" + String(repeating: "x", count: 1_000_000) + "'"
        #expect(huge.utf8.count > 2_500_000)
        let fingerprint = normalizer.fingerprint(huge)
        #expect(fingerprint.text == "SELECT * FROM t WHERE id IN (...) AND note = $1")
        // A huge list that is not plain is replayed, with its placeholders, up to the cap.
        let mixed = "SELECT * FROM t WHERE id IN (" + values + ", x)"
        let replayed = normalizer.fingerprint(mixed)
        #expect(replayed.isTruncated)
        #expect(replayed.text.hasPrefix("SELECT * FROM t WHERE id IN ($1, $2, $3"))
        #expect(replayed.text.utf8.count <= StatementNormalizer.defaultMaxLength + 3)
    }

    @Test(.onItsOwnThread) func randomBytesNeverCrash() {
        var generator = SplitMix64(seed: 0x5eed)
        let alphabet = Array("'\"$-/*()[],;:.eExXbBuU&0123456789 \t\nINVALUESARRAYselect\\".utf8) + [0xFF, 0xC3, 0x80, 0x00]
        do {
            for _ in 0..<10_000 {
                let length = Int(generator.next() % 200)
                let bytes = (0..<length).map { _ in
                    generator.next() % 4 == 0 ? UInt8(truncatingIfNeeded: generator.next()) : alphabet[Int(generator.next() % UInt64(alphabet.count))]
                }
                let fingerprint = normalizer.fingerprint(bytes)
                #expect(fingerprint.id.count == 16)
            }
        }
    }
}
