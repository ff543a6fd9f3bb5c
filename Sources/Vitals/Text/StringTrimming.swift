/// Trimming without Foundation's CharacterSet (the daemon imports only FoundationEssentials).
extension StringProtocol {
    /// `self` without the leading and trailing bytes that the ASCII `set` contains. Byte-wise, as
    /// Foundation's trimming is scalar-wise: Swift's `Character` would see "\r\n" as one.
    func trimmingCharacters(in set: String) -> String {
        let trimmed = Array(set.utf8)
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end, trimmed.contains(bytes[start]) { start += 1 }
        while end > start, trimmed.contains(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }
}

extension String {
    /// What a configuration value, header or target is trimmed of.
    static let spaceAndTab = " \t"
    static let spaceTabAndNewlines = " \t\r\n"
}
