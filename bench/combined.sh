#!/usr/bin/env bash
# The whole job, side by side: one vitals (timing-log + Postgres + Redis sources) against
# postgres_exporter + redis_exporter (Debian) on the same private PostgreSQL 15 and redis-server 7,
# and mtail (Debian, defaults: 250 ms polls) tailing the same timing log with the histogram program
# of bench/ingest.sh, all measured in the same run.
#
#   bash bench/combined.sh [RUNS] [SCRAPES]      # default 5 runs of 30 scrape rounds
#   LINES_PER_SECOND=0 bash bench/combined.sh     # the timing log idle: collection and scrapes only
#
# Each round scrapes vitals, then postgres_exporter, redis_exporter and mtail, once per second, like a
# Prometheus with scrape_interval 1s; vitals collects Postgres and Redis every second too (one pass
# per scrape, so its collection cost is inside the figure) while a writer appends LINES_PER_SECOND
# (default 1,000) timing-log lines a second. Two comparisons: against the two exporters (issue 7's
# goal, where vitals alone also reads the log), and against all three tools vitals replaces. With
# LINES_PER_SECOND=0 the log is idle and the first comparison is like for like. Per run and process:
#   - CPU per scrape: utime+stime delta of the process over the run / rounds (includes vitals' passes
#     and tailing, and everything the exporters do);
#   - scrape latency: median of the run's scrapes (curl time_total);
#   - RSS (VmRSS) at the end of the run.
# Prints median (min – max) over the runs as a markdown table. PROFILE=1 also records a perf
# profile of vitals during the first run (bench/out/combined/vitals.perf; `perf report -i`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-5}
SCRAPES=${2:-30}
LINES_PER_SECOND=${LINES_PER_SECOND:-1000}
OUT="$ROOT/bench/out/combined"
VITALS=${VITALS_BIN:-$ROOT/.build/release/vitals}
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

for package in prometheus-postgres-exporter prometheus-redis-exporter mtail; do
  command -v "$package" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null
done
[[ -n ${VITALS_BIN:-} ]] || { log "swift build -c release"; swift build -c release >/dev/null; }

start_bench_servers "$OUT/servers"

TICKS=$(getconf CLK_TCK)

# Some load on both servers so every collector has rows to report.
psql -XqAt "$VITALS_TEST_PG_SUPERUSER_DSN" -c "CREATE TABLE IF NOT EXISTS bench_combined (id int PRIMARY KEY, v text);
  INSERT INTO bench_combined SELECT g, 'x' FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING;
  GRANT SELECT ON bench_combined TO vitals; ANALYZE" >/dev/null
export REDISCLI_AUTH=$VITALS_TEST_REDIS_PASSWORD
for i in $(seq 1 400); do echo "SET key:$i value-$i"; done | redis-cli -p "$VITALS_TEST_REDIS_PORT" >/dev/null

LOG_FILE="$OUT/app.log"
TIMING_LOG_ARGS=(--timing-log.path "$LOG_FILE")
: >"$LOG_FILE"
if [[ $LINES_PER_SECOND != 0 ]]; then
  python3 scripts/gen-timing-log.py 0 3 --rate "$LINES_PER_SECOND" --append "$LOG_FILE" >/dev/null 2>&1 &
  PIDS+=($!)
else  # a few lines, read from the beginning so the families exist, then nothing
  python3 scripts/gen-timing-log.py 200 3 >>"$LOG_FILE"
  TIMING_LOG_ARGS+=(--timing-log.from-beginning)
fi

# The mtail program of bench/ingest.sh: the same 53 buckets as vitals' default.
MTAIL_PROG="$OUT/timing.mtail"
BUCKETS=$(grep -v '^[[:space:]]*#' bench/buckets.txt | tr ',\n\t' '   ' | xargs | sed 's/ /, /g')
awk -v b="$BUCKETS" '/^histogram http_request_duration_seconds / { sub(/ buckets .*$/, " buckets " b) } { print }' \
  bench/timing.mtail >"$MTAIL_PROG"

