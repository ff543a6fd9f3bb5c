import FuzzDriver
import Vitals

/// Statement fingerprinting (the SQL lexer, list collapsing and the normalised text) on
/// arbitrary bytes: no crash, no hang, and the properties StatementFingerprint.swift documents
/// hold for every input:
/// - the id is 16 lowercase hex digits of FNV-1a over the whole normalised text, so it does not
///   depend on the display cap, and when the text was not cut and is valid UTF-8, hashing the
///   text gives the id back;
/// - the text is at most the cap in bytes, plus "…" when cut;
/// - the same statement always gives the same fingerprint, and the normalised text of valid
///   UTF-8 is already normal (layout, case, literals and lists are rebuilt from the tokens alone).
let wide = StatementNormalizer()
let narrow = StatementNormalizer(maxLength: 16)  // the smallest cap: every few tokens cross it

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let full = wide.fingerprint(input)
    let cut = narrow.fingerprint(input)
    precondition(full == wide.fingerprint(input), "not deterministic")
    precondition(full.id.utf8.count == 16 && full.id.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
    precondition(cut.id == full.id, "the id depends on the cap")
    for (fingerprint, normalizer) in [(full, wide), (cut, narrow)] {
        precondition(fingerprint.text.utf8.count <= normalizer.maxLength + (fingerprint.isTruncated ? "…".utf8.count : 0), "text over the cap")
        // By scalar: "…" after a prepended character (U+06DD) joins its grapheme cluster.
        if fingerprint.isTruncated { precondition(fingerprint.text.unicodeScalars.last == "…") }
    }
    // The rest needs the whole text, and valid UTF-8: U+FFFD stands for any invalid bytes, so
    // the text of `t\xD7a` and `t\x9Ca` reads back as one type name where the input had two.
    guard !full.isTruncated, String(validating: input, as: UTF8.self) != nil else { return 0 }
    precondition(fnv1a(full.text.utf8) == full.id, "the id is not the hash of the text")
    if cut.isTruncated {
        // Bytes, not Characters: the cut may fall inside a grapheme cluster.
        precondition(full.text.utf8.starts(with: cut.text.utf8.dropLast("…".utf8.count)), "the cut text is not a prefix of the full one")
    }
    precondition(wide.fingerprint(full.text) == full, "normalising twice changed the fingerprint")
    return 0
}

func fnv1a(_ bytes: some Sequence<UInt8>) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

// SwiftPM links an executable target's entry point as `FuzzFingerprint_main`; hand control to libFuzzer's driver.
@_cdecl("FuzzFingerprint_main")
func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}
