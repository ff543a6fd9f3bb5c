/// Transactions open for more than a minute, as postgres_exporter's `long_running_transactions`.
public struct LongRunningTransactionsCollector: PostgresCollector {
    public let name = PostgresCollectorName.longRunningTransactions
    public let cadence = PostgresCadence.fast
    public var metrics: [PostgresMetric] { [Self.count, Self.oldest] }
    public init() {}

    static let count = PostgresMetric.gauge("pg_long_running_transactions", "Transactions open for more than one minute (idle sessions excluded).")
    /// postgres_exporter's name; despite it, the value is an age in seconds, not a timestamp.
    static let oldest = PostgresMetric.gauge(
        "pg_long_running_transactions_oldest_timestamp_seconds", "Age in seconds of the oldest transaction open for more than one minute (0 when none).")

    static let sql = """
        SELECT count(*) AS transactions,
               coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) AS oldest
        FROM pg_stat_activity
        WHERE state IS DISTINCT FROM 'idle' AND query NOT LIKE 'autovacuum:%'
          AND xact_start <= now() - interval '1 minute'
        """

    public func collect(_ session: any PostgresQuerying, context: PostgresCollectionContext, into output: inout PostgresCollectorOutput) throws(PostgresError) {
        output.map([try session.query(Self.sql)], of: name, context: context) { Self.map($0[0], into: &$1) }
    }

    public static func map(_ rows: PostgresRows, into sink: inout PostgresMetricSink) {
        sink.declare(count)
        sink.declare(oldest)
        sink.add(count, rows.first?.double("transactions") ?? 0)
        sink.add(oldest, rows.first?.double("oldest") ?? 0)
    }
}
