/// The one JSON writer: every JSON vitals serves (`/ready`, `/statements`, `/slow-queries`) or logs
/// is assembled from these, with keys in a fixed order so the output is stable.
public enum JSONText {
    /// A number as JSON has it: integers without a fraction, non-finite values (which JSON cannot
    /// carry) as null.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        return SampleValue.format(value)
    }

    public static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
