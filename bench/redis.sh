#!/usr/bin/env bash
# Redis source benchmark: vitals vs redis_exporter (Debian 1.45.0) against one private redis-server.
#
#   bash bench/redis.sh            # release build of vitals must exist (swift build -c release)
#   SCRAPES=50 PASS_WINDOW=10 bash bench/redis.sh
#
# For each tool: scrape latency (median, p90 over $SCRAPES scrapes), CPU per scrape
# (/proc/PID/stat utime+stime delta / scrapes), RSS, and the commands each sends to Redis
# (INFO commandstats deltas after CONFIG RESETSTAT). vitals collects on an interval, decoupled
# from scrapes, so it is also measured per collection pass (redis.interval 1s over $PASS_WINDOW s).
# Prints markdown to stdout. Nothing printed contains the password.
set -euo pipefail
cd "$(dirname "$0")/.."

SCRAPES=${SCRAPES:-50}
PASS_WINDOW=${PASS_WINDOW:-10}
VITALS=${VITALS:-.build/release/vitals}
[[ -x $VITALS ]] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "redis-server missing (apt-get install redis-server)" >&2; exit 1; }
if ! command -v prometheus-redis-exporter >/dev/null; then
  apt-get install -y prometheus-redis-exporter >/dev/null
fi

# shellcheck source=bench/lib.sh
source bench/lib.sh
WORK=$(mktemp -d)
REDIS_PORT=$(free_port); EXPORTER_PORT=$(free_port); VITALS_PORT=$(free_port)
PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  REDISCLI_AUTH=$PASSWORD redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --requirepass "$PASSWORD" --save "" --appendonly no \
  --dir "$WORK" --daemonize yes --pidfile "$WORK/redis.pid" --logfile "$WORK/redis.log" \
  --latency-monitor-threshold 10 --slowlog-log-slower-than 10000 >/dev/null
