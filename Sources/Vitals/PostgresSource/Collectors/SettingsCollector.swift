/// `pg_settings_<name>[_seconds|_bytes]` for every numeric and boolean setting, converted as
/// postgres_exporter converts them (time units to seconds, memory units to bytes, booleans to 0/1).
public struct SettingsCollector: PostgresCollector {
    public let name = PostgresCollectorName.settings
    public let cadence = PostgresCadence.slow
    /// None of fixed name: each `pg_settings_*` family is named after the server's setting.
    public var metrics: [PostgresMetric] { [] }
    public init() {}

    /// vitals sets statement_timeout and lock_timeout on its own session: report the value the
    /// server would give any other session (`reset_val`), not vitals' override.
    static let sql = """
        SELECT name, CASE WHEN source = 'session' THEN reset_val ELSE setting END AS setting,
               coalesce(unit, '') AS unit, vartype
        FROM pg_settings WHERE vartype IN ('bool', 'integer', 'real')
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        for row in rows.rows {
            guard let name = row["name"], let raw = row["setting"], let setting = convert(raw, unit: row["unit"] ?? "", type: row["vartype"] ?? "")
            else { continue }
            let metricName = "pg_settings_" + MetricName.sanitize(name) + setting.suffix
            sink.add(.gauge(metricName, "Server parameter \(name)\(setting.suffix.isEmpty ? "" : " in \(setting.suffix.dropFirst())")."), setting.value)
        }
    }

    public struct Converted: Equatable, Sendable {
        public var value: Double
        /// `_seconds`, `_bytes` or empty.
        public var suffix: String
    }

    /// Converts one setting; nil for a value or unit it does not understand.
    public static func convert(_ raw: String, unit: String, type: String) -> Converted? {
        if type == "bool" {
            switch raw {
            case "on", "true": return Converted(value: 1, suffix: "")
            case "off", "false": return Converted(value: 0, suffix: "")
            default: return nil
            }
        }
        guard let value = Double(raw) else { return nil }
        let seconds: [String: Double] = ["us": 1e-6, "ms": 0.001, "s": 1, "min": 60, "h": 3600, "d": 86400]
        if let factor = seconds[unit] {
            // -1 (and 0 for some) means "disabled": kept as is, as postgres_exporter does.
            return Converted(value: value < 0 ? value : value * factor, suffix: "_seconds")
        }
        if let factor = byteFactor(unit) {
            return Converted(value: value < 0 ? value : value * factor, suffix: "_bytes")
        }
        return unit.isEmpty ? Converted(value: value, suffix: "") : nil
    }

    /// `B`, `kB`, `MB`, `GB`, `TB`, optionally with a multiplier: `8kB` (pages), `16MB` (WAL segments).
    static func byteFactor(_ unit: String) -> Double? {
        let scales: [(String, Double)] = [("kB", 1024), ("MB", 1024 * 1024), ("GB", 1024 * 1024 * 1024), ("TB", 1024 * 1024 * 1024 * 1024), ("B", 1)]
        for (suffix, scale) in scales where unit.hasSuffix(suffix) {
            let count = unit.dropLast(suffix.count)
            if count.isEmpty { return scale }
            guard let multiplier = Double(count) else { return nil }
            return multiplier * scale
        }
        return nil
    }
}
