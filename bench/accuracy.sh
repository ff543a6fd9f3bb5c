#!/usr/bin/env bash
# Percentile accuracy: vitals' default buckets against mtail with Prometheus'
# default buckets (what a user of mtail or client_golang gets without tuning),
# both on the same generated 1,000,000-line log, checked against its truth.
#
#   bash bench/accuracy.sh        (after bench/ingest.sh, which makes the log)
set -euo pipefail
cd "$(dirname "$0")/.."
LINES=${LINES:-1000000}
OUT=bench/out
LOG="$OUT/timing-${LINES}-seed1.log"
TRUTH="$OUT/timing-${LINES}-seed1.truth.json"
VITALS_BIN=${VITALS_BIN:-.build/release/vitals}
[[ -f $LOG ]] || python3 scripts/gen-timing-log.py "$LINES" 1 --truth "$TRUTH" >"$LOG" 2>/dev/null
"$VITALS_BIN" replay --timing-log.format starlette "$LOG" >"$OUT/accuracy-vitals.prom"
sed 's/ buckets .*$/ buckets 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10/' bench/timing.mtail >"$OUT/timing-default-buckets.mtail"
mtail --one_shot --one_shot_format prometheus --logtostderr --progs "$OUT/timing-default-buckets.mtail" --logs "$LOG" \
  2>/dev/null | sed 's/,prog="[^"]*"//; s/{prog="[^"]*",/{/' >"$OUT/accuracy-mtail.prom"
python3 bench/accuracy.py "$TRUTH" "vitals=$OUT/accuracy-vitals.prom" "mtail-default-buckets=$OUT/accuracy-mtail.prom" | tee "$OUT/accuracy.md"
[[ -n ${SKIP_NATIVE:-} ]] || python3 bench/native-accuracy.py "$VITALS_BIN" "$LOG" "$TRUTH" | tee "$OUT/native-accuracy.md"
