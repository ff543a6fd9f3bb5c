/// Every fixed-name family the Postgres source can publish (the `pg_settings_*` family names come
/// from the server): for documentation, tests and `promtool`-style checks.
public enum PostgresMetricCatalog {
    public static var all: [PostgresMetric] {
        var metrics: [PostgresMetric] = [
            PostgresPublication.up, PostgresPublication.staticInfo, PostgresPublication.versionInfo, PostgresPublication.versionNumber,
            PostgresPublication.lastScrapeError, PostgresPublication.lastScrapeDuration, PostgresPublication.collectorSuccess,
            PostgresPublication.collectorDuration,
            PostmasterCollector.startTime,
            StatDatabaseCollector.numbackends, StatDatabaseCollector.statsReset, StatDatabaseCollector.activeTime,
            StatActivityCollector.count, StatActivityCollector.maxTransactionDuration, StatActivityCollector.idleInTransaction,
            StatActivityCollector.idleInTransactionMax, StatActivityCollector.lockWaiting, StatActivityCollector.connectionsUsed,
            StatActivityCollector.connectionsAvailable, StatActivityCollector.connectionsRatio,
            LongRunningTransactionsCollector.count, LongRunningTransactionsCollector.oldest,
            LocksCollector.count, LocksCollector.waiting,
            StatBgwriterCollector.statsReset,
            ReplicationCollector.isReplica, ReplicationCollector.lag, ReplicationCollector.legacyLag, ReplicationCollector.lastReplay,
            StatReplicationCollector.lsnDiff, StatReplicationCollector.legacyLsnDiff, StatReplicationCollector.currentLSN,
            ReplicationSlotsCollector.active, ReplicationSlotsCollector.walDiff, ReplicationSlotsCollector.xminAge,
            WALCollector.position, WALCollector.legacyPosition,
            DatabaseCollector.size, DatabaseCollector.connectionLimit,
            StatStatementsCollector.calls, StatStatementsCollector.seconds, StatStatementsCollector.rows,
            StatStatementsCollector.blockRead, StatStatementsCollector.blockWrite,
            StatUserTablesCollector.deadTupleRatio, StatUserTablesCollector.indexScans, StatUserTablesCollector.indexTuplesRead,
            StatUserTablesCollector.indexSize, StatUserTablesCollector.indexUnused,
        ]
        metrics += StatDatabaseCollector.counters.map(\.metric) + StatDatabaseCollector.conflictCounters.map(\.metric)
        metrics += StatBgwriterCollector.bgwriterColumns.map(\.metric) + StatBgwriterCollector.checkpointerOnly.map(\.metric)
        metrics += StatUserTablesCollector.tableCounters.map(\.metric) + StatUserTablesCollector.tableGauges.map(\.metric)
        return metrics
    }
}
