import Testing

@testable import Vitals

/// The one JSON reader (``JSONValue`` over ``JSONBytes``) and the one writer (``JSONText``).
@Suite struct JSONValueTests {
    @Test func readsEveryKindOfValueInDocumentOrder() throws {
        let value = try #require(JSONValue.parse(#" { "b": [1, -2.5e3, true, false, null], "a": {"x": "y"} } "#))
        guard case .object(let members) = value else { Issue.record("not an object"); return }
        #expect(members.map(\.key) == ["b", "a"])
        #expect(value["b"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
        #expect(value["a"]?["x"]?.string == "y")
    }

    @Test func decodesEscapesAndSurrogatePairs() {
        #expect(JSONValue.parse(#""a\"b\\c\/d\n\t\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\n\té😀"))
        // A lone surrogate is replaced, never trusted.
        #expect(JSONValue.parse(#""\ud83d!""#) == .string("\u{FFFD}!"))
    }

    @Test(arguments: [
        "", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "tru", "nul", "\"open", "\"bad \\x escape\"", "1 2", "{} x", "-", "[1 2]",
    ])
    func refusesWhatIsNotExactlyOneValue(_ text: String) {
        #expect(JSONValue.parse(text) == nil)
    }

    @Test func nestingIsBoundedInsteadOfRecursingForever() {
        let deep = String(repeating: "[", count: JSONValue.maxDepth + 1) + String(repeating: "]", count: JSONValue.maxDepth + 1)
        #expect(JSONValue.parse(deep) == nil)
        let allowed = String(repeating: "[", count: JSONValue.maxDepth - 1) + String(repeating: "]", count: JSONValue.maxDepth - 1)
        #expect(JSONValue.parse(allowed) != nil)
    }

    /// What the writer quotes, the reader reads back unchanged.
    @Test(arguments: ["plain", "quote \" and \\ backslash", "control \u{01}\u{1F} and \n\r\t", "é 😀 ünïcode", ""])
    func writerAndReaderRoundTrip(_ text: String) {
        #expect(JSONValue.parse(JSONText.quote(text)) == .string(text))
    }

    @Test func numbersAreWrittenAsJSONHasThem() {
        #expect(JSONText.number(3) == "3")
        #expect(JSONText.number(0.25) == "0.25")
        #expect(JSONText.number(.infinity) == "null")
        #expect(JSONText.number(.nan) == "null")
        #expect(JSONValue.parse(JSONText.number(1e-7))?.number == 1e-7)
    }
}
