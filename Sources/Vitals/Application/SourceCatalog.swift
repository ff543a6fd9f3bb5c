/// Every kind of source vitals can run. Adding a source is one line here.
public enum SourceCatalog {
    public static let factories: [any SourceFactory.Type] = [
        TimingLogSourceFactory.self,
        PostgresSourceFactory.self,
    ]
}
