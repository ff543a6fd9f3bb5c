/// When the postmaster started (dashboard 9628's "Start time" panel; uptime for restart alerts).
public struct PostmasterCollector: PostgresCollector {
    public let name = PostgresCollectorName.postmaster
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.startTime] }
    public init() {}

    static let startTime = PostgresMetric.gauge("pg_postmaster_start_time_seconds", "When the postmaster started, as a Unix timestamp.")
    static let sql = "SELECT extract(epoch FROM pg_postmaster_start_time()) AS start_time"

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        sink.declare(startTime)
        sink.add(startTime, rows.first?.double("start_time"))
    }
}
