#!/usr/bin/env bash
# Chaos and soak cases that take longer than CI should (`make chaos`):
#   - 100 rotations as logrotate does them (80 renames 0.6 s apart, 20 copytruncates 2.5 s after
#     the rotation before) while a writer appends 50,000 lines/s: 0 lines lost or counted twice;
#   - 200 concurrent scrapers (wrk) for 60 s while the timing-log (a live writer), Postgres and
#     Redis sources run: 0 errors, scrape latency percentiles;
#   - a cardinality bomb of 1,000,000 distinct paths: series stay under the cap, RSS bounded;
#   - a statement bomb of 10,000 distinct statements, in the slow-statement log and in
#     pg_stat_statements: fingerprint and queryid series stay under their caps, RSS bounded;
#   - a soak (SOAK_SECONDS, default 1800) under steady load with every source: RSS and fds stay flat.
# Uses the release build, or the binary VITALS_BIN names (such as `make shipped`'s), and private
# Postgres and Redis servers (scripts/test-servers.sh, in .chaos-servers/, stopped on exit); results
# are printed for BENCHMARKS.md, with the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
bash scripts/install-deps.sh --bench </dev/null
if [[ -n ${VITALS_BIN:-} ]]; then
  BIN=$(realpath "$VITALS_BIN")
else
  [[ -x .build/release/vitals ]] || swift build -c release
  BIN=$ROOT/.build/release/vitals
fi
SERVERS_DIR=$ROOT/.chaos-servers
status=0

vitals_pid=
writer_pid=
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  trap - EXIT
  [[ -n $writer_pid ]] && kill "$writer_pid" 2>/dev/null
  [[ -n $vitals_pid ]] && kill "$vitals_pid" 2>/dev/null
  bash "$ROOT/scripts/test-servers.sh" stop "$SERVERS_DIR" </dev/null || true
}
trap cleanup EXIT
bash scripts/test-servers.sh start "$SERVERS_DIR" </dev/null
# shellcheck source=/dev/null
source "$SERVERS_DIR/env.sh"
load() { echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"; }

echo "==== rotation chaos ===="
load
python3 scripts/chaos/rotation.py "$BIN" --rate 50000 --rotations 100 || status=1

echo "==== 200 concurrent scrapers for 60 s (wrk), every source active ===="
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
python3 scripts/gen-timing-log.py 200000 3 >"$log" 2>/dev/null
python3 scripts/gen-timing-log.py 0 4 --rate 2000 --append "$log" 2>/dev/null &
writer_pid=$!
DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN REDIS_ADDR=$VITALS_TEST_REDIS_ADDR REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD \
  "$BIN" --web.listen-address "127.0.0.1:$port" --timing-log.path "$log" --timing-log.from-beginning --log.level warn \
  --postgres.interval 5s --redis.interval 5s &
vitals_pid=$!
sleep 3
curl -fsS "http://127.0.0.1:$port/ready" || status=1
echo
load
wrk -t2 -c200 -d60s --timeout 10s --latency "http://127.0.0.1:$port/metrics" | tee /tmp/vitals-wrk.txt
load
if grep -qE "Socket errors|Non-2xx" /tmp/vitals-wrk.txt; then status=1; fi
curl -fsS "http://127.0.0.1:$port/metrics" | grep -E '^(pg_up|redis_up|vitals_source_up|vitals_log_lines_total)' || status=1
kill "$writer_pid"; wait "$writer_pid" 2>/dev/null || true; writer_pid=
kill "$vitals_pid"; wait "$vitals_pid" || true; vitals_pid=
rm -f "$log"

echo "==== cardinality bomb ===="
load
python3 scripts/chaos/cardinality.py "$BIN" --paths 1000000 || status=1

echo "==== statement bomb ===="
load
python3 scripts/chaos/statements.py "$BIN" --statements 10000 || status=1

echo "==== soak (${SOAK_SECONDS:-1800} s) ===="
load
python3 scripts/chaos/soak.py "$BIN" --seconds "${SOAK_SECONDS:-1800}" || status=1
load
exit $status
