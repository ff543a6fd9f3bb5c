/// Every `redis_*` family vitals publishes, with its help, type and labels.
///
/// With more than one target each descriptor gets a leading `target` label; all targets of one
/// process share that choice, so their families merge into one in the registry.
public struct RedisMetricDescriptors: Sendable {
    /// An INFO field published as is (times `scale`), one series per target.
    public struct ScalarField: Sendable {
        public let infoField: String
        public let descriptor: MetricDescriptor
        public let scale: Double
    }

    public let withTarget: Bool
    public let up: MetricDescriptor
    public let startTime: MetricDescriptor
    public let instanceInfo: MetricDescriptor
    public let scalarFields: [ScalarField]
    public let slaveInfo: MetricDescriptor
    public let masterLinkUp: MetricDescriptor
    public let masterLastIO: MetricDescriptor
    public let masterSyncInProgress: MetricDescriptor
    public let slaveReplOffset: MetricDescriptor
    public let connectedSlaveOffset: MetricDescriptor
    public let connectedSlaveLag: MetricDescriptor
    public let dbKeys: MetricDescriptor
    public let dbKeysExpiring: MetricDescriptor
    public let dbAverageTTL: MetricDescriptor
    public let commandCalls: MetricDescriptor
    public let commandDuration: MetricDescriptor
    public let commandRejected: MetricDescriptor
    public let commandFailed: MetricDescriptor
    public let errors: MetricDescriptor
    public let latencyPercentiles: MetricDescriptor
    public let slowlogLength: MetricDescriptor
    public let slowlogLastID: MetricDescriptor
    public let lastSlowExecution: MetricDescriptor
    public let latencySpikeLast: MetricDescriptor
    public let latencySpikeDuration: MetricDescriptor
    public let configMaxmemory: MetricDescriptor
    public let configMaxclients: MetricDescriptor
    /// Label names of the live slowlog histogram (its family lives in the registry).
    public let slowlogHistogramLabels: [String]

