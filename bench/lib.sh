# shellcheck shell=bash
# Helpers the bench scripts share (source it: `source bench/lib.sh`).

log() { echo "bench: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Nanoseconds on CPU of the whole process, threads that have exited included. A process given to
# `cpu_track` is counted by a cgroup-v1 cpuacct group of its own (exact, and every thread it starts
# or ends is in it); otherwise the sum of its live threads' schedstat, which loses the time of
# threads that exited (dispatch's pool threads came and went every 15 s in vitals before it ran its
# tasks on the event loop). /proc/PID/stat counts in 10 ms ticks, too coarse at a few ms a second.
CPU_CGROUPS=/sys/fs/cgroup/cpuacct
cpu_track() { # PID: best effort; cpu_ns falls back to schedstat
  local group="$CPU_CGROUPS/vitals-bench-$1"
  if mkdir -p "$group" 2>/dev/null; then echo "$1" >"$group/cgroup.procs" 2>/dev/null || true; fi
}
cpu_untrack_all() { rmdir "$CPU_CGROUPS"/vitals-bench-* 2>/dev/null || true; }
cpu_ns() {
  local group="$CPU_CGROUPS/vitals-bench-$1"
  if [[ -r $group/cpuacct.usage ]] && grep -qx "$1" "$group/cgroup.procs" 2>/dev/null; then
    cat "$group/cpuacct.usage"
  else
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'
  fi
}

# Times the process's threads were put on a CPU (schedstat's third field, summed over threads): each
# wake-up is at least one, so its rate at rest is the rate of wake-ups.
timeslices() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $3} END {printf "%d\n", s}'; }

# A copy of BINARY in DIR, written now; prints its path. How much of a binary is resident depends on
# how its file came to be in the page cache, not only on what the process touches (BENCHMARKS.md, "A
# note on RSS and the page cache"), so builds compared side by side run from copies made together.
fresh_copy() { # BINARY DIR
  mkdir -p "$2"
  local copy; copy="$2/$(basename "$1")-$(sha256sum "$1" | cut -c1-12)"
  cp "$1" "$copy.tmp" && mv "$copy.tmp" "$copy"
  echo "$copy"
}

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

# A scrape as Prometheus 2.42 sends it (captured from the Debian package): OpenMetrics preferred,
# gzip accepted. PLAIN_SCRAPES=1 asks for the text format without compression, as the runs recorded
# before 2026-12-06 did.
scrape_like_prometheus() { # URL
  if [[ -n ${PLAIN_SCRAPES:-} ]]; then curl -s -o /dev/null "$1"; return; fi
  curl -s -o /dev/null -H 'Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' \
    -H 'Accept-Encoding: gzip' -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' "$1"
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
  cpu_untrack_all
  bash scripts/test-servers.sh stop "$BENCH_SERVERS" >/dev/null 2>&1
}

# The table the cost scripts' client reads with a slow statement, and rows for every Postgres collector.
seed_bench_table() {
  psql -XqAt "$VITALS_TEST_PG_SUPERUSER_DSN" -c "CREATE TABLE IF NOT EXISTS bench_cost (id int PRIMARY KEY, v text);
    INSERT INTO bench_cost SELECT g, 'x' FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
    GRANT SELECT ON bench_cost TO vitals; ANALYZE" >/dev/null
}

# A compared daemon's ITEMs (bench/cost-to-run.sh's COMPARE, bench/cost-per-round.sh's arguments),
# comma-separated: a flag --key=value, binary=PATH, no-slow-query, or an environment variable
# VAR=VALUE. Sets VITALS_ITEM_FLAGS, VITALS_ITEM_VARIABLES, VITALS_ITEM_BINARY (default $2) and
# VITALS_ITEM_SLOW_QUERY (1, or 0 for no-slow-query).
parse_vitals_items() { # ITEMS DEFAULT_BINARY
  local item extra=()
  VITALS_ITEM_FLAGS=(); VITALS_ITEM_VARIABLES=(); VITALS_ITEM_BINARY=$2; VITALS_ITEM_SLOW_QUERY=1
  [[ -n $1 ]] && IFS=, read -r -a extra <<<"$1"
  for item in "${extra[@]}"; do
    if [[ $item == --* ]]; then VITALS_ITEM_FLAGS+=("$item")
    elif [[ $item == binary=* ]]; then VITALS_ITEM_BINARY=${item#binary=}
    elif [[ $item == no-slow-query ]]; then VITALS_ITEM_SLOW_QUERY=0
    else VITALS_ITEM_VARIABLES+=("$item"); fi
  done
}
