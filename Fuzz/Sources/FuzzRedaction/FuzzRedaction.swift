import FuzzDriver
import Vitals

/// Password redaction (issue 21) on arbitrary bytes and on statements built from them:
/// - any input: the redactor, the `/statements` text and the fingerprint never crash or hang;
/// - a marker secret planted as the literal after `PASSWORD`, in the quoting form the first byte
///   picks, among filler, a prefix and a suffix taken from the input, never survives in any of
///   the three outputs (in any case: the fingerprint lower-cases words).
/// The prefix is kept from opening a literal, quoted identifier, dollar quote or comment, which
/// would make `PASSWORD` part of it rather than a word; the suffix and the filler are free.
let marker = "Qx9PlantedMarker"
let redactor = PostgresRedactor(secrets: [])
let normalizer = StatementNormalizer()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)
    _ = redactor.redact(text)
    _ = redactor.redactStatement(text)
    _ = normalizer.fingerprint(input)

    guard size >= 3 else { return 0 }
    let form = Int(input[0] % 7)
    let rest = Array(input[3...])
    let cut1 = min(rest.count, Int(input[1]) % (rest.count + 1))
    let cut2 = min(rest.count, cut1 + Int(input[2]) % (rest.count - cut1 + 1))
    let prefix = rest[..<cut1].map { b -> UInt8 in
        switch b {
        case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "$"), UInt8(ascii: "-"), UInt8(ascii: "/"), UInt8(ascii: "\\"): UInt8(ascii: " ")
        default: b
        }
    }
    let filler = Array(rest[cut1..<cut2])
    let suffix = Array(rest[cut2...])
    let half = filler.count / 2
    func body(_ escape: (UInt8) -> [UInt8]) -> [UInt8] {
        filler[..<half].flatMap(escape) + Array(marker.utf8) + filler[half...].flatMap(escape)
    }
    let quoteDoubled: (UInt8) -> [UInt8] = { $0 == UInt8(ascii: "'") ? [$0, $0] : [$0] }
    let backslashEscaped: (UInt8) -> [UInt8] = { $0 == UInt8(ascii: "'") || $0 == UInt8(ascii: "\\") ? [UInt8(ascii: "\\"), $0] : [$0] }
    let noDollar: (UInt8) -> [UInt8] = { $0 == UInt8(ascii: "$") ? [UInt8(ascii: "%")] : [$0] }
    let literal: [UInt8]
    switch form {
    case 0: literal = Array("'".utf8) + body(quoteDoubled) + Array("'".utf8)
    case 1: literal = Array("E'".utf8) + body(backslashEscaped) + Array("'".utf8)
    case 2: literal = Array("U&'".utf8) + body(quoteDoubled) + Array("' UESCAPE '!'".utf8)
    case 3: literal = Array("$$".utf8) + body(noDollar) + Array("$$".utf8)
    case 4: literal = Array("$pw_1$".utf8) + body(noDollar) + Array("$pw_1$".utf8)
    case 5: literal = Array("'".utf8) + filler.flatMap(quoteDoubled) + Array("'\n  '".utf8) + body(quoteDoubled) + Array("'".utf8)
    // standard_conforming_strings off: a backslash escapes the quote in a plain literal.
    default: literal = Array("'".utf8) + body(backslashEscaped) + Array("'".utf8)
    }
    let separators = [" ", "\n", " /* c */ ", " -- c\n", " = ", "\t"]
    let separator = Array(separators[Int(input[1] ^ input[2]) % separators.count].utf8)
    let statement = prefix + Array(" PASSWORD".utf8) + separator + literal + suffix
    let sql = String(decoding: statement, as: UTF8.self)
    let lowered = marker.lowercased()
    for (what, output) in [
        ("redact", redactor.redact(sql)), ("redactStatement", redactor.redactStatement(sql)), ("fingerprint", normalizer.fingerprint(statement).text),
    ] {
        precondition(!output.lowercased().contains(lowered), "the marker survives \(what): \(output.debugDescription) from \(sql.debugDescription)")
    }
    return 0
}

// SwiftPM links an executable target's entry point as `FuzzRedaction_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzRedaction_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
