#!/usr/bin/env bash
# Installs the Debian packages vitals needs to build, test and demo
# (and, with --bench, to run the benchmarks). Idempotent: a machine that
# already has every package does no apt work at all.
#
#   bash scripts/install-deps.sh           # build/test/demo dependencies
#   bash scripts/install-deps.sh --bench   # ... plus benchmark tools
#   bash scripts/install-deps.sh --tests   # ... plus the test suite's packages (Chromium, hypopg) and Python tools
#
# Debian's redis-server, prometheus, mtail, postgresql and exporter packages
# start their daemons from their maintainer scripts. We block that with a
# temporary /usr/sbin/policy-rc.d (exit 101) while installing, and stop the
# services afterwards anyway, so nothing holds 5432/6379/9090/3903/...:
# the test and demo scripts run their own private servers on free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

BENCH=0
TESTS=0
for arg in "$@"; do
  case "$arg" in
    --bench) BENCH=1 ;;
    --tests) TESTS=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown argument: $arg" >&2; exit 2 ;;
  esac
done

# libkrb5-dev, libldap-dev and patchelf: the shipped build's static libpq (scripts/build-shipped.sh).
BASE_PKGS=(
  libpq-dev libhiredis-dev libyaml-dev zlib1g-dev libkrb5-dev libldap-dev patchelf
  postgresql postgresql-contrib
  redis-server redis-tools
  prometheus mtail
  curl python3 python3-venv ca-certificates
)
BENCH_PKGS=(
  prometheus-postgres-exporter prometheus-redis-exporter
  pgbadger wrk hyperfine valgrind time linux-perf
)
# The page's browser test (headless Chromium) and its screenshot; hypopg for
# the --findings.hypopg integration test (the test creates the extension);
# openssl for the Redis TLS tests' private CA; the servers whose access logs
# the built-in timing-log formats are tested on (each test starts its own on a
# free port; the packaged services stay off).
TEST_PKGS=(chromium fonts-dejavu-core postgresql-15-hypopg openssl gunicorn apache2 caddy haproxy nginx)
# Services the packages above may start on install; stopped afterwards.
SERVICES=(
  redis-server prometheus mtail postgresql
  prometheus-postgres-exporter prometheus-redis-exporter prometheus-node-exporter
  apache2 caddy haproxy nginx
)

wanted=("${BASE_PKGS[@]}")
if [[ $BENCH == 1 ]]; then
  wanted+=("${BENCH_PKGS[@]}")
fi
if [[ $TESTS == 1 ]]; then
  wanted+=("${TEST_PKGS[@]}")
fi

# libpq's static archives, which the shipped build links, for the test that links the same way
# (Tests/VitalsTests/Deployment/StaticLibpqTests.swift). A download, so it happens here.
ensure_static_libpq() {
  bash scripts/static-libpq.sh .build/static-libpq
}

missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  if [[ $status != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

# Python tools of the Deployment tests, in a private virtual environment that
# Tests/VitalsTests/Deployment finds by path: kubernetes-validate bundles the
# Kubernetes OpenAPI schemas, so manifest validation works offline.
ensure_python_tools() {
  local venv=.build/deployment-venv
  if "$venv/bin/python3" -c 'import kubernetes_validate' >/dev/null 2>&1; then return 0; fi
  echo "install-deps: creating $venv (pip install kubernetes-validate)"
  rm -rf "$venv"
  /usr/bin/python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check kubernetes-validate==1.37.0
}

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#wanted[@]} packages already installed"
  if [[ $TESTS == 1 ]]; then ensure_python_tools; ensure_static_libpq; fi
  exit 0
fi

echo "install-deps: installing: ${missing[*]}"

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
  else
    echo "install-deps: not root and no sudo; install these by hand: ${missing[*]}" >&2
    exit 1
  fi
fi

# Keep maintainer scripts from starting daemons while we install.
POLICY=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $POLICY ]]; then
  printf '#!/bin/sh\n# temporary, written by vitals scripts/install-deps.sh\nexit 101\n' \
    | "${SUDO[@]}" tee "$POLICY" >/dev/null
  "${SUDO[@]}" chmod 755 "$POLICY"
  own_policy=1
fi
cleanup_policy() {
  if [[ $own_policy == 1 ]]; then
    "${SUDO[@]}" rm -f "$POLICY" || true
  fi
}
trap cleanup_policy EXIT

export DEBIAN_FRONTEND=noninteractive
APT_OPTS=(-y -qq --no-install-recommends -o Dpkg::Use-Pty=0
          -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

# apt output goes to a log that is shown only if something fails.
APT_LOG=$(mktemp /tmp/vitals-install-deps.XXXXXX)
if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
       "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
         apt-get install "${APT_OPTS[@]}" "${missing[@]}"; } </dev/null >"$APT_LOG" 2>&1; then
  cat "$APT_LOG" >&2
  echo "install-deps: apt-get failed (log above)" >&2
  rm -f "$APT_LOG"
  exit 1
fi
rm -f "$APT_LOG"

# Stop whatever got started anyway (no systemd in the container: `service`
# runs the /etc/init.d scripts; on a systemd host it forwards to systemctl).
for svc in "${SERVICES[@]}"; do
  if [[ -e /etc/init.d/$svc ]] || command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" service "$svc" stop >/dev/null 2>&1 || true
  fi
done

still=()
for pkg in "${missing[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || still+=("$pkg")
done
if [[ ${#still[@]} -gt 0 ]]; then
  echo "install-deps: failed to install: ${still[*]}" >&2
  exit 1
fi
if [[ $TESTS == 1 ]]; then ensure_python_tools; ensure_static_libpq; fi
echo "install-deps: done"
