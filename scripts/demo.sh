#!/usr/bin/env bash
# THE demo command: bash scripts/demo.sh
#
# Runs the real thing on loopback, everything under .demo/:
#   - a private PostgreSQL (every statement logged, auto_explain) and Redis
#     (scripts/test-servers.sh start .demo --log-all-statements);
#   - the demo application, FastAPI under uvicorn (demo/app, via demo/run-app.sh) on
#     http://127.0.0.1:10189, writing its timing log to .demo/app.log; its planted problems
#     are an N+1, a sequential scan, a cache that misses and a handler that blocks the loop;
#   - demo/load.py, a steady mix of requests over the app's routes;
#   - vitals on http://127.0.0.1:10188 with every source on: the timing log, Postgres,
#     Redis, the slow-query plugin on the server log, and the probe of the app's /health;
#   - Prometheus on http://127.0.0.1:10190 scraping vitals with deploy/prometheus/rules.yml.
# Runs until Ctrl-C; everything it started is stopped on exit.
#
# Environment:
#   DEMO_SECONDS=N      exit by itself after N seconds (CI smoke test), with status 0 only if
#                       the app served requests, vitals' /metrics has http_request samples of
#                       the app's routes, pg_up and redis_up are 1, and Prometheus scraped vitals
#   DEMO_RATE=R         requests per second of the load generator (default 30)
#   DEMO_SCREENSHOT=F   with DEMO_SECONDS: save a screenshot of the page to F (PNG, headless
#                       Chromium) before the load stops; how docs/page.png is made
#   DEMO_SKIP_BUILD=1   do not run `swift build -c release`
#   VITALS_BIN=PATH     binary to run (default .build/release/vitals)
#   DEMO_APP_PORT, DEMO_PROMETHEUS_PORT   other ports than 10189 and 10190
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DEMO_DIR="$ROOT/.demo"
LISTEN=127.0.0.1:10188
BASE="http://$LISTEN"
APP_PORT=${DEMO_APP_PORT:-10189}
APP_BASE="http://127.0.0.1:$APP_PORT"
PROM_PORT=${DEMO_PROMETHEUS_PORT:-10190}
PROM_BASE="http://127.0.0.1:$PROM_PORT"
RATE=${DEMO_RATE:-30}
VITALS_BIN=${VITALS_BIN:-.build/release/vitals}
APP_LOG="$DEMO_DIR/app.log"
APP_OUT="$DEMO_DIR/app.out"
VITALS_LOG="$DEMO_DIR/vitals.log"
SLOW_LOG="$DEMO_DIR/slow-queries.jsonl"
LOAD_STATS="$DEMO_DIR/load.json"
LOAD_OUT="$DEMO_DIR/load.out"
PROM_DIR="$DEMO_DIR/prometheus"
PROM_LOG="$DEMO_DIR/prometheus.log"

section() { printf '\n==== %s ====\n' "$*"; }

APP_PID=""
LOAD_PID=""
VITALS_PID=""
PROM_PID=""
SERVERS_STARTED=0

stop_pid() { # stop_pid PID: SIGTERM, up to 10 s, then SIGKILL
  local pid=$1 i
  [[ -n $pid ]] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  trap '' PIPE  # keep cleaning up even if our stdout is gone (e.g. `| tee` killed by Ctrl-C)
  set +e
  section "stopping the demo"
  # The load first, so the app is not stopped under it; the servers last.
  stop_pid "$LOAD_PID"
  stop_pid "$PROM_PID"
  stop_pid "$VITALS_PID"
  stop_pid "$APP_PID"
  if [[ $SERVERS_STARTED == 1 ]]; then
    bash "$ROOT/scripts/test-servers.sh" stop "$DEMO_DIR" </dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die_with_log() { # die_with_log MESSAGE LOGFILE
  echo "demo: $1; the end of ${2#"$ROOT"/}:" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}

section "dependencies"
bash scripts/install-deps.sh </dev/null

if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then
  section "swift build -c release"
  swift build -c release </dev/null
fi
[[ -x $VITALS_BIN ]] || { echo "demo: $VITALS_BIN not found (build failed?)" >&2; exit 1; }
PROMETHEUS=$(command -v prometheus || true)
PROMTOOL=$(command -v promtool || true)
[[ -n $PROMETHEUS && -n $PROMTOOL ]] || { echo "demo: prometheus/promtool not found; run scripts/install-deps.sh" >&2; exit 1; }

# Fail early and clearly if a demo port is taken.
for port in "${LISTEN##*:}" "$APP_PORT" "$PROM_PORT"; do
  if ! python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' \
      "$port" 2>/dev/null; then
    echo "demo: 127.0.0.1:$port is already in use (another demo running?)" >&2
    exit 1
  fi
done

section "private PostgreSQL and Redis (.demo/)"
mkdir -p "$DEMO_DIR"
SERVERS_STARTED=1
bash scripts/test-servers.sh start "$DEMO_DIR" --log-all-statements </dev/null
# shellcheck source=/dev/null
source "$DEMO_DIR/env.sh"
echo "postgres: 127.0.0.1:$VITALS_TEST_PG_PORT (database app), every statement logged to $VITALS_TEST_PG_LOG"
echo "redis:    127.0.0.1:$VITALS_TEST_REDIS_PORT"

section "the demo app (FastAPI, uvicorn) on $APP_BASE"
bash demo/run-app.sh setup </dev/null
: >"$APP_LOG"
DEMO_APP_PORT=$APP_PORT DEMO_APP_LOG=$APP_LOG bash demo/run-app.sh serve </dev/null >"$APP_OUT" 2>&1 &
APP_PID=$!
ready=0
for ((i = 0; i < 600; i++)); do
  kill -0 "$APP_PID" 2>/dev/null || die_with_log "the app exited early" "$APP_OUT"
  if curl -fsS -o /dev/null --max-time 2 "$APP_BASE/health" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ $ready == 1 ]] || die_with_log "$APP_BASE/health did not answer within 60 s" "$APP_OUT"
