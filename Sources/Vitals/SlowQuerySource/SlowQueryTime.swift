/// Timestamps as Postgres logs them (`2024-05-01 12:34:56.789 UTC`, `… +02`, `… -03:30`) and
/// as vitals reports them (ISO 8601, UTC). Pure arithmetic: no locale, no time-zone database.
public enum SlowQueryTime {
    /// Seconds since the Unix epoch, or nil when the zone is a name other than UTC/GMT (a
    /// name like `CEST` is ambiguous without the server's time-zone database).
    public static func parsePostgres(_ text: String) -> Double? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for i in range {
                guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { return nil }
                value = value * 10 + Int(bytes[i] - 0x30)
            }
            return value
        }
        guard let year = number(0..<4), bytes[4] == UInt8(ascii: "-"), let month = number(5..<7), bytes[7] == UInt8(ascii: "-"),
            let day = number(8..<10), bytes[10] == 0x20 || bytes[10] == UInt8(ascii: "T"), let hour = number(11..<13),
            bytes[13] == UInt8(ascii: ":"), let minute = number(14..<16), bytes[16] == UInt8(ascii: ":"), let second = number(17..<19),
            (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var i = 19
        var fraction = 0.0
        if i < bytes.count && bytes[i] == UInt8(ascii: ".") {
            i += 1
            var scale = 0.1
            while i < bytes.count && bytes[i] >= 0x30 && bytes[i] <= 0x39 {
                fraction += Double(bytes[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        while i < bytes.count && bytes[i] == 0x20 { i += 1 }
        let zone = String(decoding: bytes[i...], as: UTF8.self)
        let offset: Int
        switch zone {
        case "", "UTC", "GMT", "Z", "UCT": offset = 0
        default:
            guard let sign = zone.first, sign == "+" || sign == "-" else { return nil }
            let digits = zone.dropFirst().filter { $0 != ":" }
            guard digits.count == 2 || digits.count == 4, let value = Int(digits) else { return nil }
            let hours = digits.count == 2 ? value : value / 100
            let minutes = digits.count == 2 ? 0 : value % 100
            offset = (sign == "-" ? -1 : 1) * (hours * 3600 + minutes * 60)
        }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + hour * 3600 + minute * 60 + second - offset) + fraction
    }

    /// `2024-05-01T12:34:56.789Z`.
    public static func iso8601(_ epochSeconds: Double) -> String {
        guard epochSeconds.isFinite, abs(epochSeconds) < 1e12 else { return "1970-01-01T00:00:00.000Z" }
        let milliseconds = Int((epochSeconds * 1000).rounded(.down))
        var seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = milliseconds - seconds * 1000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        let (year, month, day) = civilFromDays(days)
        func pad(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Howard Hinnant's days_from_civil.
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
