#!/usr/bin/env bash
# Chaos and soak cases that take longer than CI should (`make chaos`):
#   - 100 mixed rotations while a writer appends 50,000 lines/s: 0 lines lost or counted twice;
#   - 200 concurrent scrapers (wrk) for 60 s: 0 errors, scrape latency percentiles;
#   - a cardinality bomb of 1,000,000 distinct paths: series stay under the cap, RSS bounded;
#   - a soak (SOAK_SECONDS, default 1800) under steady load: RSS and fds stay flat.
# Uses the release build; results are printed for BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench </dev/null
[[ -x .build/release/vitals ]] || swift build -c release
BIN=.build/release/vitals
status=0

echo "==== rotation chaos ===="
python3 scripts/chaos/rotation.py "$BIN" --rate 50000 --rotations 100 --seconds 60 || status=1

echo "==== 200 concurrent scrapers for 60 s (wrk) ===="
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$(mktemp)
python3 scripts/gen-timing-log.py 200000 3 >"$log" 2>/dev/null
"$BIN" --web.listen-address "127.0.0.1:$port" --timing-log.path "$log" --timing-log.from-beginning --log.level warn &
vitals_pid=$!
sleep 2
wrk -t2 -c200 -d60s --timeout 10s --latency "http://127.0.0.1:$port/metrics" | tee /tmp/vitals-wrk.txt
if grep -qE "Socket errors|Non-2xx" /tmp/vitals-wrk.txt; then status=1; fi
kill "$vitals_pid"; wait "$vitals_pid" || true
rm -f "$log"

echo "==== cardinality bomb ===="
python3 scripts/chaos/cardinality.py "$BIN" --paths 1000000 || status=1

echo "==== soak (${SOAK_SECONDS:-1800} s) ===="
python3 scripts/chaos/soak.py "$BIN" --seconds "${SOAK_SECONDS:-1800}" || status=1
exit $status