echo "app: ready; timing log .demo/app.log"

section "vitals on $BASE"
HELP=$("$VITALS_BIN" --help 2>&1 || true)
has_flag() { grep -q -- "--$1[= ]" <<<"$HELP"; }
ARGS=(--web.listen-address "$LISTEN" --timing-log.path "$APP_LOG" --timing-log.format starlette)
# Secrets go through the environment, not argv (which any local user can read in ps).
VITALS_ENV=()
if has_flag postgres.dsn; then
  VITALS_ENV+=("DATA_SOURCE_NAME=$VITALS_TEST_PG_DSN")
  ARGS+=(--postgres.interval 5s)
  echo "postgres source: on"
fi
if has_flag redis.addr; then
  VITALS_ENV+=("REDIS_ADDR=$VITALS_TEST_REDIS_ADDR" "REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD")
  ARGS+=(--redis.interval 5s)
  echo "redis source: on"
fi
if has_flag slow-query.log-path; then
  : >"$SLOW_LOG"
  ARGS+=(--slow-query.log-path "$VITALS_TEST_PG_LOG"
         --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX"
         --slow-query.output "$SLOW_LOG")
  echo "slow-query plugin: on, one line per statement in .demo/slow-queries.jsonl"
fi
if has_flag app-probe.url; then
  ARGS+=(--app-probe.url "$APP_BASE/health")
  echo "app probe: on ($APP_BASE/health every second)"
fi
env "${VITALS_ENV[@]}" "$VITALS_BIN" "${ARGS[@]}" </dev/null >"$VITALS_LOG" 2>&1 &
VITALS_PID=$!
ready=0
for ((i = 0; i < 300; i++)); do
  kill -0 "$VITALS_PID" 2>/dev/null || die_with_log "vitals exited early" "$VITALS_LOG"
  if curl -fsS -o /dev/null --max-time 2 "$BASE/health" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ $ready == 1 ]] || die_with_log "$BASE/health did not answer within 30 s" "$VITALS_LOG"

section "Prometheus on $PROM_BASE"
RULES="$ROOT/deploy/prometheus/rules.yml"
"$PROMTOOL" check rules "$RULES" </dev/null
rm -rf "$PROM_DIR"
mkdir -p "$PROM_DIR"
cp "$RULES" "$PROM_DIR/rules.yml"
cat >"$PROM_DIR/prometheus.yml" <<EOF
# generated by scripts/demo.sh
global:
  scrape_interval: 5s
  evaluation_interval: 5s
rule_files:
  - rules.yml
scrape_configs:
  # The rules' VitalsDown/VitalsAbsent alerts look for job="vitals".
  - job_name: vitals
    static_configs:
      - targets: ["$LISTEN"]
        labels:
          service: demo-app
EOF
"$PROMTOOL" check config "$PROM_DIR/prometheus.yml" </dev/null >/dev/null
"$PROMETHEUS" --config.file="$PROM_DIR/prometheus.yml" --storage.tsdb.path="$PROM_DIR/data" \
  --storage.tsdb.retention.time=1d --web.listen-address="127.0.0.1:$PROM_PORT" --log.level=warn \
  </dev/null >"$PROM_LOG" 2>&1 &
