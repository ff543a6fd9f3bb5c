#!/usr/bin/env bash
# Does a change make a scrape cheaper? Several builds (or one build under several environments) side
# by side, in the same run, every source on, each scraped often enough that the scrape dominates:
#
#   SECS=120 SCRAPE_EVERY=0.1 bash bench/scrape-cost.sh NAME=BINARY NAME=BINARY ...
#
# BINARY may be a wrapper script that sets environment variables and execs a build, so a malloc
# tunable or a flag is measured against the same build without it. All daemons share one private
# PostgreSQL and Redis (as in bench/cost-to-run.sh: a seeded table, 400 keys, the slow-query log) and
# each has its own idle timing log; their passes run at the default intervals. After 20 s of
# start-up, every SCRAPE_EVERY seconds each daemon is scraped once, in turn, for SECS seconds.
# Prints, per daemon, its CPU ticks (1/100 s, /proc/PID/stat) over the run, the scrapes, the
# exposition's lines and RSS (and its anonymous part) at the end. Compare ticks within one run only.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# > 0)) || { echo "usage: bash bench/scrape-cost.sh NAME=BINARY [NAME=BINARY ...]" >&2; exit 2; }
OUT="$PWD/bench/out/scrape-cost"
rm -rf "$OUT"; mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh
start_bench_servers "$OUT/servers"  # stops the servers and every pid in PIDS on exit
seed_bench_table
export REDISCLI_AUTH=$VITALS_TEST_REDIS_PASSWORD
for i in $(seq 1 400); do echo "SET key:$i value-$i"; done | redis-cli -p "$VITALS_TEST_REDIS_PORT" >/dev/null

declare -A port=() pid=()
names=()
for spec in "$@"; do
  name=${spec%%=*}; binary=${spec#*=}
  names+=("$name")
  mkdir -p "$OUT/$name"
  python3 scripts/gen-timing-log.py 200 3 >"$OUT/$name/app.log"
  port[$name]=$(free_port)
  REDIS_PASSWORD="$VITALS_TEST_REDIS_PASSWORD" "$binary" --web.listen-address "127.0.0.1:${port[$name]}" --log.level warn \
    --timing-log.path "$OUT/$name/app.log" --timing-log.from-beginning \
    --postgres.dsn "$VITALS_TEST_PG_DSN" --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" \
    --slow-query.log-path "$VITALS_TEST_PG_LOG" --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX" \
    >"$OUT/$name/vitals.log" 2>&1 &
  pid[$name]=$!; PIDS+=($!)
done
for name in "${names[@]}"; do
  wait_for "http://127.0.0.1:${port[$name]}/metrics" '^pg_up 1' >/dev/null
  wait_for "http://127.0.0.1:${port[$name]}/metrics" '^redis_up 1' >/dev/null
done
sleep 20

declare -A start=()
for name in "${names[@]}"; do start[$name]=$(cpu_ticks "${pid[$name]}"); done
end=$((SECONDS + ${SECS:-120})); scrapes=0
while ((SECONDS < end)); do
  for name in "${names[@]}"; do scrape_like_prometheus "http://127.0.0.1:${port[$name]}/metrics"; done
  scrapes=$((scrapes + 1))
  sleep "${SCRAPE_EVERY:-0.1}"
done
echo "| daemon | CPU ticks | scrapes | lines | RSS KiB | of which anonymous KiB |"
echo "|---|---|---|---|---|---|"
for name in "${names[@]}"; do
  ticks=$(($(cpu_ticks "${pid[$name]}") - ${start[$name]}))
  lines=$(curl -s "http://127.0.0.1:${port[$name]}/metrics" | wc -l)
  echo "| $name | $ticks | $scrapes | $lines | $(rss_kib "${pid[$name]}") | $(anon_kib "${pid[$name]}") |"
done
