#!/usr/bin/env bash
# The application probe: what it costs the application, and how many blocks of its event loop it
# sees, by probe interval, on the demo app (FastAPI under uvicorn) with real PostgreSQL and Redis.
#
#   bash bench/app-probe.sh [SECONDS_PER_RUN]       # default 40
#   VITALS_BIN=path/to/vitals bash bench/app-probe.sh
#
# For each interval (off, 1s, 250ms, 100ms, 50ms) and block length (100 ms, 300 ms): vitals probes
# the app's /health; once a second, at a random phase, a driver calls /reports/{id}, whose handler
# blocks the loop with time.sleep for the block length. A block is "seen" when a probe that ended
# within the second after it measured at least half the block (from the scrape before and after).
# The cost is the app's CPU time (utime + stime of uvicorn) per second of wall time, minus the
# blocks' own share, against the run with the probe off.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_RUN=${1:-40}
OUT="$ROOT/bench/out/app-probe"
VITALS=${VITALS_BIN:-$ROOT/.build/release/vitals}
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

[[ -x $VITALS ]] || { log "swift build -c release"; swift build -c release --product vitals >/dev/null; }
bash demo/run-app.sh setup >/dev/null
SERVERS="$OUT/servers"
bash scripts/test-servers.sh start "$SERVERS" >/dev/null
# shellcheck source=/dev/null
source "$SERVERS/env.sh"
APP_PID=
VITALS_PID=
cleanup() {
  [[ -n $VITALS_PID ]] && kill "$VITALS_PID" 2>/dev/null || true
  [[ -n $APP_PID ]] && kill "$APP_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  bash scripts/test-servers.sh stop "$SERVERS" >/dev/null 2>&1 || true
}
trap cleanup EXIT

APP_PORT=$(free_port)
export DEMO_APP_PORT=$APP_PORT DEMO_APP_LOG="$OUT/app.log" DEMO_APP_BLOCKING_EVERY=1 DEMO_APP_ASYNCIO_DEBUG=0

RESULTS="$OUT/results.md"
echo "| block | probe interval | blocks seen | app CPU ms/s | probe's cost ms/s |" >"$RESULTS"
echo "|---|---|---|---|---|" >>"$RESULTS"
for block in 0.1 0.3; do
  export DEMO_APP_BLOCKING_SECONDS=$block
  bash demo/run-app.sh serve >"$OUT/app.stderr" 2>&1 &
  APP_PID=$!
  bash demo/run-app.sh wait 120 >/dev/null
  UVICORN=$APP_PID  # run-app.sh serve execs uvicorn
  baseline=
  for interval in off 1s 250ms 100ms 50ms; do
    VITALS_PORT=$(free_port)
    probe=()
    [[ $interval == off ]] || probe=(--app-probe.url "http://127.0.0.1:$APP_PORT/health" --app-probe.interval "$interval")
    "$VITALS" --web.listen-address "127.0.0.1:$VITALS_PORT" --log.level warn --findings.enabled=false "${probe[@]}" \
      >"$OUT/vitals.log" 2>&1 &
    VITALS_PID=$!
    for _ in $(seq 50); do curl -fs "http://127.0.0.1:$VITALS_PORT/metrics" >/dev/null && break; sleep 0.1; done
    sleep 2
    row=$(python3 - "$UVICORN" "$APP_PORT" "$VITALS_PORT" "$block" "$SECONDS_PER_RUN" "$interval" <<'PY'
import os, random, sys, time, urllib.request
pid, app, vitals, block, seconds, interval = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
tick = os.sysconf("SC_CLK_TCK")
def cpu():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / tick
def slow_probes():
    # Probes that measured at least half the block: the count above the largest bound under it.
    text = urllib.request.urlopen(f"http://127.0.0.1:{vitals}/metrics", timeout=5).read().decode()
    count, below = 0.0, 0.0
    best = -1.0
    for line in text.splitlines():
        if line.startswith("app_probe_duration_seconds_count"):
            count = float(line.split()[-1])
        elif line.startswith("app_probe_duration_seconds_bucket"):
            le = line.split('le="')[1].split('"')[0]
            if le != "+Inf" and best < float(le) <= block / 2:
                best, below = float(le), float(line.split()[-1])
    return count - below
random.seed(1)
start_cpu, start = cpu(), time.monotonic()
seen = blocks = 0
for n in range(seconds):
    time.sleep(random.random() * 0.5)
    before = slow_probes() if interval != "off" else 0
    urllib.request.urlopen(f"http://127.0.0.1:{app}/reports/{4 * (n % 50 + 1)}", timeout=10).read()
    blocks += 1
    time.sleep(max(1.0, 2 * block))
    if interval != "off" and slow_probes() > before:
        seen += 1
wall = time.monotonic() - start
# The blocks' own CPU (time.sleep costs none) is left in: the same in every run.
print(f"{seen}/{blocks}" if interval != "off" else "–", f"{(cpu() - start_cpu) * 1000 / wall:.2f}")
PY
)
    kill "$VITALS_PID"; wait "$VITALS_PID" 2>/dev/null || true; VITALS_PID=
    seen=${row% *}; cpu=${row#* }
    [[ -n $baseline ]] || baseline=$cpu
    cost=$(python3 -c "print(f'{$cpu - $baseline:+.2f}')")
    echo "| $(python3 -c "print(int($block*1000))") ms | $interval | $seen | $cpu | $cost |" | tee -a "$RESULTS" >&2
  done
  kill "$APP_PID"; wait "$APP_PID" 2>/dev/null || true; APP_PID=
done
cat "$RESULTS"