PROM_PID=$!
ready=0
for ((i = 0; i < 300; i++)); do
  kill -0 "$PROM_PID" 2>/dev/null || die_with_log "Prometheus exited early" "$PROM_LOG"
  if curl -fsS -o /dev/null --max-time 2 "$PROM_BASE/-/ready" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
[[ $ready == 1 ]] || die_with_log "$PROM_BASE/-/ready did not answer within 30 s" "$PROM_LOG"
echo "prometheus: ready, scraping vitals every 5 s with deploy/prometheus/rules.yml"
# Debian's build has no React UI, only the classic one under /classic/.
PROM_UI=$PROM_BASE
if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$PROM_BASE/alerts" || true) != 200 ]]; then
  PROM_UI=$PROM_BASE/classic
fi

section "load: $RATE requests/s over the app's routes"
python3 demo/load.py --base-url "$APP_BASE" --rate "$RATE" --stats "$LOAD_STATS" \
  </dev/null >"$LOAD_OUT" 2>&1 &
LOAD_PID=$!
sleep 5  # a few seconds of traffic before the first look

section "the demo is up"
cat <<EOF
  vitals:        $BASE/              (the page: findings, routes, the last hour; open it in a browser)
                 $BASE/findings      (which bottleneck, per route, as JSON; give it a minute)
                 $BASE/metrics       $BASE/api/summary (the page as JSON)
                 $BASE/slow-queries  (statements from the server log, by total time)
                 $BASE/statements    (pg_stat_statements)
                 $BASE/ready
  prometheus:    $PROM_UI/alerts   (the bundled alerts; most need 5 to 10 minutes of data)
                 $PROM_UI/graph    $PROM_UI/targets
  the app:       $APP_BASE/markets/42   $APP_BASE/vendors/search?q=farm
  logs:          .demo/app.log (timing)  .demo/vitals.log  .demo/slow-queries.jsonl
                 $VITALS_TEST_PG_LOG (postgres)  .demo/load.out

sample (curl -s $BASE/metrics | grep -E '^(http_requests_total|pg_up|redis_up|vitals_source_up)'):
EOF
curl -s "$BASE/metrics" | grep -E '^(http_requests_total|pg_up|redis_up|vitals_source_up)' | head -30 || true

alive_or_die() {
  kill -0 "$APP_PID" 2>/dev/null || die_with_log "the app exited unexpectedly" "$APP_OUT"
  kill -0 "$VITALS_PID" 2>/dev/null || die_with_log "vitals exited unexpectedly" "$VITALS_LOG"
  kill -0 "$PROM_PID" 2>/dev/null || die_with_log "Prometheus exited unexpectedly" "$PROM_LOG"
  kill -0 "$LOAD_PID" 2>/dev/null || die_with_log "the load generator exited unexpectedly" "$LOAD_OUT"
}

# metric NAME [LABEL-MATCH]: the sum of the samples of NAME whose labels contain LABEL-MATCH.
metric() {
  awk -v name="$1" -v want="${2:-}" '
    $0 !~ /^#/ {
      series = $1; sub(/\{.*/, "", series)
      if (series == name && index($0, want) > 0) { sum += $NF; n++ }
    }
    END { if (n) printf "%.6g\n", sum; else print "none" }' "$METRICS"
}

