#!/usr/bin/env bash
# What the findings cost on a busy statement log, and how soon a problem becomes a finding.
#
#   bash bench/findings.sh [STATEMENTS] [RUNS]     # default 1,000,000 statements, 3 runs
#   VITALS_BIN=path/to/release/vitals bash bench/findings.sh
#
# 1. Cost. A Postgres stderr log as `log_min_duration_statement = 0` writes it (prefix
#    '%m [%p] %v ', 40 backends, a mix of statements, one route in ten running an N+1 of 20
#    lookups tagged by sqlcommenter) is read whole by `vitals replay --slow-query.log-path`, with
#    the findings on (N+1 bursts: every statement is fingerprinted) and off (only statements over
#    the threshold are), and by pgBadger (-j 1, the tool vitals replaces for this log), in the
#    same run. Per tool: wall seconds, CPU seconds, statements per second of wall time.
# 2. Time to finding. A live vitals with its default findings settings (15 s interval, 5 m
#    window) follows an empty log; at t0 a writer starts appending N+1 bursts; the delay until
#    /findings names the N+1 is measured, 3 times.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
STATEMENTS=${1:-1000000}
RUNS=${2:-3}
OUT="$ROOT/bench/out/findings"
VITALS=${VITALS_BIN:-$ROOT/.build/release/vitals}
mkdir -p "$OUT"
# shellcheck source=bench/lib.sh
source bench/lib.sh

for package in pgbadger; do
  command -v "$package" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y "$package" >/dev/null
done
[[ -x /usr/bin/time ]] || DEBIAN_FRONTEND=noninteractive apt-get install -y time >/dev/null
[[ -n ${VITALS_BIN:-} ]] || { log "swift build -c release"; swift build -c release >/dev/null; }

LOG="$OUT/postgresql.log"
PREFIX='%m [%p] %v '
# The generator: a statement per line, time advancing 50 µs per statement, backends round-robin
# in requests of 3 to 25 statements; an N+1 request runs 20 lookups of one shape.
python3 - "$STATEMENTS" "$LOG" <<'PY'
import random, sys, datetime
total, path = int(sys.argv[1]), sys.argv[2]
random.seed(7)
start = datetime.datetime(2026, 12, 3, 12, 0, 0)
shapes = [
    "SELECT id, name, price FROM markets WHERE id = {n}",
    "SELECT * FROM users WHERE email = 'user{n}@example.com'",
    "UPDATE sessions SET seen_at = now() WHERE id = {n}",
    "INSERT INTO orders (user_id, market_id, qty) VALUES ({n}, {m}, 3)",
    "SELECT count(*) FROM orders WHERE user_id = {n} AND created_at > now() - interval '1 day'",
]
tag = "/*framework='fastapi',route='%2Fmarkets%2F%7Bid%7D'*/"
written, tick, vxid = 0, 0, 0
with open(path, "w") as out:
    while written < total:
        pid = 4000 + random.randrange(40)
        vxid += 1
        nplus = random.random() < 0.1
        count = 21 if nplus else random.randint(3, 25)
        for i in range(count):
            if written >= total:
                break
            t = start + datetime.timedelta(microseconds=50 * tick)
            tick += 1
            if nplus and i > 0:
                text = f"SELECT * FROM outcomes WHERE id = {random.randrange(10**6)} {tag}"
            else:
                text = random.choice(shapes).format(n=random.randrange(10**6), m=random.randrange(1000))
            out.write(f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [{pid}] 3/{vxid} LOG:  duration: {random.uniform(0.02, 2):.3f} ms  statement: {text}\n")
            written += 1
PY
BYTES=$(stat -c %s "$LOG")
log "log: $STATEMENTS statements, $((BYTES / 1048576)) MiB"

measure() { # NAME CMD... -> appends "NAME wall cpu" to $RESULTS
  local name=$1; shift
  /usr/bin/time -o "$OUT/$name.time" -f '%e %U %S' "$@" >/dev/null 2>"$OUT/$name.err"
  awk -v n="$name" '{printf "%s %.3f %.3f\n", n, $1, $2 + $3}' "$OUT/$name.time" >>"$RESULTS"
}

RESULTS="$OUT/runs.txt"
: >"$RESULTS"
REPLAY=("$VITALS" replay --slow-query.log-path "$LOG" --slow-query.log-line-prefix "$PREFIX" --slow-query.output none)
for run in $(seq 1 "$RUNS"); do
  log "run $run of $RUNS"
  measure "vitals_findings_on" "${REPLAY[@]}"
  measure "vitals_findings_off" "${REPLAY[@]}" --findings.enabled=false
  measure "pgbadger" pgbadger -j 1 -q -f stderr --prefix "$PREFIX" -o "$OUT/pgbadger.html" "$LOG"
done
"${REPLAY[@]}" | grep -E '^pg_n_plus_one_bursts_total' | head -3 >"$OUT/bursts.txt" || true

echo "$(nproc) cores; $STATEMENTS statements ($((BYTES / 1048576)) MiB), $RUNS runs; median (min – max)."
echo
python3 - "$RESULTS" "$STATEMENTS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
n = int(sys.argv[2])
def cell(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))} – {fmt.format(max(values))})"
print("| reader | wall s | CPU s | statements/s |")
print("|---|---|---|---|")
for name in ("vitals_findings_on", "vitals_findings_off", "pgbadger"):
    v = [(float(w), float(c)) for k, w, c in rows if k == name]
    print(f"| {name} | {cell([x[0] for x in v], '{:.2f}')} | {cell([x[1] for x in v], '{:.2f}')} | {cell([n / x[0] for x in v], '{:,.0f}')} |")
PY
echo
echo "N+1 bursts found (first series): $(head -n1 "$OUT/bursts.txt")"

# 2. Time to finding, live.
LIVE="$OUT/live.log"
DELAYS=()
for run in $(seq 1 3); do
  : >"$LIVE"
  port=$(free_port)
  "$VITALS" --web.listen-address "127.0.0.1:$port" --log.level warn --slow-query.log-path "$LIVE" \
    --slow-query.log-line-prefix "$PREFIX" >"$OUT/live-vitals.log" 2>&1 &
  vpid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && break; sleep 0.1; done
  sleep "$((RANDOM % 10))"  # start the problem at a random point of the findings' 15 s cycle
  python3 - "$LIVE" <<'PY' &
import sys, time, datetime
path, vxid = sys.argv[1], 0
tag = "/*route='%2Fmarkets%2F%7Bid%7D'*/"
with open(path, "a", buffering=1) as out:
    while True:
        vxid += 1
        for i in range(20):
            t = datetime.datetime.now(datetime.timezone.utc)
            out.write(f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} UTC [4242] 3/{vxid} LOG:  duration: 0.050 ms  statement: SELECT * FROM outcomes WHERE id = {i} {tag}\n")
        time.sleep(0.2)
PY
  wpid=$!
  t0=$(date +%s.%N)
  until curl -s "http://127.0.0.1:$port/findings" | grep -q '"kind":"n_plus_one"'; do sleep 0.25; done
  t1=$(date +%s.%N)
  DELAYS+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", b - a}')")
  kill "$wpid" "$vpid"; wait "$wpid" "$vpid" 2>/dev/null || true
done
echo "Time from the first N+1 burst to its finding (default 15 s interval): ${DELAYS[*]} s."
