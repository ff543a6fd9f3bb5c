import Testing

@testable import Vitals

@Suite struct RouteTemplaterTests {
    let templater = RouteTemplater(templates: [])

    @Test(arguments: [
        ("/markets/42", "/markets/{id}"),
        ("/markets/42/applications/7", "/markets/{id}/applications/{id}"),
        ("/0", "/{id}"),
        ("/users/007/avatar", "/users/{id}/avatar"),
        ("/v2/users/1", "/v2/users/{id}"),
        ("/api/v1/items", "/api/v1/items"),
        ("/en-US/page2", "/en-US/page2"),
        ("/café/1", "/café/{id}"),
    ] as [(String, String)])
    func numericIDs(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("/u/123e4567-e89b-12d3-a456-426614174000", "/u/{id}"),
        ("/u/123E4567-E89B-12D3-A456-426614174000/keys", "/u/{id}/keys"),
        ("/u/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "/u/{id}"),
        // Wrong shape and not a token (no digit): kept.
        ("/u/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg", "/u/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeeg"),
    ] as [(String, String)])
    func uuids(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("/commits/deadbeefdeadbeef", "/commits/{id}"),
        ("/commits/0123456789ABCDEFabcdef", "/commits/{id}"),
        ("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709", "/blobs/{id}"),
        // Too short for the hex rule, not all digits: kept.
        ("/commits/abcdef0123", "/commits/abcdef0123"),
        ("/commits/deadbeefdeadbee", "/commits/deadbeefdeadbee"),
    ] as [(String, String)])
    func hex(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("/sessions/01ARZ3NDEKTSV4RRFFQ69G5FAV", "/sessions/{id}"),
        ("/t/dGhpc19pc19hX3Rva2VuXzEyMw", "/t/{id}"),
        ("/t/eyJhbGciOiJIUzI1NiJ9_abc-DEF", "/t/{id}"),
        ("/invite/Ab3_Cd4-Ef5_Gh6-Ij7_", "/invite/{id}"),
        // No digit: a slug, kept.
        ("/blog/my-very-long-article-title", "/blog/my-very-long-article-title"),
        // 19 characters: too short for the token rule.
        ("/t/abcdefghijklmnopq12", "/t/abcdefghijklmnopq12"),
        // Character outside [A-Za-z0-9_-]: kept.
        ("/files/annual-report-2024-final.pdf", "/files/annual-report-2024-final.pdf"),
    ] as [(String, String)])
    func opaqueTokens(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("/markets/42?x=1&y=2", "/markets/{id}"),
        ("/markets?page=3", "/markets"),
        ("/a#frag", "/a"),
        ("/a/1#frag?x", "/a/{id}"),
        ("?x=1", "/"),
        ("#top", "/"),
        ("", "/"),
        ("/", "/"),
        ("/?", "/"),
    ] as [(String, String)])
    func queryFragmentAndRoot(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("/markets/42/", "/markets/{id}/"),
        ("/markets/", "/markets/"),
        ("//a//1", "//a//{id}"),
        ("/a/1//", "/a/{id}//"),
    ] as [(String, String)])
    func slashesArePreserved(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test(arguments: [
        ("http://example.com/markets/42?x=1", "/markets/{id}"),
        ("https://user@example.com:8443/a/", "/a/"),
        ("http://example.com", "/"),
        ("http://example.com?x=1", "/"),
        ("*", "*"),
        ("markets/42", RouteTemplater.invalidRoute),
        ("://x/1", RouteTemplater.invalidRoute),
        ("\\x16\\x03", RouteTemplater.invalidRoute),
    ] as [(String, String)])
    func nonOriginFormTargets(path: String, route: String) {
        #expect(templater.route(for: path) == route)
    }

    @Test func userTemplatesWin() {
        let templater = RouteTemplater(templates: [
            "/markets/{id}/applications",
            "/files/{name}",
            "/a/{x}",
            "/a/{y}",
            "reports/{year}/summary",
            "/exact/",
        ])
        #expect(templater.route(for: "/markets/42/applications") == "/markets/{id}/applications")
        #expect(templater.route(for: "/markets/abc/applications?x=1") == "/markets/{id}/applications")
        #expect(templater.route(for: "/files/report.pdf") == "/files/{name}")
        #expect(templater.route(for: "/files/annual-report-2024-final.pdf") == "/files/{name}")
        // First matching template in the given order.
        #expect(templater.route(for: "/a/b") == "/a/{x}")
        // Template written without a leading slash.
        #expect(templater.route(for: "/reports/2026/summary") == "reports/{year}/summary")
        #expect(templater.route(for: "/exact/") == "/exact/")
        // No match: segment count, empty wildcard segment, or literal differs (case-sensitively).
        #expect(templater.route(for: "/markets/42/applications/") == "/markets/{id}/applications/")
        #expect(templater.route(for: "/markets/42/applications/7") == "/markets/{id}/applications/{id}")
        #expect(templater.route(for: "/files/") == "/files/")
        #expect(templater.route(for: "/files") == "/files")
        #expect(templater.route(for: "/Files/x") == "/Files/x")
        #expect(templater.route(for: "/markets/42/application") == "/markets/{id}/application")
        #expect(templater.route(for: "/exact") == "/exact")
        // Absolute-form targets are matched on their path.
        #expect(templater.route(for: "http://h/files/x?y") == "/files/{name}")
    }

    @Test func routeLengthIsBounded() {
        let maximum = RouteTemplater.maximumRouteLength
        #expect(maximum == 200)
        let longest = "/" + String(repeating: "g", count: maximum - 1)
        #expect(templater.route(for: longest) == longest)
        #expect(templater.route(for: longest + "g") == RouteTemplater.overlongRoute)
        #expect(templater.route(for: longest + "?query=\(String(repeating: "q", count: 500))") == longest)
        // Long input whose template is short.
        let hex = String(repeating: "ab12", count: 100)
        #expect(templater.route(for: "/t/\(hex)") == "/t/{id}")
        // Short segments that grow: 100 × "/{id}" is 500 bytes.
        #expect(templater.route(for: String(repeating: "/1", count: 100)) == RouteTemplater.overlongRoute)
        #expect(templater.route(for: String(repeating: "/1", count: 40)) == String(repeating: "/{id}", count: 40))
        #expect(templater.route(for: String(repeating: "/1", count: 41)) == RouteTemplater.overlongRoute)
        let megabyte = "/" + String(repeating: "x/", count: 500_000)
        #expect(templater.route(for: megabyte) == RouteTemplater.overlongRoute)
    }

    @Test func substrings() {
        let line = "GET /markets/42?x HTTP/1.1"
        let path = line.split(separator: " ")[1]
        #expect(templater.route(for: path) == "/markets/{id}")
        #expect(templater.route(for: "/a/b"[...]) == "/a/b")
        #expect(templater.route(for: "x/w/99".dropFirst()) == "/w/{id}")
    }
}
