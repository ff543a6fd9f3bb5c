#!/usr/bin/env bash
# THE demo command: bash scripts/demo.sh
#
# Builds vitals (release), starts private PostgreSQL + Redis (.demo/), a
# synthetic app writing ~200 timing lines/s to .demo/app.log, and vitals on
# http://127.0.0.1:10188 reading all of it. Runs until Ctrl-C; everything it
# started is stopped on exit.
#
# Environment:
#   DEMO_SECONDS=N      exit by itself after N seconds (CI smoke test); then it
#                       also checks that /metrics has http_request* samples
#   DEMO_RATE=R         generator lines per second (default 200)
#   DEMO_SKIP_BUILD=1   do not run `swift build -c release`
#   VITALS_BIN=PATH     binary to run (default .build/release/vitals)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DEMO_DIR="$ROOT/.demo"
LISTEN=127.0.0.1:10188
BASE="http://$LISTEN"
RATE=${DEMO_RATE:-200}
VITALS_BIN=${VITALS_BIN:-.build/release/vitals}
APP_LOG="$DEMO_DIR/app.log"
VITALS_LOG="$DEMO_DIR/vitals.log"

section() { printf '\n==== %s ====\n' "$*"; }

GEN_PID=""
VITALS_PID=""
SERVERS_STARTED=0
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  trap '' PIPE  # keep cleaning up even if our stdout is gone (e.g. `| tee` killed by Ctrl-C)
  set +e
  section "stopping the demo"
  local pid
  for pid in "$VITALS_PID" "$GEN_PID"; do
    [[ -n $pid ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "$VITALS_PID" "$GEN_PID"; do
    [[ -n $pid ]] || continue
    local i
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ $SERVERS_STARTED == 1 ]]; then
    bash "$ROOT/scripts/test-servers.sh" stop "$DEMO_DIR" </dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "dependencies"
bash scripts/install-deps.sh </dev/null

if [[ ${DEMO_SKIP_BUILD:-0} != 1 ]]; then
  section "swift build -c release"
  swift build -c release </dev/null
fi
[[ -x $VITALS_BIN ]] || { echo "demo: $VITALS_BIN not found (build failed?)" >&2; exit 1; }

# Fail early and clearly if the demo port is taken.
if ! python3 -c 'import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1])))' \
    "${LISTEN##*:}" 2>/dev/null; then
  echo "demo: $LISTEN is already in use (another demo running?)" >&2
  exit 1
fi

section "private PostgreSQL and Redis (.demo/)"
mkdir -p "$DEMO_DIR"
SERVERS_STARTED=1
bash scripts/test-servers.sh start "$DEMO_DIR" </dev/null
# shellcheck source=/dev/null
source "$DEMO_DIR/env.sh"

section "synthetic app log: $RATE lines/s -> .demo/app.log"
: >"$APP_LOG"
python3 scripts/gen-timing-log.py 0 --rate "$RATE" --append "$APP_LOG" \
  </dev/null 2>"$DEMO_DIR/generator.err" &
GEN_PID=$!

section "vitals on $BASE"
HELP=$("$VITALS_BIN" --help 2>&1 || true)
ARGS=(--web.listen-address "$LISTEN" --timing-log.path "$APP_LOG" --timing-log.format starlette)
if grep -q 'postgres\.dsn' <<<"$HELP"; then
  ARGS+=(--postgres.dsn "$VITALS_TEST_PG_DSN")
  echo "postgres: 127.0.0.1:$VITALS_TEST_PG_PORT (database app, user vitals)"
else
  echo "postgres: this build has no --postgres.dsn; not passed"
fi
if grep -q 'redis\.addr' <<<"$HELP"; then
  ARGS+=(--redis.addr "$VITALS_TEST_REDIS_ADDR")
  if grep -q 'redis\.password' <<<"$HELP"; then
    ARGS+=(--redis.password "$VITALS_TEST_REDIS_PASSWORD")
  fi
  echo "redis: 127.0.0.1:$VITALS_TEST_REDIS_PORT"
else
  echo "redis: this build has no --redis.addr; not passed"
fi
"$VITALS_BIN" "${ARGS[@]}" </dev/null >"$VITALS_LOG" 2>&1 &
VITALS_PID=$!

ready=0
for ((i = 0; i < 300; i++)); do
  if ! kill -0 "$VITALS_PID" 2>/dev/null; then
    echo "demo: vitals exited early; its log (.demo/vitals.log):" >&2
    tail -n 40 "$VITALS_LOG" >&2 || true
    exit 1
  fi
  if curl -fsS -o /dev/null --max-time 2 "$BASE/ready" 2>/dev/null; then
    ready=1
    break
  fi
  sleep 0.1
done
if [[ $ready != 1 ]]; then
  echo "demo: $BASE/ready did not answer within 30 s; vitals log:" >&2
  tail -n 40 "$VITALS_LOG" >&2 || true
  exit 1
fi
sleep 2  # let a couple of seconds of traffic arrive

section "vitals is up"
cat <<EOF
  metrics:  $BASE/metrics
  ready:    $BASE/ready
  index:    $BASE/
  app log:  .demo/app.log   vitals log: .demo/vitals.log

sample (curl -s $BASE/metrics | grep -E '^(http_requests_total|http_slow_requests_total|pg_up|redis_up|vitals_source_up)'):
EOF
curl -s "$BASE/metrics" | grep -E '^(http_requests_total|http_slow_requests_total|pg_up|redis_up|vitals_source_up)' | head -30 || true

if [[ -n ${DEMO_SECONDS:-} ]]; then
  section "running for $DEMO_SECONDS s (DEMO_SECONDS)"
  end=$((SECONDS + DEMO_SECONDS))
  while ((SECONDS < end)); do
    if ! kill -0 "$VITALS_PID" 2>/dev/null; then
      echo "demo: vitals exited unexpectedly; log:" >&2
      tail -n 40 "$VITALS_LOG" >&2 || true
      exit 1
    fi
    sleep 1
  done
  n=$(curl -fsS --max-time 5 "$BASE/metrics" | grep -cE '^http_request' || true)
  if [[ ${n:-0} -eq 0 ]]; then
    echo "demo: FAILED: /metrics has no http_request* samples" >&2
    exit 1
  fi
  echo "demo: ok: /metrics has $n http_request* samples"
  exit 0
fi

section "running; press Ctrl-C to stop"
wait "$VITALS_PID" || true
echo "demo: vitals exited; log tail:" >&2
tail -n 20 "$VITALS_LOG" >&2 || true
exit 1