VPORT=$(free_port); PGPORT=$(free_port); RPORT=$(free_port); MPORT=$(free_port)
REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD "$VITALS" --web.listen-address "127.0.0.1:$VPORT" --log.level warn \
  "${TIMING_LOG_ARGS[@]}" --postgres.dsn "$VITALS_TEST_PG_DSN" --postgres.interval 1s \
  --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" --redis.interval 1s >"$OUT/vitals.log" 2>&1 &
VPID=$!; PIDS+=("$VPID")
DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN prometheus-postgres-exporter --web.listen-address "127.0.0.1:$PGPORT" --log.level=warn \
  >"$OUT/postgres_exporter.log" 2>&1 &
PGPID=$!; PIDS+=("$PGPID")
REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD prometheus-redis-exporter -web.listen-address "127.0.0.1:$RPORT" \
  -redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" >"$OUT/redis_exporter.log" 2>&1 &
RPID=$!; PIDS+=("$RPID")
mtail --progs "$MTAIL_PROG" --logs "$LOG_FILE" --address 127.0.0.1 --port "$MPORT" --logtostderr >"$OUT/mtail.log" 2>&1 &
MPID=$!; PIDS+=("$MPID")
wait_for "http://127.0.0.1:$VPORT/metrics" '^redis_up 1' >/dev/null
wait_for "http://127.0.0.1:$VPORT/metrics" '^pg_up 1' >/dev/null
wait_for "http://127.0.0.1:$VPORT/metrics" 'http_requests_total{' >/dev/null
wait_for "http://127.0.0.1:$PGPORT/metrics" '^pg_up 1' >/dev/null
wait_for "http://127.0.0.1:$RPORT/metrics" '^redis_up 1' >/dev/null
wait_for "http://127.0.0.1:$MPORT/metrics" '' >/dev/null  # answering (an idle log has no series yet)
sleep 3

scrape() { curl -s -o /dev/null -w '%{time_total}\n' "$1"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS ($SCRAPES rounds)"
  declare -A before=() times=()
  for name in vitals postgres_exporter redis_exporter mtail; do times[$name]=""; done
  if [[ -n ${PROFILE:-} && $run == 1 ]]; then  # PROFILE=1: a cpu-clock profile of vitals during the first run
    perf record -q -e cpu-clock -F 999 -g -p "$VPID" -o "$OUT/vitals.perf" -- sleep "$SCRAPES" >/dev/null 2>&1 &
  fi
  before[vitals]=$(cpu_ticks "$VPID"); before[postgres_exporter]=$(cpu_ticks "$PGPID"); before[redis_exporter]=$(cpu_ticks "$RPID")
  before[mtail]=$(cpu_ticks "$MPID")
  for _ in $(seq 1 "$SCRAPES"); do
    start=$(date +%s.%N)
    times[vitals]+="$(scrape "http://127.0.0.1:$VPORT/metrics") "
    times[postgres_exporter]+="$(scrape "http://127.0.0.1:$PGPORT/metrics") "
    times[redis_exporter]+="$(scrape "http://127.0.0.1:$RPORT/metrics") "
    times[mtail]+="$(scrape "http://127.0.0.1:$MPORT/metrics") "
    sleep "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {d = 1 - (n - s); print (d > 0 ? d : 0)}')"
  done
  for pair in "vitals $VPID" "postgres_exporter $PGPID" "redis_exporter $RPID" "mtail $MPID"; do
    read -r name pid <<<"$pair"
    cpu=$(awk -v a="${before[$name]}" -v b="$(cpu_ticks "$pid")" -v t="$TICKS" -v n="$SCRAPES" 'BEGIN {printf "%.3f", (b - a) * 1000 / t / n}')
    lat=$(tr ' ' '\n' <<<"${times[$name]}" | grep . | median | awk '{printf "%.3f", $1 * 1000}')
    echo "$run $name $cpu $lat $(awk -v k="$(rss_kib "$pid")" -v a="$(anon_kib "$pid")" 'BEGIN {printf "%.1f %.1f", k / 1024, a / 1024}')" >>"$RESULTS"
  done
done

samples() { curl -s "$1" | grep -vc '^#'; }
echo "$(nproc) cores; PostgreSQL $(psql -XAtc 'SHOW server_version' "$VITALS_TEST_PG_SUPERUSER_DSN"), $(redis-server --version | awk '{print $3}');"
echo "$RUNS runs of $SCRAPES scrape rounds at 1/s; vitals: timing log at $LINES_PER_SECOND lines/s, Postgres and Redis passes every 1 s."
echo "Samples per scrape: vitals $(samples "http://127.0.0.1:$VPORT/metrics"), postgres_exporter $(samples "http://127.0.0.1:$PGPORT/metrics"), redis_exporter $(samples "http://127.0.0.1:$RPORT/metrics"), mtail $(samples "http://127.0.0.1:$MPORT/metrics")."
echo
python3 - "$RESULTS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
by = {}
for run, name, cpu, lat, rss, anon in rows:
    by.setdefault(name, []).append((float(cpu), float(lat), float(rss), float(anon)))
def cell(values, fmt='{:.2f}'):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} – {fmt.format(max(values))})"
print('| process | CPU ms per scrape | median scrape ms | RSS MiB | of which anonymous MiB |')
print('|---|---|---|---|---|')
for name in ('vitals', 'postgres_exporter', 'redis_exporter', 'mtail'):
    v = by[name]
    print(f"| {name} | {cell([x[0] for x in v])} | {cell([x[1] for x in v])} | {cell([x[2] for x in v], '{:.1f}')} | {cell([x[3] for x in v], '{:.1f}')} |")