if [[ -n ${DEMO_SECONDS:-} ]]; then
  section "running for $DEMO_SECONDS s (DEMO_SECONDS)"
  end=$((SECONDS + DEMO_SECONDS))
  while ((SECONDS < end)); do
    alive_or_die
    sleep 1
  done
  if [[ -n ${DEMO_SCREENSHOT:-} ]]; then
    chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions --hide-scrollbars \
      --user-data-dir="$DEMO_DIR/chromium-profile" --window-size=1200,1900 --virtual-time-budget=3000 \
      --screenshot="$DEMO_SCREENSHOT" "$BASE/" >/dev/null 2>&1 \
      && echo "demo: the page's screenshot is in $DEMO_SCREENSHOT" \
      || echo "demo: no screenshot (is chromium installed? bash scripts/install-deps.sh --tests)" >&2
  fi
  stop_pid "$LOAD_PID"  # its final totals land in .demo/load.json
  LOAD_PID=""

  section "smoke checks"
  METRICS="$DEMO_DIR/metrics.txt"
  curl -fsS --max-time 5 "$BASE/metrics" >"$METRICS"
  failed=0
  check() { # check DESCRIPTION COMMAND...: the check passes if the command does
    local what=$1
    shift
    if "$@"; then echo "  ok    $what"; else echo "  FAIL  $what"; failed=1; fi
  }
  # shellcheck disable=SC2317  # invoked through check
  positive() { awk -v v="$1" 'BEGIN { exit !(v + 0 > 0) }'; }

  served=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ok"])' "$LOAD_STATS" 2>/dev/null || echo 0)
  check "the app answered $served requests with 2xx (.demo/load.json)" positive "$served"
  for route in '/markets/{id}' '/users/{id}/dashboard' '/vendors/search' '/reports/{id}'; do
    n=$(metric http_requests_total "route=\"$route\"")
    check "http_requests_total{route=\"$route\"} = $n" positive "$n"
  done
  n=$(metric pg_up)
  check "pg_up = $n" [ "$n" = 1 ]
  n=$(metric redis_up)
  check "redis_up = $n" [ "$n" = 1 ]
  page=$(curl -fsS --max-time 5 "$BASE/" 2>/dev/null | grep -c 'class="route"' || true)
  check "the page at $BASE/ lists $page routes" positive "$page"
  up=$(curl -fsS --max-time 5 "$PROM_BASE/api/v1/query" --data-urlencode 'query=up{job="vitals"}' 2>/dev/null \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "none")' 2>/dev/null \
    || echo none)
  check "Prometheus: up{job=\"vitals\"} = $up" [ "$up" = 1 ]

  section "what vitals saw of the planted problems (informational)"
  hits=$(metric redis_keyspace_hits_total)
  misses=$(metric redis_keyspace_misses_total)
  ratio=$(python3 -c 'import sys
h, m = sys.argv[1], sys.argv[2]
print("none" if "none" in (h, m) or float(h) + float(m) == 0 else "%.2f" % (float(h) / (float(h) + float(m))))' "$hits" "$misses")
  cat <<EOF
  statements read from the server log    pg_slow_queries_total = $(metric pg_slow_queries_total)
  the N+1 (outcomes by id, per market)    /slow-queries: $(curl -fsS --max-time 5 "$BASE/slow-queries?order=count&limit=50" 2>/dev/null \
    | python3 -c 'import json,sys
data = json.load(sys.stdin)
rows = data if isinstance(data, list) else next((v for v in data.values() if isinstance(v, list)), [])
hit = [r for r in rows if "from outcomes where id" in json.dumps(r).lower()]
print("%s executions" % hit[0].get("count") if hit else "not seen")' 2>/dev/null || echo "not available")
  sequential scans of vendors (plans)     pg_slow_query_seq_scans_total{relation~vendors} = $(metric pg_slow_query_seq_scans_total vendors)
  sequential scans of vendors (stats)     pg_stat_user_tables_seq_scan{relname="vendors"} = $(metric pg_stat_user_tables_seq_scan 'relname="vendors"')
  Redis keyspace hit ratio                $ratio (hits $hits, misses $misses)
  asyncio's blocked-loop warnings         app_event_loop_blocked_total = $(metric app_event_loop_blocked_total)
  app probe of /health                    app_probe_duration_seconds: $(metric app_probe_duration_seconds_count) probes, $(metric app_probe_duration_seconds_sum) s in all
  slow requests (> 200 ms)                http_slow_requests_total = $(metric http_slow_requests_total)
EOF
  if curl -fsS -o "$DEMO_DIR/findings.json" --max-time 5 "$BASE/findings" 2>/dev/null; then
    echo "  findings                                $(python3 -c 'import json,sys
f = json.load(open(sys.argv[1])).get("findings", [])
print(", ".join(sorted({x["kind"] for x in f})) or "none yet")' "$DEMO_DIR/findings.json" 2>/dev/null || echo "unreadable")"
  else
    echo "  findings                                /findings not in this build"
  fi

  echo "  alerts pending or firing in Prometheus  $(curl -fsS --max-time 5 "$PROM_BASE/api/v1/alerts" 2>/dev/null \
    | python3 -c 'import json,sys
a = json.load(sys.stdin)["data"]["alerts"]
print(", ".join(sorted("%s (%s)" % (x["labels"]["alertname"], x["state"]) for x in a)) or "none yet")' 2>/dev/null || echo "unreadable")"

  if [[ $failed != 0 ]]; then
    echo "demo: FAILED (see above; logs in .demo/)" >&2
    exit 1
  fi
  echo "demo: ok"
  exit 0
fi

section "running; press Ctrl-C to stop"
while true; do
  alive_or_die
  sleep 1
done
