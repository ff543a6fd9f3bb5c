#!/usr/bin/env bash
# Postgres source benchmark: vitals (release build) vs Debian's postgres_exporter 0.11.1,
# against the same private PostgreSQL 15 in the same run.
#
#   bash bench/postgres.sh [SCRAPES]      # default 50 scrapes per measurement
#
# For each scenario (defaults; 2,000 extra tables) and each exporter it measures:
#   - scrape latency: median and p90 of SCRAPES sequential scrapes (curl time_total)
#   - CPU per scrape: utime+stime delta from /proc/PID/stat over the scrapes / SCRAPES
#   - RSS after the scrapes (VmRSS), and the response size and sample count
# and, for vitals only (it collects on an interval, decoupled from scrapes):
#   - CPU per collection pass: a second vitals with interval = slow-interval = 1s runs
#     PASS_SECONDS without any scrape; its CPU delta / passes run (fast + slow pass each time)
#   - the wall time of one pass, from vitals' own pg_scrape_collector_duration_seconds.
# postgres_exporter runs with its defaults in the first scenario and with Debian's example
# queries.yaml (per-table queries, what the reference figure used) in the 2,000-table one.
# Output: a markdown table on stdout; servers and logs under bench/out/ (gitignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SCRAPES=${1:-50}
PASS_SECONDS=${PASS_SECONDS:-20}
OUT="$ROOT/bench/out/postgres"
TEST_SERVERS=${TEST_SERVERS:-$ROOT/scripts/test-servers.sh}
[[ -f $TEST_SERVERS ]] || TEST_SERVERS=/work/main/scripts/test-servers.sh
mkdir -p "$OUT"

# shellcheck source=bench/lib.sh
source bench/lib.sh

if ! command -v prometheus-postgres-exporter >/dev/null 2>&1; then
  log "installing prometheus-postgres-exporter"
  DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus-postgres-exporter >/dev/null
fi
EXPORTER=$(command -v prometheus-postgres-exporter)
QUERIES=/usr/share/doc/prometheus-postgres-exporter/examples/queries.yaml
if [[ -f $QUERIES.gz ]]; then zcat "$QUERIES.gz" >"$OUT/queries.yaml"; QUERIES="$OUT/queries.yaml"; fi

log "swift build -c release"
swift build -c release >/dev/null
VITALS="$ROOT/.build/release/vitals"

PIDS=()
cleanup() {
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  bash "$TEST_SERVERS" stop "$OUT/servers" >/dev/null 2>&1
}
trap cleanup EXIT

bash "$TEST_SERVERS" start "$OUT/servers" >/dev/null 2>&1
# shellcheck source=/dev/null
source "$OUT/servers/env.sh"
DSN=$VITALS_TEST_PG_DSN
SU=$VITALS_TEST_PG_SUPERUSER_DSN
TICKS=$(getconf CLK_TCK)

rss_mib() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

# measure NAME PID URL → one markdown row
measure() {
  local name=$1 pid=$2 url=$3 before after times body
  curl -sf "$url" >/dev/null  # warm-up
  before=$(cpu_ticks "$pid")
  times=$(for _ in $(seq 1 "$SCRAPES"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n)
  after=$(cpu_ticks "$pid")
  body=$(curl -s "$url")
  local median p90 cpu samples bytes
  median=$(echo "$times" | awk -v n="$SCRAPES" 'NR == int((n + 1) / 2) {printf "%.1f", $1 * 1000}')
  p90=$(echo "$times" | awk -v n="$SCRAPES" 'NR == int(n * 0.9 + 0.5) {printf "%.1f", $1 * 1000}')
  cpu=$(awk -v a="$before" -v b="$after" -v t="$TICKS" -v n="$SCRAPES" 'BEGIN {printf "%.2f", (b - a) * 1000 / t / n}')
  samples=$(echo "$body" | grep -vc '^#')
  bytes=$(echo "$body" | wc -c)
  echo "| $name | $median | $p90 | $cpu | $(rss_mib "$pid") | $samples | $bytes |"
}

# vitals_cpu_per_second ARGS... → CPU ms per second of a vitals with those flags, no scrapes
# (after the first passes), and the summed collector wall time of its last passes in ms
vitals_cpu_per_second() {
  local port pid before after wall
  port=$(free_port)
  "$VITALS" --web.listen-address "127.0.0.1:$port" --log.level warn "$@" >"$OUT/vitals-pass.log" 2>&1 &
  pid=$!
  wait_for "http://127.0.0.1:$port/health" 'OK' >/dev/null
  sleep 3
  before=$(cpu_ticks "$pid")
  sleep "$PASS_SECONDS"
  after=$(cpu_ticks "$pid")
  # fast collectors' wall time, then the slow ones' (settings, database, stat_user_tables), in ms
  wall=$(curl -s "http://127.0.0.1:$port/metrics" | awk '/^pg_scrape_collector_duration_seconds/ {
      if ($0 ~ /"(settings|database|stat_user_tables)"/) slow += $2; else fast += $2 }
      END {printf "%.1f %.1f", fast * 1000, slow * 1000}')
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(awk -v a="$before" -v b="$after" -v t="$TICKS" -v n="$PASS_SECONDS" 'BEGIN {printf "%.2f", (b - a) * 1000 / t / n}') ${wall:-0 0}"
}

# vitals_pass_cost LABEL → one row: CPU ms per fast pass and per fast+slow pass, net of idle
vitals_pass_cost() {
  local idle fast both fast_wall slow_wall
  read -r idle _ _ < <(vitals_cpu_per_second)
  read -r fast _ _ < <(vitals_cpu_per_second --postgres.dsn "$DSN" --postgres.interval 1s --postgres.slow-interval 1h)
  read -r both fast_wall slow_wall < <(vitals_cpu_per_second --postgres.dsn "$DSN" --postgres.interval 1s --postgres.slow-interval 1s)
  awk -v l="$1" -v i="$idle" -v f="$fast" -v b="$both" -v fw="$fast_wall" -v sw="$slow_wall" 'BEGIN {
    printf "| %s | %.2f | %.2f | %.2f | %.1f | %.1f |\n", l, i, f - i, b - f, fw, sw }'
}

