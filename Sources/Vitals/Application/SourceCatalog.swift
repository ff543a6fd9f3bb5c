/// Every kind of source vitals can run. Adding a source is one line here.
public enum SourceCatalog {
    public static var factories: [any SourceFactory.Type] {
        [
            TimingLogSourceFactory.self,
            EventLoopSourceFactory.self,
            PostgresSourceFactory.self,
            RedisSourceFactory.self,
            SlowQuerySourceFactory.self,
            // Last: it reads what the sources above publish.
            FindingsFactory.self,
            PageFactory.self,
        ]
    }
}
