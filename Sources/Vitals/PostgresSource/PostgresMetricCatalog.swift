/// Every fixed-name family the Postgres source can publish (the `pg_settings_*` family names come
/// from the server): for documentation, tests and `promtool`-style checks. Derived from the
/// collectors' own descriptions, so a new collector or metric cannot be left out.
public enum PostgresMetricCatalog {
    public static var all: [PostgresMetric] {
        PostgresPublication.metrics + PostgresSource.collectors.flatMap(\.metrics) + StatUserTablesCollector.metrics
    }
}
