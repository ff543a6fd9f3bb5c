#!/usr/bin/env bash
# Per-format ingest: `vitals replay` on LINES generated lines of each built-in timing-log format.
#
#   bash bench/ingest-formats.sh                       # 200,000 lines per format, 3 runs each
#   LINES=1000000 RUNS=5 VITALS_BIN=.build/release/vitals bash bench/ingest-formats.sh
#
# Environment:
#   LINES=N        lines per format (default 200000; bench/gen-format-lines.py, seed 1)
#   RUNS=N         timed runs per format after one untimed warm-up (default 3)
#   VITALS_BIN     the binary (default .build/release/vitals, else .build/debug/vitals; the report says which)
#
# Every run's output must count every line as parsed, or the script fails. Writes the report to
# bench/out/ingest-formats.md (also printed): median (min – max) lines/s of wall time and lines per
# CPU-second (user + sys, /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."

LINES=${LINES:-200000}
RUNS=${RUNS:-3}
OUT=bench/out
mkdir -p "$OUT"
if [[ -z ${VITALS_BIN:-} ]]; then
  if [[ -x .build/release/vitals ]]; then VITALS_BIN=.build/release/vitals; else VITALS_BIN=.build/debug/vitals; fi
fi
[[ -x $VITALS_BIN ]] || { echo "no vitals binary at $VITALS_BIN" >&2; exit 1; }
BUILD=$([[ $VITALS_BIN == *release* ]] && echo release || echo debug)

median() { sort -g | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s %s %s\n", m, a[1], a[NR]}'; }

REPORT="$OUT/ingest-formats.md"
{
  echo "| format | bytes/line | lines/s (wall) | lines per CPU-s | vs starlette per CPU-s |"
  echo "|---|---|---|---|---|"
} >"$REPORT"
base=""
for format in starlette nginx nginx-upstream gunicorn apache caddy traefik haproxy envoy alb heroku json; do
  log="$OUT/format-$format-$LINES.log"
  [[ -s $log && ! bench/gen-format-lines.py -nt $log ]] || python3 bench/gen-format-lines.py "$format" "$LINES" 1 >"$log"
  args=(--timing-log.format "$format")
  [[ $format == nginx-upstream ]] && args=(--timing-log.format nginx --timing-log.nginx.upstream-time logged)
  "$VITALS_BIN" replay "${args[@]}" "$log" >"$OUT/format-$format.out"
  parsed=$(awk '/^vitals_log_lines_total\{.*result="parsed"/ {print $2}' "$OUT/format-$format.out")
  [[ $parsed == "$LINES" ]] || { echo "$format: $parsed of $LINES lines parsed" >&2; exit 1; }
  walls=(); cpus=()
  for _ in $(seq "$RUNS"); do
    read -r wall user sys < <( { /usr/bin/time -f '%e %U %S' "$VITALS_BIN" replay "${args[@]}" "$log" >/dev/null; } 2>&1 | tail -n 1)
    walls+=("$(awk -v n="$LINES" -v t="$wall" 'BEGIN {printf "%.0f", n / (t > 0 ? t : 0.01)}')")
    cpus+=("$(awk -v n="$LINES" -v u="$user" -v s="$sys" 'BEGIN {t = u + s; printf "%.0f", n / (t > 0 ? t : 0.01)}')")
  done
  read -r wm wl wh < <(printf '%s\n' "${walls[@]}" | median)
  read -r cm cl ch < <(printf '%s\n' "${cpus[@]}" | median)
  [[ -n $base ]] || base=$cm
  bytes=$(( $(stat -c %s "$log") / LINES ))
  ratio=$(awk -v c="$cm" -v b="$base" 'BEGIN {printf "%.2f", c / b}')
  echo "| $format | $bytes | $wm ($wl – $wh) | $cm ($cl – $ch) | ${ratio}× |" >>"$REPORT"
done
{
  echo
  echo "$LINES lines per format, $RUNS runs each after a warm-up; $BUILD build ($VITALS_BIN) at $(git rev-parse --short HEAD); $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)."
} >>"$REPORT"
cat "$REPORT"
