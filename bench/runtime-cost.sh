#!/usr/bin/env bash
# Did a change make vitals cost more at rest? Two builds side by side, in the same run, on the same
# private PostgreSQL and Redis (issue 17's runtime redesign was measured with it):
#
#   BEFORE_BIN=/path/to/old/vitals AFTER_BIN=.build/release/vitals bash bench/runtime-cost.sh [RUNS] [SECONDS]
#
# Two configurations, each run with both builds at once for SECONDS (default 60), RUNS times
# (default 3), nobody scraping:
#   - idle: the timing-log source on a log nobody writes (a worker thread waiting on inotify);
#   - passes: the same plus the Postgres and Redis sources collecting every second.
# Per build: CPU time (all threads, from schedstat) per second of wall time, which for "passes" is the cost of one
# Postgres pass and one Redis pass, and RSS at the end. Prints median (min – max) as markdown.
#
# STATEMENTS=N first runs N distinct statements (20 to N+19 columns each), so that pg_stat_statements
# holds what an application's server has besides vitals' own statements; CONFIGS="passes" runs one
# configuration only.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-60}
BEFORE=${BEFORE_BIN:?set BEFORE_BIN to the old build}
AFTER=${AFTER_BIN:-$ROOT/.build/release/vitals}
OUT="$ROOT/bench/out/runtime-cost"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
BEFORE=$(fresh_copy "$BEFORE" "$OUT/bin"); AFTER=$(fresh_copy "$AFTER" "$OUT/bin")

start_bench_servers "$OUT/servers"
if (( ${STATEMENTS:-0} > 0 )); then
  python3 - "$STATEMENTS" <<'PY' | psql -XqAt "$VITALS_TEST_PG_SUPERUSER_DSN" >/dev/null
import sys
for i in range(int(sys.argv[1])):
    print("SELECT " + ", ".join(f"{j} AS c{j}" for j in range(20 + i)) + f" WHERE 1 = {i};")
PY
fi
statements=$(psql -XAtc "SELECT count(*) || ' statements, ' || sum(length(query)) || ' bytes of text' FROM pg_stat_statements" "$VITALS_TEST_PG_SUPERUSER_DSN")


start_vitals() { # BINARY CONFIG LOG -> prints "pid port"
  local port; port=$(free_port)
  local args=(--web.listen-address "127.0.0.1:$port" --log.level warn --timing-log.path "$3")
  if [[ $2 == passes ]]; then
    args+=(--postgres.dsn "$VITALS_TEST_PG_DSN" --postgres.interval 1s --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" --redis.interval 1s)
  fi
  REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD "$1" "${args[@]}" >>"$OUT/vitals.log" 2>&1 &
  echo "$! $port"
}

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
for config in ${CONFIGS:-idle passes}; do
  for run in $(seq 1 "$RUNS"); do
    log "$config: run $run of $RUNS (${SECONDS_PER_RUN}s)"
    : >"$OUT/before.log"; : >"$OUT/after.log"
    read -r bpid bport < <(start_vitals "$BEFORE" "$config" "$OUT/before.log"); PIDS+=("$bpid")
    read -r apid aport < <(start_vitals "$AFTER" "$config" "$OUT/after.log"); PIDS+=("$apid")
    for port in "$bport" "$aport"; do
      wait_for "http://127.0.0.1:$port/metrics" 'vitals_source_up{source="timing_log"' >/dev/null
      if [[ $config == passes ]]; then
        wait_for "http://127.0.0.1:$port/metrics" '^pg_up 1' >/dev/null
        wait_for "http://127.0.0.1:$port/metrics" '^redis_up 1' >/dev/null
      fi
    done
    sleep 3  # past start-up
    b0=$(cpu_ns "$bpid"); a0=$(cpu_ns "$apid"); t0=$(date +%s.%N)
    sleep "$SECONDS_PER_RUN"
    b1=$(cpu_ns "$bpid"); a1=$(cpu_ns "$apid"); t1=$(date +%s.%N)
    for pair in "before $bpid $b0 $b1" "after $apid $a0 $a1"; do
      read -r name pid c0 c1 <<<"$pair"
      awk -v c0="$c0" -v c1="$c1" -v w0="$t0" -v w1="$t1" -v n="$name" -v cf="$config" -v r="$(rss_kib "$pid")" \
        'BEGIN {printf "%s %s %.3f %.1f\n", cf, n, (c1 - c0) / 1e6 / (w1 - w0), r / 1024}' >>"$RESULTS"
    done
    kill "$bpid" "$apid"; wait "$bpid" "$apid" 2>/dev/null || true
  done
done

echo "$(nproc) cores; PostgreSQL $(psql -XAtc 'SHOW server_version' "$VITALS_TEST_PG_SUPERUSER_DSN"), $(redis-server --version | awk '{print $3}');"
echo "$RUNS runs of ${SECONDS_PER_RUN}s per configuration, both builds running at once, nobody scraping; pg_stat_statements at the start: $statements."
echo
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
def cell(values, fmt='{:.2f}'):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} – {fmt.format(max(values))})"
print('| configuration | build | CPU ms per second | RSS MiB |')
print('|---|---|---|---|')
for config in ('idle', 'passes'):
    for build in ('before', 'after'):
        v = [(float(c), float(r)) for cf, b, c, r in rows if cf == config and b == build]
        if not v: continue
        print(f"| {config} | {build} | {cell([x[0] for x in v])} | {cell([x[1] for x in v], '{:.1f}')} |")
PY
