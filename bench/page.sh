#!/usr/bin/env bash
# What the page costs: one build, two processes side by side in the same run, one with the page
# and one with --page.enabled=false, both tailing the same live timing log of ROUTES distinct
# routes (default 200, the default route cap) at 200 requests/s:
#
#   bash bench/page.sh [RUNS] [SECONDS] [ROUTES]          # VITALS_BIN=.build/release/vitals
#
# Both run findings every second (--findings.interval 1s, 15 times the default rate, so the
# page's per-interval work shows) with --page.history 5m, so the ring (300 points × 20 routes)
# is full well within the run. Per process: CPU time per second of wall time (schedstat, all
# threads) and RSS at the end; then the cost of rendering, on the page-on process: GET / and
# GET /api/summary timed with curl (wall time, 50 times each), and the CPU vitals spends per
# request: its CPU time over 50 more sequential GETs, less its background CPU over that wall time
# (the rate measured over a quiet period of the same length just before, with no requests),
# divided by 50. Prints median (min – max) as markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-3}
SECONDS_PER_RUN=${2:-360}
ROUTES=${3:-200}
VITALS=${VITALS_BIN:-$ROOT/.build/release/vitals}
OUT="$ROOT/bench/out/page"
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
}
trap cleanup EXIT


# A Starlette timing log, ROUTES routes, 200 lines a second, latencies from 1 to 400 ms.
writer() {
  exec python3 - "$1" "$ROUTES" <<'PY'
import random, sys, time, datetime
path, routes = sys.argv[1], int(sys.argv[2])
rng = random.Random(1)
with open(path, "a", buffering=1) as f:
    while True:
        start = time.monotonic()
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        for _ in range(20):
            route = rng.randrange(routes)
            ms = rng.lognormvariate(3, 1) % 400 + 1
            f.write(f"{now} INFO app.middleware.timing GET /r{route}/{rng.randrange(1000)} completed in {ms:.1f}ms\n")
        time.sleep(max(0, 0.1 - (time.monotonic() - start)))
PY
}

# CPU milliseconds the process PID spends per GET of URL: its CPU over N sequential GETs, less its
# background CPU over the same wall time, the rate taken over a quiet period of QUIET_NS
# nanoseconds just before (no requests), divided by N.
cpu_per_get() { # PID URL N QUIET_NS
  local pid=$1 url=$2 n=$3 quiet_ns=$4 c0 t0 quiet_cpu quiet_wall
  c0=$(cpu_ns "$pid"); t0=$(date +%s%N)
  sleep "$(awk -v ns="$quiet_ns" 'BEGIN {printf "%.3f", ns / 1e9}')"
  quiet_cpu=$(($(cpu_ns "$pid") - c0)); quiet_wall=$(($(date +%s%N) - t0))
  c0=$(cpu_ns "$pid"); t0=$(date +%s%N)
  for _ in $(seq 1 "$n"); do curl -s -o /dev/null "$url"; done
  awk -v used=$(($(cpu_ns "$pid") - c0)) -v wall=$(($(date +%s%N) - t0)) -v qc="$quiet_cpu" -v qw="$quiet_wall" \
    -v n="$n" -v url="$url" 'BEGIN {
      rate = qc / qw; printf "%.2f\n", (used - rate * wall) / n / 1e6
      printf "bench: %d x %s in %.2f s: %.1f ms CPU, background %.2f ms per s\n", n, url, wall / 1e9, used / 1e6, rate * 1e3 > "/dev/stderr"
    }'
}

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
for run in $(seq 1 "$RUNS"); do
  LOG="$OUT/timing.log"
  : >"$LOG"
  writer "$LOG" &
  PIDS+=($!)
  declare -A pid port
  for config in on off; do
    p=$(free_port)
    enabled=true
    [[ $config == off ]] && enabled=false
    "$VITALS" --web.listen-address "127.0.0.1:$p" --log.level warn --timing-log.path "$LOG" --event-loop.interval 0 \
      --findings.interval 1s --findings.window 30s --page.history 5m "--page.enabled=$enabled" >>"$OUT/vitals.log" 2>&1 &
    pid[$config]=$!
    port[$config]=$p
    PIDS+=($!)
  done
  sleep 3
  declare -A start
  for config in on off; do start[$config]=$(cpu_ns "${pid[$config]}"); done
  sleep "$SECONDS_PER_RUN"
  for config in on off; do
    used=$(($(cpu_ns "${pid[$config]}") - start[$config]))
    echo "$config cpu_ms_per_s $(awk -v n="$used" -v s="$SECONDS_PER_RUN" 'BEGIN {printf "%.2f", n / 1e6 / s}')" >>"$RESULTS"
    echo "$config rss_mib $(awk -v k="$(rss_kib "${pid[$config]}")" 'BEGIN {printf "%.1f", k / 1024}')" >>"$RESULTS"
  done
  for path in / /api/summary; do
    t0=$(date +%s%N)
    for _ in $(seq 1 50); do
      curl -s -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:${port[on]}$path"
    done | sort -n | awk -v path="$path" '{a[NR]=$1} END {printf "render%s_ms %.2f\n", path, a[int((NR+1)/2)]*1000}' >>"$RESULTS"
    # The quiet period lasts as long as the 50 GETs just timed.
    echo "cpu_per_get${path}_ms $(cpu_per_get "${pid[on]}" "http://127.0.0.1:${port[on]}$path" 50 $(($(date +%s%N) - t0)))" >>"$RESULTS"
  done
  curl -s "http://127.0.0.1:${port[on]}/" >"$OUT/page.html"
  curl -s "http://127.0.0.1:${port[on]}/api/summary" >"$OUT/summary.json"
  echo "on page_kib $(($(wc -c <"$OUT/page.html") / 1024))" >>"$RESULTS"
  echo "on summary_kib $(($(wc -c <"$OUT/summary.json") / 1024))" >>"$RESULTS"
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  log "run $run done"
done

python3 - "$RESULTS" <<'PY'
import collections, statistics, sys
values = collections.defaultdict(list)
for line in open(sys.argv[1]):
    parts = line.split()
    key = (parts[0], parts[1]) if len(parts) == 3 else ("on", parts[0])
    values[key].append(float(parts[-1]))
def cell(key):
    v = values.get(key)
    return "–" if not v else f"{statistics.median(v):g} ({min(v):g} – {max(v):g})"
print("| | page on | page off |\n|---|---|---|")
for metric, label in [("cpu_ms_per_s", "CPU, ms per s"), ("rss_mib", "RSS at the end, MiB")]:
    print(f"| {label} | {cell(('on', metric))} | {cell(('off', metric))} |")
for metric, label in [("render/_ms", "GET / (curl, median of 50), ms"), ("render/api/summary_ms", "GET /api/summary, ms"),
                      ("cpu_per_get/_ms", "CPU ms per GET /"), ("cpu_per_get/api/summary_ms", "CPU ms per GET /api/summary"),
                      ("page_kib", "page size, KiB"), ("summary_kib", "summary size, KiB")]:
    print(f"| {label} | {cell(('on', metric))} | |")
PY