    /// (INFO field, metric name without `redis_`, type, help, scale). Counters are the server's
    /// cumulative counters, published at their absolute value each pass.
    static let scalarTable: [(String, String, MetricType, String, Double)] = [
        // server
        ("uptime_in_seconds", "uptime_in_seconds", .gauge, "Seconds since the Redis server started.", 1),
        // clients
        ("connected_clients", "connected_clients", .gauge, "Client connections, replicas excluded.", 1),
        ("blocked_clients", "blocked_clients", .gauge, "Clients blocked in BLPOP, WAIT, XREAD and the like.", 1),
        ("tracking_clients", "tracking_clients", .gauge, "Clients with client-side caching tracking on.", 1),
        ("clients_in_timeout_table", "clients_in_timeout_table", .gauge, "Blocked clients waiting with a timeout.", 1),
        // memory
        ("used_memory", "memory_used_bytes", .gauge, "Bytes allocated by Redis (used_memory).", 1),
        ("used_memory_rss", "memory_used_rss_bytes", .gauge, "Resident set size of the Redis process (used_memory_rss).", 1),
        ("used_memory_peak", "memory_used_peak_bytes", .gauge, "Peak of used_memory since the server started.", 1),
        ("used_memory_overhead", "memory_used_overhead_bytes", .gauge, "Bytes of internal overhead (used_memory_overhead).", 1),
        ("used_memory_startup", "memory_used_startup_bytes", .gauge, "Bytes in use at start-up (used_memory_startup).", 1),
        ("used_memory_dataset", "memory_used_dataset_bytes", .gauge, "Bytes used by the dataset (used_memory_dataset).", 1),
        ("used_memory_lua", "memory_used_lua_bytes", .gauge, "Bytes used by the Lua engine.", 1),
        ("used_memory_scripts", "memory_used_scripts_bytes", .gauge, "Bytes used by cached scripts.", 1),
        ("maxmemory", "memory_max_bytes", .gauge, "The maxmemory setting; 0 means no limit.", 1),
        ("total_system_memory", "total_system_memory_bytes", .gauge, "Memory of the host Redis runs on.", 1),
        ("mem_fragmentation_ratio", "mem_fragmentation_ratio", .gauge, "used_memory_rss divided by used_memory.", 1),
        ("mem_fragmentation_bytes", "mem_fragmentation_bytes", .gauge, "used_memory_rss minus used_memory.", 1),
        ("mem_clients_normal", "mem_clients_normal", .gauge, "Bytes used by normal clients' buffers.", 1),
        ("mem_clients_slaves", "mem_clients_slaves", .gauge, "Bytes used by replicas' buffers.", 1),
        ("mem_not_counted_for_evict", "mem_not_counted_for_eviction_bytes", .gauge, "Bytes not counted for eviction.", 1),
        ("active_defrag_running", "active_defrag_running", .gauge, "Whether active defragmentation is running.", 1),
        ("lazyfree_pending_objects", "lazyfree_pending_objects", .gauge, "Objects waiting to be freed in the background.", 1),
        // persistence
        ("loading", "loading_dump_file", .gauge, "1 while the server loads its dataset.", 1),
        ("rdb_changes_since_last_save", "rdb_changes_since_last_save", .gauge, "Writes since the last RDB save.", 1),
        ("rdb_bgsave_in_progress", "rdb_bgsave_in_progress", .gauge, "1 while an RDB background save runs.", 1),
        ("rdb_last_save_time", "rdb_last_save_timestamp_seconds", .gauge, "Unix time of the last successful RDB save.", 1),
        ("rdb_last_bgsave_status", "rdb_last_bgsave_status", .gauge, "1 if the last RDB background save succeeded.", 1),
        ("rdb_last_bgsave_time_sec", "rdb_last_bgsave_duration_sec", .gauge, "Seconds the last RDB background save took; -1 if none.", 1),
        ("rdb_current_bgsave_time_sec", "rdb_current_bgsave_duration_sec", .gauge, "Seconds the running RDB save has taken; -1 if none.", 1),
        ("rdb_saves", "rdb_saves_total", .counter, "RDB saves since the server started.", 1),
        ("aof_enabled", "aof_enabled", .gauge, "1 if the append-only file is on.", 1),
        ("aof_rewrite_in_progress", "aof_rewrite_in_progress", .gauge, "1 while an AOF rewrite runs.", 1),
        ("aof_rewrite_scheduled", "aof_rewrite_scheduled", .gauge, "1 if an AOF rewrite is scheduled.", 1),
        ("aof_last_rewrite_time_sec", "aof_last_rewrite_duration_sec", .gauge, "Seconds the last AOF rewrite took; -1 if none.", 1),
        ("aof_last_bgrewrite_status", "aof_last_bgrewrite_status", .gauge, "1 if the last AOF rewrite succeeded.", 1),
        ("aof_last_write_status", "aof_last_write_status", .gauge, "1 if the last AOF write succeeded.", 1),
        // stats
        ("total_connections_received", "connections_received_total", .counter, "Connections accepted by the server.", 1),
        ("total_commands_processed", "commands_processed_total", .counter, "Commands processed by the server.", 1),
        ("total_net_input_bytes", "net_input_bytes_total", .counter, "Bytes read from the network.", 1),
        ("total_net_output_bytes", "net_output_bytes_total", .counter, "Bytes written to the network.", 1),
        ("total_net_repl_input_bytes", "net_repl_input_bytes_total", .counter, "Bytes read from the network for replication.", 1),
        ("total_net_repl_output_bytes", "net_repl_output_bytes_total", .counter, "Bytes written to the network for replication.", 1),
        ("rejected_connections", "rejected_connections_total", .counter, "Connections rejected because of maxclients.", 1),
        ("expired_keys", "expired_keys_total", .counter, "Keys removed because their TTL expired.", 1),
        ("evicted_keys", "evicted_keys_total", .counter, "Keys evicted because of maxmemory.", 1),
        ("evicted_clients", "evicted_clients_total", .counter, "Clients evicted because of maxmemory-clients.", 1),
        ("keyspace_hits", "keyspace_hits_total", .counter, "Successful key lookups.", 1),
        ("keyspace_misses", "keyspace_misses_total", .counter, "Failed key lookups.", 1),
        ("total_error_replies", "total_error_replies", .counter, "Error replies sent by the server.", 1),
        ("total_forks", "forks_total", .counter, "Forks since the server started.", 1),
        ("total_reads_processed", "total_reads_processed", .counter, "Read events processed.", 1),
        ("total_writes_processed", "total_writes_processed", .counter, "Write events processed.", 1),
        ("sync_full", "replica_resyncs_full", .counter, "Full resynchronisations with replicas.", 1),
        ("sync_partial_ok", "replica_partial_resync_accepted", .counter, "Partial resynchronisation requests accepted.", 1),
        ("sync_partial_err", "replica_partial_resync_denied", .counter, "Partial resynchronisation requests denied.", 1),
        ("instantaneous_ops_per_sec", "instantaneous_ops_per_sec", .gauge, "Commands per second, as the server samples it.", 1),
        ("instantaneous_input_kbps", "instantaneous_input_kbps", .gauge, "Network input in KiB/s, as the server samples it.", 1),
        ("instantaneous_output_kbps", "instantaneous_output_kbps", .gauge, "Network output in KiB/s, as the server samples it.", 1),
        ("pubsub_channels", "pubsub_channels", .gauge, "Pub/sub channels with subscribers.", 1),
        ("pubsub_patterns", "pubsub_patterns", .gauge, "Pub/sub pattern subscriptions.", 1),
        ("latest_fork_usec", "latest_fork_seconds", .gauge, "Seconds the latest fork took.", 1e-6),
        ("expired_stale_perc", "expired_stale_percentage", .gauge, "Estimated percentage of keys that are expired but not yet removed.", 1),
        // replication
        ("connected_slaves", "connected_slaves", .gauge, "Replicas connected to this server.", 1),
        ("master_repl_offset", "master_repl_offset", .gauge, "The server's replication offset.", 1),
        ("repl_backlog_active", "repl_backlog_is_active", .gauge, "1 if the replication backlog is active.", 1),
        ("repl_backlog_size", "replication_backlog_bytes", .gauge, "Size of the replication backlog in bytes.", 1),
        ("repl_backlog_histlen", "repl_backlog_history_bytes", .gauge, "Bytes of data in the replication backlog.", 1),
        // cpu
        ("used_cpu_sys", "cpu_sys_seconds_total", .counter, "System CPU seconds used by the server.", 1),
        ("used_cpu_user", "cpu_user_seconds_total", .counter, "User CPU seconds used by the server.", 1),
        ("used_cpu_sys_children", "cpu_sys_children_seconds_total", .counter, "System CPU seconds used by background processes.", 1),
        ("used_cpu_user_children", "cpu_user_children_seconds_total", .counter, "User CPU seconds used by background processes.", 1),
        ("used_cpu_sys_main_thread", "cpu_sys_main_thread_seconds_total", .counter, "System CPU seconds used by the main thread.", 1),
        ("used_cpu_user_main_thread", "cpu_user_main_thread_seconds_total", .counter, "User CPU seconds used by the main thread.", 1),
    ]