runs = sorted({int(r[0]) for r in rows})
def per_run(i, combine):
    return [combine({name: by[name][k][i] for name in by}) for k in range(len(runs))]
both_cpu = per_run(0, lambda d: d['postgres_exporter'] + d['redis_exporter'])
both_rss = per_run(2, lambda d: d['postgres_exporter'] + d['redis_exporter'])
both_anon = per_run(3, lambda d: d['postgres_exporter'] + d['redis_exporter'])
print(f"| both exporters (sum) | {cell(both_cpu)} | {cell(per_run(1, lambda d: d['postgres_exporter'] + d['redis_exporter']))} | {cell(both_rss, '{:.1f}')} | {cell(both_anon, '{:.1f}')} |")
tools = ('postgres_exporter', 'redis_exporter', 'mtail')
print(f"| all three tools (sum) | {cell(per_run(0, lambda d: sum(d[t] for t in tools)))} | {cell(per_run(1, lambda d: sum(d[t] for t in tools)))} | {cell(per_run(2, lambda d: sum(d[t] for t in tools)), '{:.1f}')} | {cell(per_run(3, lambda d: sum(d[t] for t in tools)), '{:.1f}')} |")
print()
cpu_ratio = per_run(0, lambda d: d['vitals'] / (d['postgres_exporter'] + d['redis_exporter']))
lat_pg = per_run(1, lambda d: d['vitals'] / d['postgres_exporter'])
lat_redis = per_run(1, lambda d: d['vitals'] / d['redis_exporter'])
rss_ratio = per_run(2, lambda d: d['vitals'] / (d['postgres_exporter'] + d['redis_exporter']))
print(f"vitals / both exporters, per run: CPU per scrape {cell(cpu_ratio)}; RSS {cell(rss_ratio)}.")
print(f"vitals / all three tools, per run: CPU per scrape {cell(per_run(0, lambda d: d['vitals'] / sum(d[t] for t in tools)))}; "
      f"RSS {cell(per_run(2, lambda d: d['vitals'] / sum(d[t] for t in tools)))}; "
      f"median scrape latency {cell(per_run(1, lambda d: d['vitals'] / sum(d[t] for t in tools)))}.")
print(f"Median scrape latency, vitals / postgres_exporter {cell(lat_pg)}, vitals / redis_exporter {cell(lat_redis)}.")
PY
