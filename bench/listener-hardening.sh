#!/usr/bin/env bash
# Hostile clients against vitals' listener (figures in BENCHMARKS.md, "The listener under attack").
#   bash bench/listener-hardening.sh [VITALS_BINARY]
# Needs the test servers' env (scripts/test-servers.sh) for the Postgres source. Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=${1:-.build/release/vitals}
: "${VITALS_TEST_PG_DSN:?source the test servers env first}"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
hash=$(python3 -W ignore -c 'import crypt; print(crypt.crypt("bench", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))')
printf 'basic_auth_users:\n  prometheus: %s\n' "$hash" > "$work/web.yml"
port=$((20000 + RANDOM % 20000))
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
fds() { ls "/proc/$pid/fd" | wc -l; }

( ulimit -Sn 1024; exec "$binary" --web.listen-address "127.0.0.1:$port" --web.config.file "$work/web.yml" \
    --postgres.dsn "$VITALS_TEST_PG_DSN" --postgres.interval 2s --log.level warn ) &
pid=$!
sleep 3
echo "soft limit after start: $(awk '/Max open files/ {print $4}' /proc/$pid/limits); RSS $(rss); fds $(fds)"
echo "idle: 2000 connections that each send GET /health and stay open 20 s, one authenticated scrape a second"
python3 bench/listener-attack.py idle --port "$port" --count 2000 --hold 20 --user prometheus --password bench &
attack=$!
sleep 15
echo "  during: RSS $(rss); fds $(fds); $(curl -s -u prometheus:bench "http://127.0.0.1:$port/metrics" | grep '^vitals_http_connections ')"
wait "$attack"
sleep 2
echo "  after: RSS $(rss); fds $(fds)"
echo "slowloris: 500 connections, one header byte every 5 s (header timeout 10 s)"
python3 bench/listener-attack.py slowloris --port "$port" --count 500 --interval 5 --duration 30 &
attack=$!
for _ in 1 2 3 4 5; do
  sleep 2
  curl -s -o /dev/null -u prometheus:bench -w "  scrape during slowloris: %{http_code} in %{time_total} s\n" "http://127.0.0.1:$port/metrics"
done
wait "$attack"
curl -s -u prometheus:bench "http://127.0.0.1:$port/metrics" | grep -E '^(pg_up|vitals_http_connections|process_max_fds) '
curl -s -u prometheus:bench "http://127.0.0.1:$port/metrics" | grep -E '^vitals_http_connections_closed_total'
