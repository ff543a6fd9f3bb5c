#!/usr/bin/env bash
# The demo application (demo/app: FastAPI under uvicorn, asyncpg, redis-py), the same one
# for scripts/demo.sh and for the end-to-end tests.
#
#   bash demo/run-app.sh setup          create or refresh the venv (.demo/venv); quick when up to date
#   bash demo/run-app.sh seed           create the schema and seed data (idempotent, ~2 s the first time)
#   bash demo/run-app.sh serve          setup + seed, then exec uvicorn in the foreground: the pid you
#                                       started becomes uvicorn's; SIGTERM or SIGINT stops it gracefully
#   bash demo/run-app.sh wait [SECS]    exit 0 once GET /health answers 200 (default: wait 60 s)
#
# Environment (DEMO_APP_* win; the VITALS_TEST_* of scripts/test-servers.sh's env.sh are the fallback,
# so `source DIR/env.sh` is enough for the databases):
#   DEMO_APP_PORT              port on 127.0.0.1 (default 10189); the app never binds another address
#   DEMO_APP_LOG               the timing log it writes, vitals' --timing-log.path (default .demo/app.log);
#                              a relative path is taken from the caller's directory
#   DEMO_APP_PG_DSN            libpq URI of the database        (else VITALS_TEST_PG_DSN)
#   DEMO_APP_REDIS_URL         redis://127.0.0.1:PORT            (else VITALS_TEST_REDIS_ADDR)
#   DEMO_APP_REDIS_PASSWORD    Redis password                    (else VITALS_TEST_REDIS_PASSWORD)
#   DEMO_VENV                  the virtual environment (default .demo/venv)
#   DEMO_PYTHON                interpreter that creates it (default /usr/bin/python3, else python3)
# Tuning, read by the app (demo/app/settings.py): DEMO_APP_ASYNCIO_DEBUG (1), DEMO_APP_SLOW_MS (200),
# DEMO_APP_MARKET_TTL (10), DEMO_APP_DASHBOARD_TTL (5), DEMO_APP_BLOCKING_EVERY (4: /reports/{id}
# blocks the loop when id % 4 == 0; 0 never), DEMO_APP_BLOCKING_SECONDS (0.3), DEMO_APP_POOL_SIZE (10),
# DEMO_APP_VENDORS (100000, at least 50000).
#
# Ready means GET http://127.0.0.1:$DEMO_APP_PORT/health answers 200. uvicorn's own messages go to
# stderr; the timing lines (and asyncio's slow-step warnings) only to DEMO_APP_LOG.
set -euo pipefail

usage() {
  sed -n '4,8p' "$0" >&2
  exit 2
}
[[ $# -ge 1 ]] || usage
CMD=$1

CALLER_DIR=$PWD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REQUIREMENTS="$ROOT/demo/requirements.txt"
VENV=${DEMO_VENV:-$ROOT/.demo/venv}
case "$VENV" in /*) ;; *) VENV="$CALLER_DIR/$VENV" ;; esac
PORT=${DEMO_APP_PORT:-10189}
APP_LOG=${DEMO_APP_LOG:-$ROOT/.demo/app.log}
case "$APP_LOG" in /*) ;; *) APP_LOG="$CALLER_DIR/$APP_LOG" ;; esac

log() { echo "run-app: $*" >&2; }

pick_python() {
  if [[ -n ${DEMO_PYTHON:-} ]]; then
    echo "$DEMO_PYTHON"
  elif [[ -x /usr/bin/python3 ]]; then
    # Debian's, whose python3-venv install-deps.sh installs (a pyenv shim may sit first on PATH).
    echo /usr/bin/python3
  else
    command -v python3
  fi
}

# The stamp records what the venv was built from: the requirements and the interpreter.
wanted_stamp() {
  local python=$1
  {
    sha256sum "$REQUIREMENTS" | cut -d' ' -f1
    "$python" -c 'import sys; print(sys.version)'
  } | sha256sum | cut -d' ' -f1
}

do_setup() {
  local python stamp
  python=$(pick_python)
  mkdir -p "$(dirname "$VENV")"
  # One setup at a time: the demo and a test may start the app together.
  exec 9>"$VENV.lock"
  flock 9
  stamp=$(wanted_stamp "$python")
  if [[ -r $VENV/.vitals-stamp && $(cat "$VENV/.vitals-stamp") == "$stamp" ]] \
      && "$VENV/bin/python" -c 'import fastapi, uvicorn, asyncpg, redis' >/dev/null 2>&1; then
    exec 9>&-
    return 0
  fi
  log "creating $VENV (pip install -r demo/requirements.txt)"
  rm -rf "$VENV"
  "$python" -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-input -r "$REQUIREMENTS" </dev/null
  echo "$stamp" >"$VENV/.vitals-stamp"
  exec 9>&-
}

do_seed() {
  (cd "$ROOT/demo" && "$VENV/bin/python" -m app.seed </dev/null)
}

do_serve() {
  do_setup
  do_seed
  mkdir -p "$(dirname "$APP_LOG")"
  export DEMO_APP_LOG="$APP_LOG"
  cd "$ROOT/demo"
  # h11 and the stdlib loop (uvicorn's defaults would pick uvloop or httptools if installed):
  # asyncio's debug mode, which reports the blocked loop, is the stdlib loop's.
  exec "$VENV/bin/python" -m uvicorn app.main:app --host 127.0.0.1 --port "$PORT" \
    --loop asyncio --http h11 --lifespan on --no-access-log --log-level warning \
    --timeout-graceful-shutdown 5
}

do_wait() {
  local seconds=${1:-60} i
  for ((i = 0; i < seconds * 10; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  log "http://127.0.0.1:$PORT/health did not answer within $seconds s"
  return 1
}

case "$CMD" in
  setup) do_setup ;;
  seed) do_setup && do_seed ;;
  serve) do_serve ;;
  wait) do_wait "${2:-60}" ;;
  *) usage ;;
esac
