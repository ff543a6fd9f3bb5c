#!/usr/bin/env bash
# THE test command: bash scripts/test.sh [swift test args, e.g. --filter Foo]
#
# 1. installs missing Debian packages (scripts/install-deps.sh)
# 2. starts private PostgreSQL 15 + Redis into .test-servers/, and PostgreSQL 16 and 18 from PyPI
#    wheels (VITALS_TEST_PG_VERSIONS; all stopped on any exit), and prepares the
#    demo app's venv from PyPI (.demo/venv) for the end-to-end test that runs the real app
# 3. exports VITALS_TEST_* (see scripts/test-servers.sh), builds, runs swift test
# Exits with swift test's status. Works with CI=true and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SERVERS_DIR="$ROOT/.test-servers"

section() { printf '\n==== %s ====\n' "$*"; }

section "dependencies"
bash scripts/install-deps.sh --tests </dev/null

SERVERS_STOPPED=0
stop_servers() {
  [[ $SERVERS_STOPPED == 1 ]] && return 0
  SERVERS_STOPPED=1
  section "stopping test servers"
  bash "$ROOT/scripts/test-servers.sh" stop "$SERVERS_DIR" </dev/null || true
}
# shellcheck disable=SC2317  # invoked by trap
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  trap '' PIPE  # keep cleaning up even if our stdout is gone (e.g. `| tee` killed by Ctrl-C)
  set +e
  stop_servers
  # A test process that crashed leaves its children (daemons, Prometheus) running; ChildProcess
  # kills them only when it is deinitialised. They run from the tests' scratch directories.
  pkill -f -- '/vitals-test-' 2>/dev/null
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

section "starting test servers (.test-servers/)"
bash scripts/test-servers.sh start "$SERVERS_DIR" </dev/null
# shellcheck source=/dev/null
source "$SERVERS_DIR/env.sh"
echo "postgres: 127.0.0.1:$VITALS_TEST_PG_PORT  redis: 127.0.0.1:$VITALS_TEST_REDIS_PORT"

# PostgreSQL 16 and 18 from PyPI wheels, for PostgresVersionsIntegrationTests (and the hypopg
# suite's 16 path). VITALS_TEST_PG_VERSIONS="16" picks, "none" skips (the suites then skip too).
PG_VERSIONS=${VITALS_TEST_PG_VERSIONS-16 18}
if [[ -n $PG_VERSIONS && $PG_VERSIONS != none ]]; then
  section "starting PostgreSQL $PG_VERSIONS (.test-servers/pgNN, wheels cached in ~/.cache/vitals/pg-wheels)"
  versions_started=$SECONDS
  # shellcheck disable=SC2086  # one argument per version
  bash scripts/test-servers.sh start-versions "$SERVERS_DIR" $PG_VERSIONS </dev/null
  # shellcheck source=/dev/null
  source "$SERVERS_DIR/env-versions.sh"
  echo "PostgreSQL $PG_VERSIONS up in $((SECONDS - versions_started)) s"
fi

section "demo app venv (.demo/venv, for the findings end-to-end test)"
bash demo/run-app.sh setup </dev/null

section "swift build --build-tests"
swift --version 2>&1 | head -n1
swift build --build-tests </dev/null

section "swift test $*"
# Swift Testing starts every test at once by default: on two cores, ~150 integration tests with
# their daemons, servers and browsers starting together left quick tests waiting 20-50 s and
# in-process deadlines (1-2 s budgets, 8 s margins) missed in three of the last six runs. At most
# VITALS_TEST_PARALLEL test cases run together (an experimental Swift Testing setting, 6.3).
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=${VITALS_TEST_PARALLEL:-12}
set +e
swift test "$@" </dev/null
status=$?
set -e
stop_servers
exit "$status"
