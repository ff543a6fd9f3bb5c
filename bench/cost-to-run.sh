#!/usr/bin/env bash
# What vitals costs to run, as a user pays for it (issue 18): CPU-seconds and resident memory at
# Prometheus's usual 15 s scrape interval, every source on, against the tools it replaces doing the
# same job on the same servers and log, all running at once.
#
#   bash bench/cost-to-run.sh [RUNS] [SECONDS]     # default 5 runs of 300 s, of `make shipped`
#   VITALS_BIN=/path/to/vitals bash bench/cost-to-run.sh
#   COMPARE='dispatch:VITALS_CONCURRENCY_ON_DISPATCH=1' bash bench/cost-to-run.sh 3 300
#
# COMPARE adds, for each space-separated NAME:ITEM[,ITEM], a busy and an idle vitals run beside the
# others (rows vitals_busy_NAME and vitals_idle_NAME); an ITEM is an environment variable VAR=VALUE
# or a flag --key=value, or binary=PATH for another build (COMPARE='before:binary=/tmp/vitals-old'),
# or no-slow-query to leave the slow-query log out. So a lever is measured in the same run as the
# daemon without it. The exporters' own job, and only it (no statements, per-table statistics,
# slow-query log, findings or page):
#   COMPARE='exporters-job:no-slow-query,--postgres.statements.enabled=false,--postgres.disable-collector=stat_user_tables,--findings.enabled=false,--page.enabled=false'
# SAME_JOB=1 runs, beside the exporters at their defaults, a second postgres_exporter that also collects
# what vitals' Postgres source adds to their defaults: the statements, the per-table and the
# per-index statistics (bench/postgres-exporter-same-job.yaml, with the per-table queries of Debian's
# example queries.yaml), and prints the ratios against it too (rows postgres_exporter_same_job).
#
# In each run, at the same time, on one private PostgreSQL 15 (pg_stat_statements, auto_explain,
# statements from 50 ms logged) and one redis-server 7:
#   - vitals "busy": the timing log at LINES_PER_SECOND (default 100) lines/s, Postgres, Redis, the
#     slow-query log (the server's log), vitals' own event-loop probe, findings and the page, every
#     interval at its default (Postgres 15 s and 60 s, Redis 15 s). The application probe is off: it
#     needs an application, and what it costs the application is measured in bench/app-probe.sh;
#   - vitals "idle": the same with a timing log nobody writes;
#   - postgres_exporter and redis_exporter (Debian, defaults) on the same servers;
#   - mtail (Debian, defaults) on the busy log with bench/timing.mtail and vitals' bucket layout.
# A real Prometheus (Debian's) scrapes each /metrics every 15 s, as a user's does: one kept-alive
# connection per target, OpenMetrics asked for, gzip accepted. SCRAPER=curl scrapes with a new curl
# connection per target and interval instead, as every run before 2026-12-06 (3ec4eb3) did; a new
# connection costs vitals more than a Go exporter (BENCHMARKS.md, "Scraped by Prometheus"). A client
# runs a 60 ms statement every 5 s so the slow-query log has entries. Per process over the run's
# SECONDS (after 20 s of start-up):
#   - CPU: nanoseconds of the whole process (a cpuacct cgroup each, threads that exited included;
#     bench/lib.sh), as CPU-seconds per hour;
#   - RSS (VmRSS) and its anonymous part at the end;
#   - wake-ups per second: the times its live threads were put on a CPU (schedstat's third field;
#     a thread that started and ended within the run is not counted).
# Prints every run, then median (min – max) over the runs and the goals' ratios, computed per run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-5}
SECONDS_PER_RUN=${2:-300}
LINES_PER_SECOND=${LINES_PER_SECOND:-100}
SCRAPE_INTERVAL=15
SCRAPER=${SCRAPER:-prometheus}
[[ $SCRAPER == prometheus || $SCRAPER == curl ]] || { echo "SCRAPER must be prometheus or curl" >&2; exit 2; }
OUT="$ROOT/bench/out/cost-to-run"
VITALS=${VITALS_BIN:-$ROOT/.build-static/vitals}
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

for package in prometheus-postgres-exporter prometheus-redis-exporter mtail prometheus; do
  command -v "$package" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null
done
[[ -n ${VITALS_BIN:-} ]] || { log "make shipped"; make shipped >/dev/null; }
VITALS=$(fresh_copy "$VITALS" "$OUT/bin")

start_bench_servers "$OUT/servers"

# Rows for every collector, as in bench/combined.sh.
seed_bench_table
export REDISCLI_AUTH=$VITALS_TEST_REDIS_PASSWORD
for i in $(seq 1 400); do echo "SET key:$i value-$i"; done | redis-cli -p "$VITALS_TEST_REDIS_PORT" >/dev/null