run_scenario() { # LABEL EXPORTER_EXTRA_ARGS...
  local label=$1; shift
  local vport eport vpid epid
  vport=$(free_port); eport=$(free_port)
  "$VITALS" --web.listen-address "127.0.0.1:$vport" --log.level warn --postgres.dsn "$DSN" >"$OUT/vitals.log" 2>&1 &
  vpid=$!; PIDS+=("$vpid")
  DATA_SOURCE_NAME=$DSN "$EXPORTER" --web.listen-address "127.0.0.1:$eport" --log.level=warn "$@" >"$OUT/exporter.log" 2>&1 &
  epid=$!; PIDS+=("$epid")
  wait_for "http://127.0.0.1:$vport/metrics" 'pg_stat_user_tables_seq_scan\|pg_settings_max_connections' >/dev/null
  wait_for "http://127.0.0.1:$eport/metrics" 'pg_up 1' >/dev/null
  sleep 1
  measure "vitals, $label" "$vpid" "http://127.0.0.1:$vport/metrics"
  measure "postgres_exporter 0.11.1, $label" "$epid" "http://127.0.0.1:$eport/metrics"
  kill "$vpid" "$epid"; wait "$vpid" "$epid" 2>/dev/null || true
}

echo "PostgreSQL: $(psql -XAtc 'SHOW server_version' "$SU"), $SCRAPES scrapes per row, $(nproc) cores"
echo
echo "| exporter, scenario | median ms | p90 ms | CPU ms/scrape | RSS MiB | samples | bytes |"
echo "|---|---|---|---|---|---|---|"
run_scenario "defaults"
log "creating 2,000 tables"
psql -XqAt "$SU" -v ON_ERROR_STOP=1 >/dev/null <<'SQL'
SELECT format('CREATE TABLE IF NOT EXISTS bench_t%s (id int PRIMARY KEY, v text); INSERT INTO bench_t%s VALUES (1, ''x'') ON CONFLICT DO NOTHING;', g, g)
FROM generate_series(1, 2000) g \gexec
SQL
psql -XqAt "$SU" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO vitals" >/dev/null
psql -XqAt "$SU" -c "ANALYZE" >/dev/null
run_scenario "2,000 tables (exporter with example queries.yaml)" --extend.query-path="$QUERIES"
echo
echo "vitals collection cost, measured without scrapes over ${PASS_SECONDS}s: idle (no DSN), then interval 1s"
echo "with slow-interval 1h (fast passes only), then slow-interval 1s (a fast and a slow pass every second)."
echo
echo "| scenario | idle CPU ms/s | CPU ms per fast pass | CPU ms per slow pass | fast pass wall ms | slow pass wall ms |"
echo "|---|---|---|---|---|---|"
vitals_pass_cost "2,000 tables"
psql -XqAt "$SU" >/dev/null <<'SQL'
SELECT format('DROP TABLE IF EXISTS bench_t%s', g) FROM generate_series(1, 2000) g \gexec
SQL
vitals_pass_cost "defaults (no extra tables)"
