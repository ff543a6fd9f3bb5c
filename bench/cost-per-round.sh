#!/usr/bin/env bash
# What one round of vitals' periodic work costs (a Postgres pass, a Redis pass, findings, the probe,
# the slow-query log and a scrape), time-compressed: every interval and Prometheus's scrape at
# INTERVAL seconds (default 1) instead of 15, so a comparison of builds or flags that
# bench/cost-to-run.sh needs 27 minutes to tell apart shows in two. Several daemons side by side:
#
#   SECS=120 bash bench/cost-per-round.sh NAME:ITEM[,ITEM] ...
#   SECS=120 bash bench/cost-per-round.sh before:binary=/tmp/vitals-old after:binary=/tmp/vitals-new
#   bash bench/cost-per-round.sh whole: nostatements:--postgres.statements.enabled=false
#
# An ITEM is a flag --key=value, binary=PATH for another build (default: `make shipped`'s),
# no-slow-query, or an environment variable VAR=VALUE (bench/lib.sh, parse_vitals_items). A NAME starting with "unscraped" is left out of Prometheus's targets, so a pair
# (whole:, unscraped-whole:) separates the scrape from the rest. PERF=NAME records a call-graph
# profile of that daemon (perf record -g, to bench/out/cost-per-round/perf.data): give it an
# unstripped build (.build-static/release/vitals) to read its symbols; PERF_FREQ sets its rate (default 2999 Hz).
#
# Everything shares one private PostgreSQL 15 (pg_stat_statements, auto_explain) and redis-server,
# seeded as in bench/cost-to-run.sh, with postgres_exporter running beside (its statements are in
# pg_stat_statements, as in cost-to-run.sh) and a client running a 60 ms statement every INTERVAL
# for the slow-query log. The slow interval is four intervals, as 60 s is four of 15 s. Prints each
# daemon's CPU (milliseconds, its cgroup; bench/lib.sh) over SECS after 10 s of start-up, and the
# statement samples it exposes. Not the same mix as at 15 s: the scrape and passes come as often,
# but fixed costs per second (idle wake-ups) weigh less. Compare within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# > 0)) || { echo "usage: bash bench/cost-per-round.sh NAME:ITEM[,ITEM] ..." >&2; exit 2; }
SECS=${SECS:-120}
INTERVAL=${INTERVAL:-1}
OUT="$PWD/bench/out/cost-per-round"
rm -rf "$OUT"; mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
command -v prometheus-postgres-exporter >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-postgres-exporter >/dev/null
command -v prometheus >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null
VITALS=${VITALS_BIN:-}
[[ -n $VITALS ]] || { log "make shipped"; make shipped >/dev/null; VITALS=$PWD/.build-static/vitals; }
start_bench_servers "$OUT/servers"  # stops the servers and every pid in PIDS on exit
seed_bench_table
export REDISCLI_AUTH=$VITALS_TEST_REDIS_PASSWORD
for i in $(seq 1 400); do echo "SET key:$i value-$i"; done | redis-cli -p "$VITALS_TEST_REDIS_PORT" >/dev/null

python3 scripts/gen-timing-log.py 200 3 >"$OUT/app.log"
declare -A port=() pid=()
names=()
for spec in "$@"; do
  name=${spec%%:*}; items=""; [[ $spec == *:* ]] && items=${spec#*:}
  parse_vitals_items "$items" "$VITALS"
  slow_query=(--slow-query.log-path "$VITALS_TEST_PG_LOG" --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX")
  ((VITALS_ITEM_SLOW_QUERY)) || slow_query=()
  names+=("$name")
  mkdir -p "$OUT/$name"; cp "$OUT/app.log" "$OUT/$name/app.log"
  port[$name]=$(free_port)
  env "${VITALS_ITEM_VARIABLES[@]}" REDIS_PASSWORD="$VITALS_TEST_REDIS_PASSWORD" "$VITALS_ITEM_BINARY" --web.listen-address "127.0.0.1:${port[$name]}" --log.level warn \
    --timing-log.path "$OUT/$name/app.log" --timing-log.from-beginning \
    --postgres.dsn "$VITALS_TEST_PG_DSN" --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" \
    --postgres.interval "${INTERVAL}s" --postgres.slow-interval "$((INTERVAL * 4))s" --redis.interval "${INTERVAL}s" \
    --findings.interval "${INTERVAL}s" --event-loop.interval "${INTERVAL}s" --event-loop.window "$((INTERVAL * 4))s" \
    "${slow_query[@]}" "${VITALS_ITEM_FLAGS[@]}" >"$OUT/$name/vitals.log" 2>&1 &
  pid[$name]=$!; PIDS+=($!)
done
exporter_port=$(free_port)
DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN prometheus-postgres-exporter --web.listen-address "127.0.0.1:$exporter_port" --log.level=warn \
  >"$OUT/postgres_exporter.log" 2>&1 &
PIDS+=($!)
for name in "${names[@]}"; do wait_for "http://127.0.0.1:${port[$name]}/metrics" '^pg_up 1' >/dev/null; done
(
  while :; do psql -XqAt "$VITALS_TEST_PG_DSN" -c "SELECT pg_sleep(0.06), count(*) FROM bench_cost" >/dev/null 2>&1; sleep "$INTERVAL"; done
) &
PIDS+=($!)
mkdir -p "$OUT/prometheus"
{
  echo "global: {scrape_interval: ${INTERVAL}s, scrape_timeout: ${INTERVAL}s}"
  echo "scrape_configs:"
  echo "  - {job_name: postgres_exporter, static_configs: [{targets: ['127.0.0.1:$exporter_port']}]}"
  for name in "${names[@]}"; do
    [[ $name == unscraped* ]] && continue
    echo "  - {job_name: $name, static_configs: [{targets: ['127.0.0.1:${port[$name]}']}]}"
  done
} >"$OUT/prometheus/prometheus.yml"
prometheus --config.file "$OUT/prometheus/prometheus.yml" --storage.tsdb.path "$OUT/prometheus/data" \
  --web.listen-address "127.0.0.1:$(free_port)" --log.level warn >"$OUT/prometheus/prometheus.log" 2>&1 &
PIDS+=($!)
for name in "${names[@]}"; do cpu_track "${pid[$name]}"; done
sleep 10
declare -A cpu0=()
for name in "${names[@]}"; do cpu0[$name]=$(cpu_ns "${pid[$name]}"); done
if [[ -n ${PERF:-} ]]; then
  command -v perf >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y linux-perf >/dev/null
  perf record -F "${PERF_FREQ:-2999}" -g -p "${pid[$PERF]}" -o "$OUT/perf.data" -- sleep "$SECS" >/dev/null 2>&1 &
  PIDS+=($!)
fi
sleep "$SECS"
echo "$(nproc) cores; every interval and the scrape at ${INTERVAL}s; ${SECS}s measured."
for name in "${names[@]}"; do
  samples=$(curl -s "http://127.0.0.1:${port[$name]}/metrics" | grep -c '^pg_stat_statements' || true)
  echo "$name: $((($(cpu_ns "${pid[$name]}") - ${cpu0[$name]}) / 1000000)) ms CPU, $samples statement samples"
done
[[ -z ${PERF:-} ]] || wait "${PIDS[-1]}" 2>/dev/null || true