exporters=(postgres_exporter redis_exporter mtail)
if [[ ${SAME_JOB:-0} == 1 ]]; then
  exporters+=(postgres_exporter_same_job)
  SAME_JOB_QUERIES="$OUT/postgres-exporter-same-job.yaml"
  example=/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml
  { if [[ -f $example.gz ]]; then zcat "$example.gz"; else cat "$example"; fi; } |
    awk '/^[a-z_]+:/ { keep = ($1 == "pg_stat_user_tables:" || $1 == "pg_statio_user_tables:") } keep' >"$SAME_JOB_QUERIES"
  grep -q '^pg_statio_user_tables:' "$SAME_JOB_QUERIES" || { echo "no per-table queries in $example" >&2; exit 1; }
  cat bench/postgres-exporter-same-job.yaml >>"$SAME_JOB_QUERIES"
fi

MTAIL_PROG="$OUT/timing.mtail"
BUCKETS=$(grep -v '^[[:space:]]*#' bench/buckets.txt | tr ',\n\t' '   ' | xargs | sed 's/ /, /g')
awk -v b="$BUCKETS" '/^histogram http_request_duration_seconds / { sub(/ buckets .*$/, " buckets " b) } { print }' \
  bench/timing.mtail >"$MTAIL_PROG"

declare -A compare_env=()
for spec in ${COMPARE:-}; do
  items=${spec#*:}
  if [[ $items =~ (^|,)binary=([^,]*) ]]; then items=${items/binary=${BASH_REMATCH[2]}/binary=$(fresh_copy "${BASH_REMATCH[2]}" "$OUT/bin")}; fi
  compare_env[${spec%%:*}]=$items
done

start_vitals() { # LOG PORT [VAR=VALUE|--flag=value|binary=PATH,...]
  parse_vitals_items "${3:-}" "$VITALS"
  local slow_query=(--slow-query.log-path "$VITALS_TEST_PG_LOG" --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX")
  ((VITALS_ITEM_SLOW_QUERY)) || slow_query=()
  env "${VITALS_ITEM_VARIABLES[@]}" REDIS_PASSWORD="$VITALS_TEST_REDIS_PASSWORD" "$VITALS_ITEM_BINARY" "${VITALS_ITEM_FLAGS[@]}" \
    --web.listen-address "127.0.0.1:$2" --log.level warn \
    --timing-log.path "$1" --timing-log.from-beginning \
    --postgres.dsn "$VITALS_TEST_PG_DSN" --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" \
    "${slow_query[@]}" >>"$OUT/vitals.log" 2>&1 &
  echo $!
}

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS (${SECONDS_PER_RUN}s)"
  RUN_PIDS=()
  # Each log in a directory of its own: the idle vitals must not hear the busy log's writes.
  mkdir -p "$OUT/busy" "$OUT/idle"
  busy_log="$OUT/busy/app.log"; idle_log="$OUT/idle/app.log"
  python3 scripts/gen-timing-log.py 200 3 >"$busy_log"  # a few lines so every family exists from the start
  cp "$busy_log" "$idle_log"
  python3 scripts/gen-timing-log.py 0 3 --rate "$LINES_PER_SECOND" --append "$busy_log" >/dev/null 2>&1 &
  RUN_PIDS+=($!)
  declare -A port=() pid=()
  vitals_names=(vitals_busy vitals_idle)
  for compared in "${!compare_env[@]}"; do vitals_names+=("vitals_busy_$compared" "vitals_idle_$compared"); done
  for name in "${vitals_names[@]}" "${exporters[@]}"; do port[$name]=$(free_port); done
  pid[vitals_busy]=$(start_vitals "$busy_log" "${port[vitals_busy]}")
  pid[vitals_idle]=$(start_vitals "$idle_log" "${port[vitals_idle]}")
  for compared in "${!compare_env[@]}"; do
    mkdir -p "$OUT/idle-$compared"; cp "$idle_log" "$OUT/idle-$compared/app.log"
    pid[vitals_busy_$compared]=$(start_vitals "$busy_log" "${port[vitals_busy_$compared]}" "${compare_env[$compared]}")
    pid[vitals_idle_$compared]=$(start_vitals "$OUT/idle-$compared/app.log" "${port[vitals_idle_$compared]}" "${compare_env[$compared]}")
  done
  DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN prometheus-postgres-exporter --web.listen-address "127.0.0.1:${port[postgres_exporter]}" \
    --log.level=warn >"$OUT/postgres_exporter.log" 2>&1 &
  pid[postgres_exporter]=$!
  if [[ ${SAME_JOB:-0} == 1 ]]; then
    DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN prometheus-postgres-exporter --web.listen-address "127.0.0.1:${port[postgres_exporter_same_job]}" \
      --extend.query-path "$SAME_JOB_QUERIES" --log.level=warn >"$OUT/postgres_exporter_same_job.log" 2>&1 &
    pid[postgres_exporter_same_job]=$!
  fi
  REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD prometheus-redis-exporter -web.listen-address "127.0.0.1:${port[redis_exporter]}" \
    -redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" >"$OUT/redis_exporter.log" 2>&1 &
  pid[redis_exporter]=$!
  mtail --progs "$MTAIL_PROG" --logs "$busy_log" --address 127.0.0.1 --port "${port[mtail]}" --logtostderr >"$OUT/mtail.log" 2>&1 &
  pid[mtail]=$!
  RUN_PIDS+=("${pid[@]}"); PIDS+=("${RUN_PIDS[@]}")
  for p in "${pid[@]}"; do cpu_track "$p"; done
  for name in "${vitals_names[@]}"; do
    wait_for "http://127.0.0.1:${port[$name]}/metrics" '^pg_up 1' >/dev/null
    wait_for "http://127.0.0.1:${port[$name]}/metrics" '^redis_up 1' >/dev/null
  done
  wait_for "http://127.0.0.1:${port[postgres_exporter]}/metrics" '^pg_up 1' >/dev/null
  wait_for "http://127.0.0.1:${port[redis_exporter]}/metrics" '^redis_up 1' >/dev/null
  if [[ ${SAME_JOB:-0} == 1 ]]; then
    wait_for "http://127.0.0.1:${port[postgres_exporter_same_job]}/metrics" '^pg_stat_statements_calls' >/dev/null
    wait_for "http://127.0.0.1:${port[postgres_exporter_same_job]}/metrics" '^pg_stat_user_indexes_idx_scan' >/dev/null
  fi
  wait_for "http://127.0.0.1:${port[mtail]}/metrics" 'http_request' >/dev/null
  sleep 20  # past start-up: first passes, the first slow pass, mtail's program load

  (  # a statement past log_min_duration_statement every 5 s, for the slow-query log
    while :; do psql -XqAt "$VITALS_TEST_PG_DSN" -c "SELECT pg_sleep(0.06), count(*) FROM bench_cost" >/dev/null 2>&1; sleep 5; done
  ) &
  RUN_PIDS+=($!); PIDS+=($!)
  if [[ $SCRAPER == prometheus ]]; then
    prometheus_port=$(free_port)
    rm -rf "$OUT/prometheus"; mkdir -p "$OUT/prometheus"
    {
      echo "global: {scrape_interval: ${SCRAPE_INTERVAL}s, scrape_timeout: 10s}"
      echo "scrape_configs:"
      for name in "${vitals_names[@]}" "${exporters[@]}"; do
        echo "  - {job_name: $name, static_configs: [{targets: ['127.0.0.1:${port[$name]}']}]}"
      done
    } >"$OUT/prometheus/prometheus.yml"
    prometheus --config.file "$OUT/prometheus/prometheus.yml" --storage.tsdb.path "$OUT/prometheus/data" \
      --web.listen-address "127.0.0.1:$prometheus_port" --log.level warn >"$OUT/prometheus/prometheus.log" 2>&1 &
    RUN_PIDS+=($!); PIDS+=($!)
  else
    (  # every target once per interval, a new connection each
      while :; do
        for name in "${vitals_names[@]}" "${exporters[@]}"; do
          scrape_like_prometheus "http://127.0.0.1:${port[$name]}/metrics"
        done
        sleep "$SCRAPE_INTERVAL"
      done
    ) &
    RUN_PIDS+=($!); PIDS+=($!)
  fi

  declare -A cpu0=() slices0=()
  for name in "${!pid[@]}"; do cpu0[$name]=$(cpu_ns "${pid[$name]}"); slices0[$name]=$(timeslices "${pid[$name]}"); done
  t0=$(date +%s.%N)
  sleep "$SECONDS_PER_RUN"
  t1=$(date +%s.%N)
  for name in "${vitals_names[@]}" "${exporters[@]}"; do
    p=${pid[$name]}
    awk -v n="$name" -v r="$run" -v c0="${cpu0[$name]}" -v c1="$(cpu_ns "$p")" -v s0="${slices0[$name]}" -v s1="$(timeslices "$p")" \
      -v w0="$t0" -v w1="$t1" -v rss="$(rss_kib "$p")" -v anon="$(anon_kib "$p")" \
      'BEGIN {w = w1 - w0; printf "%s %s %.2f %.1f %.1f %.1f\n", r, n, (c1 - c0) / 1e9 / w * 3600, rss / 1024, anon / 1024, (s1 - s0) / w}' >>"$RESULTS"
  done
  if [[ $SCRAPER == prometheus ]]; then
    # Every target up at the run's end: Prometheus read its last body, vitals' gzip included.
    down=$(curl -sf "http://127.0.0.1:$prometheus_port/api/v1/query?query=up" |
      python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(" ".join(x["metric"]["job"] for x in r if x["value"][1] != "1") if len(r) else "all (no answer)")')
    [[ -z $down ]] || { log "run $run: targets down in Prometheus: $down"; exit 1; }
  fi
  lines=$(wc -l <"$busy_log")
  for p in "${RUN_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait "${RUN_PIDS[@]}" 2>/dev/null || true
  cpu_untrack_all
  log "run $run: $lines lines in the busy log"
done

echo "$(nproc) cores; PostgreSQL $(psql -XAtc 'SHOW server_version' "$VITALS_TEST_PG_SUPERUSER_DSN"), $(redis-server --version | awk '{print $3}'); $(basename "$VITALS") $(stat -c %s "$VITALS") bytes."
echo "$RUNS runs of ${SECONDS_PER_RUN}s, everything running at once, scraped every ${SCRAPE_INTERVAL}s by $([[ $SCRAPER == prometheus ]] && echo "$(prometheus --version 2>&1 | head -1 | awk '{print $1, $3}') (kept-alive connections)" || echo "curl (a new connection each)"); busy log at $LINES_PER_SECOND lines/s."
echo
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for run, name, cpu, rss, anon, wakeups in rows:
    by.setdefault(name, []).append((float(cpu), float(rss), float(anon), float(wakeups)))
def cell(values, fmt='{:.2f}'):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} – {fmt.format(max(values))})"
names = ('vitals_busy', 'vitals_idle', 'postgres_exporter', 'redis_exporter', 'mtail')
names += tuple(n for n in ('postgres_exporter_same_job',) if n in by)
compared = sorted(n for n in by if n not in names)
print('| process | CPU s per hour | RSS MiB | of which anonymous MiB | wake-ups per s |')
print('|---|---|---|---|---|')
for name in names + tuple(compared):
    v = by[name]
    print(f"| {name} | {cell([x[0] for x in v])} | {cell([x[1] for x in v], '{:.1f}')} | {cell([x[2] for x in v], '{:.1f}')} | {cell([x[3] for x in v], '{:.1f}')} |")
runs = len(by['vitals_busy'])
def per_run(f):
    return [f({n: by[n][k] for n in by}) for k in range(runs)]
three = ('postgres_exporter', 'redis_exporter', 'mtail')
two = ('postgres_exporter', 'redis_exporter')
for suffix in [''] + ['_' + c for c in sorted({n.split('_', 2)[2] for n in compared})]:
    busy, idle = 'vitals_busy' + suffix, 'vitals_idle' + suffix
    print()
    print(f"| goal ({busy}, {idle}) | ratio per run, median (min – max) | goal |")
    print('|---|---|---|')
    print(f"| CPU, busy log: vitals / (postgres_exporter + redis_exporter + mtail) | {cell(per_run(lambda d: d[busy][0] / sum(d[t][0] for t in three)))} | ≤ 0.25 |")
    print(f"| CPU, idle log: vitals / (postgres_exporter + redis_exporter) | {cell(per_run(lambda d: d[idle][0] / sum(d[t][0] for t in two)))} | ≤ 0.25 |")
    print(f"| RSS, busy log: vitals / the three tools | {cell(per_run(lambda d: d[busy][1] / sum(d[t][1] for t in three)))} | ≤ 0.5 |")
    print(f"| wake-ups per s, idle log: vitals / (postgres_exporter + redis_exporter) | {cell(per_run(lambda d: d[idle][3] / sum(d[t][3] for t in two)))} | < 1 |")
    if 'postgres_exporter_same_job' in by:
        # Not the issue's goals: the same job, with postgres_exporter collecting what vitals adds.
        same3 = ('postgres_exporter_same_job', 'redis_exporter', 'mtail')
        same2 = ('postgres_exporter_same_job', 'redis_exporter')
        print(f"| CPU, busy log: vitals / (postgres_exporter_same_job + redis_exporter + mtail) | {cell(per_run(lambda d: d[busy][0] / sum(d[t][0] for t in same3)))} | (same job) |")
        print(f"| CPU, idle log: vitals / (postgres_exporter_same_job + redis_exporter) | {cell(per_run(lambda d: d[idle][0] / sum(d[t][0] for t in same2)))} | (same job) |")
        print(f"| RSS, busy log: vitals / (postgres_exporter_same_job + redis_exporter + mtail) | {cell(per_run(lambda d: d[busy][1] / sum(d[t][1] for t in same3)))} | (same job) |")
PY