export REDISCLI_AUTH=$PASSWORD
R() { redis-cli -p "$REDIS_PORT" "$@"; }
for _ in $(seq 50); do [[ $(R ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
# 400 keys, a few reads and misses: the same shape as the reference figures (exporters.md §4).
for i in $(seq 1 400); do echo "SET key:$i value-$i"; done | R >/dev/null
for i in $(seq 1 100); do echo "GET key:$i"; echo "GET nokey:$i"; done | R >/dev/null

clk_tck=$(getconf CLK_TCK)

# Commands per tool from INFO commandstats, minus the benchmark's own CONFIG RESETSTAT and the AUTH
# redis-cli sends before this INFO.
commands_since_reset() {
  R info commandstats | tr -d '\r' | awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_config|resetstat" {
    sub("cmdstat_", "", $1); if ($1 == "auth") $3 -= 1; if ($3 == 0) next
    total += $3; list = list sprintf("%s %s, ", $1, $3) } END { printf "%d|%s\n", total, list }'
}

scrape_stats() { # scrape_stats URL -> "median p90" in ms
  local url=$1 times=()
  for _ in $(seq "$SCRAPES"); do times+=("$(curl -s -o /dev/null -w '%{time_total}' "$url")"); done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1*1000} END {printf "%.2f %.2f\n", a[int((NR+1)/2)], a[int(NR*0.9+0.5)]}'
}

measure_scrapes() { # measure_scrapes NAME PID URL
  local name=$1 pid=$2 url=$3
  curl -s -o /dev/null "$url"  # warm up
  R config resetstat >/dev/null
  local before; before=$(cpu_ticks "$pid")
  read -r median p90 < <(scrape_stats "$url")
  local after; after=$(cpu_ticks "$pid")
  local commands; commands=$(commands_since_reset)
  local samples; samples=$(curl -s "$url" | grep -vc '^#')
  local bytes; bytes=$(curl -s "$url" | wc -c)
  local cpu_ms; cpu_ms=$(awk -v d=$((after - before)) -v t="$clk_tck" -v n="$SCRAPES" 'BEGIN {printf "%.2f", d * 1000 / t / n}')
  local per_scrape; per_scrape=$(awk -v c="${commands%%|*}" -v n="$SCRAPES" 'BEGIN {printf "%.1f", c / n}')
  echo "| $name | $median | $p90 | $cpu_ms | $(( $(rss_kib "$pid") / 1024 )) | $samples / $((bytes / 1024)) KiB | $per_scrape | ${commands#*|} |"
}

start_vitals() { # start_vitals INTERVAL: starts vitals, sets VITALS_PID, waits for redis_up 1
  REDIS_PASSWORD=$PASSWORD "$VITALS" --web.listen-address "127.0.0.1:$VITALS_PORT" --redis.addr "redis://127.0.0.1:$REDIS_PORT" \
    --redis.interval "$1" >"$WORK/vitals.log" 2>&1 &
  VITALS_PID=$!; PIDS+=("$VITALS_PID")
  for _ in $(seq 100); do curl -sf "127.0.0.1:$VITALS_PORT/metrics" | grep -q '^redis_up 1' && return; sleep 0.1; done
}

# Both read the password from REDIS_PASSWORD, so it never shows in ps. One tool runs at a time.
REDIS_PASSWORD=$PASSWORD prometheus-redis-exporter --redis.addr "redis://127.0.0.1:$REDIS_PORT" \
  --web.listen-address "127.0.0.1:$EXPORTER_PORT" >"$WORK/exporter.log" 2>&1 &
EXPORTER_PID=$!; PIDS+=("$EXPORTER_PID")
for _ in $(seq 100); do curl -sf "127.0.0.1:$EXPORTER_PORT/metrics" | grep -q '^redis_up 1' && break; sleep 0.1; done
exporter_version=$(prometheus-redis-exporter --version 2>&1 | grep -o 'Exporter [0-9.]*' | awk '{print $2}')

echo "## Scrapes ($SCRAPES each, same redis-server $(redis-server --version | awk '{print $3}'), 400 keys)"
echo
echo "| tool | median ms | p90 ms | CPU ms/scrape | RSS MiB | samples / size | Redis commands per scrape | commands (total over the run) |"
echo "|---|---|---|---|---|---|---|---|"
measure_scrapes "redis_exporter $exporter_version" "$EXPORTER_PID" "http://127.0.0.1:$EXPORTER_PORT/metrics"
kill "$EXPORTER_PID"
# Default 15 s interval: the scrape window (well under a second) normally holds no collection pass.
start_vitals 15s
sleep 1
measure_scrapes "vitals (scrapes only; collection every 15 s, decoupled)" "$VITALS_PID" "http://127.0.0.1:$VITALS_PORT/metrics"
kill "$VITALS_PID"; wait "$VITALS_PID" 2>/dev/null || true

echo
echo "## vitals collection passes (redis.interval 1s, ${PASS_WINDOW}s, no scrapes)"
echo
start_vitals 1s
sleep 1.5
R config resetstat >/dev/null
before=$(cpu_ticks "$VITALS_PID")
sleep "$PASS_WINDOW"
after=$(cpu_ticks "$VITALS_PID")
commands=$(commands_since_reset)
# One INFO per pass (read from the same INFO reply, so the benchmark's own INFO is not counted).
passes=$(awk -F'[ ,]' '{for (i = 1; i <= NF; i++) if ($i == "info") print $(i + 1)}' <<<"${commands#*|}")
echo "| passes | CPU ms/pass | Redis commands per pass | commands | RSS MiB |"
echo "|---|---|---|---|---|"
awk -v d=$((after - before)) -v t="$clk_tck" -v p="$passes" -v c="${commands%%|*}" -v l="${commands#*|}" -v r=$(( $(rss_kib "$VITALS_PID") / 1024 )) \
  'BEGIN {printf "| %d | %.2f | %.1f | %s | %d |\n", p, d * 1000 / t / p, c / p, l, r}'
