#!/usr/bin/env bash
# Where an idle vitals wakes up, thread by thread (issue 18's profile of its cost at rest).
#
#   bash bench/wakeups.sh [BINARY] [SECONDS]     # default .build-static/vitals (make shipped), 30 s
#
# Starts private PostgreSQL and Redis, runs BINARY with every source on (a timing log nobody writes,
# Postgres, Redis, the server's log for the slow-query source, the event-loop probe, findings and the
# page, every interval at its default), waits 10 s, and over SECONDS reads each thread's schedstat:
# times put on a CPU (a wake-up each, at rest) and CPU time. Nobody scrapes. Then the resident memory
# by mapping (/proc/PID/smaps), largest first.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BINARY=${1:-$ROOT/.build-static/vitals}
SECONDS_TO_WATCH=${2:-30}
OUT="$ROOT/bench/out/wakeups"
mkdir -p "$OUT/log"
# shellcheck source=bench/lib.sh
source bench/lib.sh

PID=
cleanup() {
  set +e
  [[ -n $PID ]] && kill "$PID" 2>/dev/null
  bash scripts/test-servers.sh stop "$OUT/servers" >/dev/null 2>&1
}
trap cleanup EXIT
bash scripts/test-servers.sh start "$OUT/servers" >/dev/null 2>&1
# shellcheck source=/dev/null
source "$OUT/servers/env.sh"

: >"$OUT/log/app.log"
PORT=$(free_port)
REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD "$BINARY" --web.listen-address "127.0.0.1:$PORT" --log.level warn \
  --timing-log.path "$OUT/log/app.log" --postgres.dsn "$VITALS_TEST_PG_DSN" --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" \
  --slow-query.log-path "$VITALS_TEST_PG_LOG" --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX" >"$OUT/vitals.log" 2>&1 &
PID=$!
wait_for "http://127.0.0.1:$PORT/metrics" '^redis_up 1' >/dev/null
sleep 10

snapshot() {
  for task in /proc/"$PID"/task/*; do
    echo "$(basename "$task") $(tr ' ' '_' <"$task/comm") $(awk '{print $1, $3}' "$task/schedstat")"
  done | sort
}
snapshot >"$OUT/before"
sleep "$SECONDS_TO_WATCH"
snapshot >"$OUT/after"

echo "$(basename "$BINARY"), every source on, idle log, nobody scraping; ${SECONDS_TO_WATCH}s:"
echo
echo '| thread | wake-ups per s | CPU ms per s |'
echo '|---|---|---|'
join "$OUT/before" "$OUT/after" | awk -v s="$SECONDS_TO_WATCH" '
  { w = ($7 - $4) / s; c = ($6 - $3) / s / 1e6; tw += w; tc += c; if (w > 0 || c > 0) printf "| %s (%s) | %.2f | %.3f |\n", $2, $1, w, c }
  END { printf "| **all threads** | **%.2f** | **%.3f** |\n", tw, tc }' | sort -t'|' -k3 -nr
echo
echo "Resident: $(awk '/^VmRSS/ {print $2}' /proc/"$PID"/status) KiB, of which anonymous $(awk '/^RssAnon/ {print $2}' /proc/"$PID"/status) KiB. By mapping:"
echo
python3 - "$PID" <<'PY'
import collections, re, sys
resident = collections.Counter()
name = None
for line in open(f'/proc/{sys.argv[1]}/smaps'):
    if re.match(r'^[0-9a-f]+-[0-9a-f]+ ', line):
        parts = line.split()
        name = (parts[5].split('/')[-1] if len(parts) > 5 else '[anonymous]') + ' ' + parts[1]
    elif line.startswith('Rss:'):
        resident[name] += int(line.split()[1])
print('| mapping | MiB |')
print('|---|---|')
for mapping, kib in resident.most_common(12):
    print(f'| {mapping} | {kib / 1024:.2f} |')
PY