    public init(withTarget: Bool) {
        self.withTarget = withTarget
        func make(_ name: String, _ type: MetricType, _ help: String, _ labels: [String] = []) -> MetricDescriptor {
            // Names and labels are constants checked by the tests; a failure here is a programming error.
            try! MetricDescriptor(name: "redis_" + name, help: help, type: type, labelNames: labels + (withTarget ? ["target"] : []))
        }
        up = make("up", .gauge, "1 if the last collection pass reached the server and read INFO, else 0.")
        startTime = make("start_time_seconds", .gauge, "Unix time the Redis server started.")
        instanceInfo = make(
            "instance_info", .gauge, "Constant 1, labelled with facts about the server.",
            ["role", "redis_version", "redis_build_id", "redis_mode", "os", "maxmemory_policy", "tcp_port"])
        scalarFields = Self.scalarTable.map { field, name, type, help, scale in
            ScalarField(infoField: field, descriptor: make(name, type, help), scale: scale)
        }
        slaveInfo = make("slave_info", .gauge, "Constant 1 on a replica, labelled with its master.", ["master_host", "master_port", "read_only"])
        masterLinkUp = make("master_link_up", .gauge, "On a replica: 1 if the link to the master is up.", ["master_host", "master_port"])
        masterLastIO = make("master_last_io_seconds_ago", .gauge, "On a replica: seconds since the last interaction with the master.", ["master_host", "master_port"])
        masterSyncInProgress = make("master_sync_in_progress", .gauge, "On a replica: 1 while syncing with the master.", ["master_host", "master_port"])
        slaveReplOffset = make("slave_repl_offset", .gauge, "On a replica: its replication offset.", ["master_host", "master_port"])
        connectedSlaveOffset = make(
            "connected_slave_offset_bytes", .gauge, "Replication offset of each connected replica.", ["slave_ip", "slave_port", "slave_state"])
        connectedSlaveLag = make(
            "connected_slave_lag_seconds", .gauge, "Seconds since each connected replica's last acknowledgement.", ["slave_ip", "slave_port", "slave_state"])
        dbKeys = make("db_keys", .gauge, "Keys in the database.", ["db"])
        dbKeysExpiring = make("db_keys_expiring", .gauge, "Keys with a TTL in the database.", ["db"])
        dbAverageTTL = make("db_avg_ttl_seconds", .gauge, "Average TTL of the database's expiring keys, sampled by the server.", ["db"])
        commandCalls = make("commands_total", .counter, "Calls of each command (INFO commandstats).", ["cmd"])
        commandDuration = make("commands_duration_seconds_total", .counter, "Seconds spent executing each command (INFO commandstats).", ["cmd"])
        commandRejected = make(
            "commands_rejected_calls_total", .counter, "Calls of each command rejected before execution (ACL, OOM, wrong arity…).", ["cmd"])
        commandFailed = make("commands_failed_calls_total", .counter, "Calls of each command that failed during execution.", ["cmd"])
        errors = make("errors_total", .counter, "Error replies by error prefix (INFO errorstats).", ["err"])
        latencyPercentiles = make(
            "latency_percentiles_seconds", .summary,
            "Per-command latency percentiles since the server started or CONFIG RESETSTAT (INFO latencystats, Redis 7+); sum and count from commandstats.",
            ["cmd"])
        slowlogLength = make("slowlog_length", .gauge, "Entries in the slowlog.")
        slowlogLastID = make("slowlog_last_id", .gauge, "Id of the newest slowlog entry.")
        lastSlowExecution = make("last_slow_execution_duration_seconds", .gauge, "Duration of the newest slowlog entry.")
        latencySpikeLast = make("latency_spike_last", .gauge, "Unix time of the latest latency spike of each event (LATENCY LATEST).", ["event_name"])
        latencySpikeDuration = make(
            "latency_spike_duration_seconds", .gauge, "Duration of the latest latency spike of each event (LATENCY LATEST).", ["event_name"])
        configMaxmemory = make("config_maxmemory", .gauge, "The maxmemory setting in bytes (CONFIG GET, or INFO when CONFIG is refused).")
        configMaxclients = make("config_maxclients", .gauge, "The maxclients setting (CONFIG GET, or INFO when CONFIG is refused).")
        slowlogHistogramLabels = ["cmd"] + (withTarget ? ["target"] : [])
    }

    /// Buckets of `redis_slowlog_duration_seconds`: from 0.1 ms (a lowered slowlog-log-slower-than)
    /// past the 10 ms default threshold to 10 s.
    public static let slowlogBuckets: [Double] = [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
}
