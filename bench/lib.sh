# shellcheck shell=bash
# Helpers the bench scripts share (source it: `source bench/lib.sh`).

log() { echo "bench: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Nanoseconds on CPU, summed over the process's threads (schedstat; /proc/PID/stat counts in
# 10 ms ticks, too coarse for a process that idles at a few ms per second). A thread that exits
# takes its time with it: vitals' Swift-concurrency workers come and go, but over 90 s at rest this
# sum gave 41.4 ms where `perf stat -e task-clock -p PID`, which keeps exited threads, gave 42.4.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }

# Times the process's threads were put on a CPU (schedstat's third field, summed over threads): each
# wake-up is at least one, so its rate at rest is the rate of wake-ups.
timeslices() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $3} END {printf "%d\n", s}'; }

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

wait_for() { # URL PATTERN: until the body matches, at most 60 s
  local body
  for _ in $(seq 1 300); do
    if body=$(curl -sf "$1" 2>/dev/null) && grep -q "$2" <<<"$body"; then return 0; fi
    sleep 0.2
  done
  log "timed out waiting for $2 at $1"; return 1
}

# utime + stime in clock ticks (/proc/PID/stat; 10 ms each): for runs long enough that ticks suffice.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Private PostgreSQL and Redis in DIR (scripts/test-servers.sh), their env.sh sourced; on exit, every
# pid the script adds to PIDS is killed and the servers are stopped.
start_bench_servers() { # DIR
  BENCH_SERVERS=$1
  PIDS=()
  trap stop_bench_servers EXIT
  bash scripts/test-servers.sh start "$BENCH_SERVERS" >/dev/null 2>&1
  # shellcheck source=/dev/null
  source "$BENCH_SERVERS/env.sh"
}
stop_bench_servers() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  bash scripts/test-servers.sh stop "$BENCH_SERVERS" >/dev/null 2>&1
}

# The table the cost scripts' client reads with a slow statement, and rows for every Postgres collector.
seed_bench_table() {
  psql -XqAt "$VITALS_TEST_PG_SUPERUSER_DSN" -c "CREATE TABLE IF NOT EXISTS bench_cost (id int PRIMARY KEY, v text);
    INSERT INTO bench_cost SELECT g, 'x' FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
    GRANT SELECT ON bench_cost TO vitals; ANALYZE" >/dev/null
}
