// INFO fixtures for the parser tests.

enum RedisInfoFixtures {
    /// Captured with `redis-cli INFO all` from the local Redis 7.0.15 (Debian 12) test server after a
    /// few SETs, GETs, an EXPIRE, an unknown command and a refused DEBUG; unedited.
    static let redis7 = #"""
# Server
redis_version:7.0.15
redis_git_sha1:00000000
redis_git_dirty:0
redis_build_id:ae4d7c971a948f0
redis_mode:standalone
os:Linux 6.18.44-fc-v657 x86_64
arch_bits:64
monotonic_clock:POSIX clock_gettime
multiplexing_api:epoll
atomicvar_api:c11-builtin
gcc_version:12.2.0
process_id:4849
process_supervised:no
run_id:9801b0c3c799ae826bc1616bd293160be9956d89
tcp_port:59871
server_time_usec:1795536934965980
uptime_in_seconds:4
uptime_in_days:0
hz:10
configured_hz:10
lru_clock:374822
executable:/work/main/redis-server
config_file:/tmp/redis-ts/redis/redis.conf
io_threads_active:0

# Clients
connected_clients:1
cluster_connections:0
maxclients:10000
client_recent_max_input_buffer:20480
client_recent_max_output_buffer:0
blocked_clients:0
tracking_clients:0
clients_in_timeout_table:0

# Memory
used_memory:1140608
used_memory_human:1.09M
used_memory_rss:7131136
used_memory_rss_human:6.80M
used_memory_peak:1140608
used_memory_peak_human:1.09M
used_memory_peak_perc:100.16%
used_memory_overhead:877648
used_memory_startup:876168
used_memory_dataset:262960
used_memory_dataset_perc:99.44%
allocator_allocated:1843488
allocator_active:2076672
allocator_resident:4751360
total_system_memory:25276510208
total_system_memory_human:23.54G
used_memory_lua:32768
used_memory_vm_eval:32768
used_memory_lua_human:32.00K
used_memory_scripts_eval:0
number_of_cached_scripts:0
number_of_functions:0
number_of_libraries:0
used_memory_vm_functions:33792
used_memory_vm_total:66560
used_memory_vm_total_human:65.00K
used_memory_functions:200
used_memory_scripts:200
used_memory_scripts_human:200B
maxmemory:0
maxmemory_human:0B
maxmemory_policy:noeviction
allocator_frag_ratio:1.13
allocator_frag_bytes:233184
allocator_rss_ratio:2.29
allocator_rss_bytes:2674688
rss_overhead_ratio:1.50
rss_overhead_bytes:2379776
mem_fragmentation_ratio:6.63
mem_fragmentation_bytes:6055264
mem_not_counted_for_evict:0
mem_replication_backlog:0
mem_total_replication_buffers:0
mem_clients_slaves:0
mem_clients_normal:0
mem_cluster_links:0
mem_aof_buffer:0
mem_allocator:jemalloc-5.3.0
active_defrag_running:0
lazyfree_pending_objects:0
lazyfreed_objects:0

# Persistence
loading:0
async_loading:0
current_cow_peak:0
current_cow_size:0
current_cow_size_age:0
current_fork_perc:0.00
current_save_keys_processed:0
current_save_keys_total:0
rdb_changes_since_last_save:23
rdb_bgsave_in_progress:0
rdb_last_save_time:1795536930
rdb_last_bgsave_status:ok
rdb_last_bgsave_time_sec:-1
rdb_current_bgsave_time_sec:-1
rdb_saves:0
rdb_last_cow_size:0
rdb_last_load_keys_expired:0
rdb_last_load_keys_loaded:0
aof_enabled:0
aof_rewrite_in_progress:0
aof_rewrite_scheduled:0
aof_last_rewrite_time_sec:-1
aof_current_rewrite_time_sec:-1
aof_last_bgrewrite_status:ok
aof_rewrites:0
aof_rewrites_consecutive_failures:0
aof_last_write_status:ok
aof_last_cow_size:0
module_fork_in_progress:0
module_fork_last_cow_size:0

# Stats
total_connections_received:31
total_commands_processed:61
instantaneous_ops_per_sec:34
total_net_input_bytes:2585
total_net_output_bytes:654
total_net_repl_input_bytes:0
total_net_repl_output_bytes:0
instantaneous_input_kbps:1.37
instantaneous_output_kbps:0.23
instantaneous_input_repl_kbps:0.00
instantaneous_output_repl_kbps:0.00
rejected_connections:0
sync_full:0
sync_partial_ok:0
sync_partial_err:0
expired_keys:0
expired_stale_perc:0.00
expired_time_cap_reached_count:0
expire_cycle_cpu_milliseconds:0
evicted_keys:0
evicted_clients:0
total_eviction_exceeded_time:0
current_eviction_exceeded_time:0
keyspace_hits:1
keyspace_misses:1
pubsub_channels:0
pubsub_patterns:0
pubsubshard_channels:0
latest_fork_usec:0
total_forks:0
migrate_cached_sockets:0
slave_expires_tracked_keys:0
active_defrag_hits:0
active_defrag_misses:0
active_defrag_key_hits:0
active_defrag_key_misses:0
total_active_defrag_time:0
current_active_defrag_time:0
tracking_total_keys:0
tracking_total_items:0
tracking_total_prefixes:0
unexpected_error_replies:0
total_error_replies:3
dump_payload_sanitizations:0
total_reads_processed:94
total_writes_processed:63
io_threaded_reads_processed:0
io_threaded_writes_processed:0
reply_buffer_shrinks:0
reply_buffer_expands:0

# Replication
role:master
connected_slaves:0
master_failover_state:no-failover
master_replid:b9ddbd3e06d043bf0dc22888484172764d539c11
master_replid2:0000000000000000000000000000000000000000
master_repl_offset:0
second_repl_offset:-1
repl_backlog_active:0
repl_backlog_size:1048576
repl_backlog_first_byte_offset:0
repl_backlog_histlen:0

# CPU
used_cpu_sys:0.005426
used_cpu_user:0.008139
used_cpu_sys_children:0.000000
used_cpu_user_children:0.000000
used_cpu_sys_main_thread:0.005389
used_cpu_user_main_thread:0.008084

# Modules

# Commandstats
cmdstat_auth:calls=31,usec=186,usec_per_call=6.00,rejected_calls=0,failed_calls=0
cmdstat_incr:calls=1,usec=4,usec_per_call=4.00,rejected_calls=0,failed_calls=1
cmdstat_setex:calls=1,usec=7,usec_per_call=7.00,rejected_calls=0,failed_calls=0
cmdstat_set:calls=21,usec=97,usec_per_call=4.62,rejected_calls=0,failed_calls=0
cmdstat_config|get:calls=1,usec=9,usec_per_call=9.00,rejected_calls=0,failed_calls=0
cmdstat_debug:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0
cmdstat_ping:calls=1,usec=1,usec_per_call=1.00,rejected_calls=0,failed_calls=0
cmdstat_select:calls=2,usec=2,usec_per_call=1.00,rejected_calls=0,failed_calls=0
cmdstat_expire:calls=1,usec=6,usec_per_call=6.00,rejected_calls=0,failed_calls=0
cmdstat_get:calls=2,usec=6,usec_per_call=3.00,rejected_calls=0,failed_calls=0

# Errorstats
errorstat_ERR:count=3

# Latencystats
latency_percentiles_usec_auth:p50=6.015,p99=8.031,p99.9=8.031
latency_percentiles_usec_incr:p50=4.015,p99=4.015,p99.9=4.015
latency_percentiles_usec_setex:p50=7.007,p99=7.007,p99.9=7.007
latency_percentiles_usec_set:p50=5.023,p99=6.015,p99.9=6.015
latency_percentiles_usec_config|get:p50=9.023,p99=9.023,p99.9=9.023
latency_percentiles_usec_ping:p50=1.003,p99=1.003,p99.9=1.003
latency_percentiles_usec_select:p50=1.003,p99=1.003,p99.9=1.003
latency_percentiles_usec_expire:p50=6.015,p99=6.015,p99.9=6.015
latency_percentiles_usec_get:p50=2.007,p99=4.015,p99.9=4.015

# Cluster
cluster_enabled:0

# Keyspace
db0:keys=20,expires=1,avg_ttl=999898
db3:keys=2,expires=1,avg_ttl=499948
"""#

    /// HAND-WRITTEN, not captured (there is no Redis 6 here): a realistic `INFO all` of a Redis 6.0
    /// replica (Debian 11 ships 6.0.16), written from the 6.0 source's field list. 6.0 has no
    /// errorstats or latencystats section and no rejected_calls/failed_calls in commandstats.
    static let redis6HandWritten = #"""
# Server
redis_version:6.0.16
redis_git_sha1:00000000
redis_git_dirty:0
redis_build_id:6d95e1af3a2c082a
redis_mode:standalone
os:Linux 5.10.0-21-amd64 x86_64
arch_bits:64
multiplexing_api:epoll
atomicvar_api:atomic-builtin
gcc_version:10.2.1
process_id:812
run_id:4b1f0e2d1c9a8b7f6e5d4c3b2a19081726354453
tcp_port:6380
uptime_in_seconds:86400
uptime_in_days:1
hz:10
configured_hz:10
lru_clock:1234567
executable:/usr/bin/redis-server
config_file:/etc/redis/redis-replica.conf
io_threads_active:0

# Clients
connected_clients:7
client_recent_max_input_buffer:8
client_recent_max_output_buffer:0
blocked_clients:2
tracking_clients:0
clients_in_timeout_table:0

# Memory
used_memory:2035672
used_memory_human:1.94M
used_memory_rss:9281536
used_memory_rss_human:8.85M
used_memory_peak:2118760
used_memory_peak_human:2.02M
used_memory_peak_perc:96.08%
used_memory_overhead:1852424
used_memory_startup:803160
used_memory_dataset:183248
used_memory_dataset_perc:14.87%
allocator_allocated:2017504
allocator_active:2363392
allocator_resident:5152768
total_system_memory:4127903744
total_system_memory_human:3.84G
used_memory_lua:37888
used_memory_lua_human:37.00K
used_memory_scripts:0
used_memory_scripts_human:0B
number_of_cached_scripts:0
maxmemory:268435456
maxmemory_human:256.00M
maxmemory_policy:allkeys-lru
allocator_frag_ratio:1.17
allocator_frag_bytes:345888
allocator_rss_ratio:2.18
allocator_rss_bytes:2789376
rss_overhead_ratio:1.80
rss_overhead_bytes:4128768
mem_fragmentation_ratio:4.61
mem_fragmentation_bytes:7267072
mem_not_counted_for_evict:0
mem_replication_backlog:1048576
mem_clients_slaves:0
mem_clients_normal:0
mem_aof_buffer:0
mem_allocator:jemalloc-5.2.1
active_defrag_running:0
lazyfree_pending_objects:0

# Persistence
loading:0
rdb_changes_since_last_save:0
rdb_bgsave_in_progress:0
rdb_last_save_time:1700000000
rdb_last_bgsave_status:ok
rdb_last_bgsave_time_sec:0
rdb_current_bgsave_time_sec:-1
rdb_last_cow_size:446464
aof_enabled:0
aof_rewrite_in_progress:0
aof_rewrite_scheduled:0
aof_last_rewrite_time_sec:-1
aof_current_rewrite_time_sec:-1
aof_last_bgrewrite_status:ok
aof_last_write_status:ok
aof_last_cow_size:0
module_fork_in_progress:0
module_fork_last_cow_size:0

# Stats
total_connections_received:1523
total_commands_processed:987654
instantaneous_ops_per_sec:12
total_net_input_bytes:45678901
total_net_output_bytes:98765432
instantaneous_input_kbps:0.51
instantaneous_output_kbps:1.20
rejected_connections:3
sync_full:0
sync_partial_ok:0
sync_partial_err:0
expired_keys:4410
expired_stale_perc:0.00
expired_time_cap_reached_count:0
expire_cycle_cpu_milliseconds:1203
evicted_keys:17
keyspace_hits:51234
keyspace_misses:4321
pubsub_channels:1
pubsub_patterns:0
latest_fork_usec:412
migrate_cached_sockets:0
slave_expires_tracked_keys:0
active_defrag_hits:0
active_defrag_misses:0
active_defrag_key_hits:0
active_defrag_key_misses:0
tracking_total_keys:0
tracking_total_items:0
tracking_total_prefixes:0
unexpected_error_replies:0
total_reads_processed:991200
total_writes_processed:989100
io_threaded_reads_processed:0
io_threaded_writes_processed:0

# Replication
role:slave
master_host:10.0.0.5
master_port:6379
master_link_status:up
master_last_io_seconds_ago:1
master_sync_in_progress:0
slave_repl_offset:123456789
slave_priority:100
slave_read_only:1
connected_slaves:0
master_replid:9f1c2b3a4d5e6f708192a3b4c5d6e7f809112233
master_replid2:0000000000000000000000000000000000000000
master_repl_offset:123456789
second_repl_offset:-1
repl_backlog_active:1
repl_backlog_size:1048576
repl_backlog_first_byte_offset:122408214
repl_backlog_histlen:1048576

# CPU
used_cpu_sys:312.451022
used_cpu_user:498.112233
used_cpu_sys_children:0.523000
used_cpu_user_children:1.107000

# Modules

# Commandstats
cmdstat_get:calls=51000,usec=61200,usec_per_call=1.20
cmdstat_set:calls=30000,usec=54000,usec_per_call=1.80
cmdstat_info:calls=5760,usec=345600,usec_per_call=60.00
cmdstat_ping:calls=86400,usec=43200,usec_per_call=0.50
cmdstat_blpop:calls=12,usec=48,usec_per_call=4.00

# Cluster
cluster_enabled:0

# Keyspace
db0:keys=1200,expires=300,avg_ttl=3600000
db2:keys=5,expires=0,avg_ttl=0
"""#
}
