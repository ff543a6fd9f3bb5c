#!/usr/bin/env bash
# The shipped binary's link order (issue 18): every function the daemon runs, so that `make shipped`
# lays them out next to each other and the daemon touches few pages of its 18 MB of text.
#
#   bash bench/link-order.sh [BINARY] [SECONDS]   # BINARY unstripped (default .build-static/release/vitals), 120 s
#
# Runs BINARY under valgrind's callgrind, which counts every function that runs however rarely
# (a sampling profiler misses the start-up and once-a-minute code, and those pages stay resident
# too). The daemon runs with every source on, as in bench/cost-to-run.sh: a timing log being
# written, Postgres, Redis, the server's log for the slow-query source, findings, the page, scrapes
# in text, as Prometheus asks (OpenMetrics, gzip) and in protobuf, and a SIGHUP. Writes
# deploy/link-order.txt: the binary's functions that ran, the most instructions first, by their
# symbol names. A name the code no longer has is skipped by the linker
# (--no-warn-symbol-ordering), so a stale list costs touched pages, never a failed build.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BINARY=${1:-$ROOT/.build-static/release/vitals}
SECONDS_TO_RECORD=${2:-120}
OUT="$ROOT/bench/out/link-order"
rm -rf "$OUT" && mkdir -p "$OUT/log"
# shellcheck source=bench/lib.sh
source bench/lib.sh
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y valgrind >/dev/null

start_bench_servers "$OUT/servers"
seed_bench_table

log_file="$OUT/log/app.log"
python3 scripts/gen-timing-log.py 200 3 >"$log_file"
python3 scripts/gen-timing-log.py 0 3 --rate 100 --append "$log_file" >/dev/null 2>&1 &
PIDS+=($!)
# valgrind cannot read the DWARF 5 of Swift's clang; the symbol table is all callgrind needs.
objcopy --strip-debug "$BINARY" "$OUT/vitals"
PORT=$(free_port)
REDIS_PASSWORD=$VITALS_TEST_REDIS_PASSWORD valgrind --tool=callgrind --demangle=no --callgrind-out-file="$OUT/callgrind.out" \
  "$OUT/vitals" --web.listen-address "127.0.0.1:$PORT" \
  --timing-log.path "$log_file" --timing-log.from-beginning \
  --postgres.dsn "$VITALS_TEST_PG_DSN" --redis.addr "redis://127.0.0.1:$VITALS_TEST_REDIS_PORT" \
  --slow-query.log-path "$VITALS_TEST_PG_LOG" --slow-query.log-line-prefix "$VITALS_TEST_PG_LOG_LINE_PREFIX" \
  >"$OUT/vitals.log" 2>&1 &
PID=$!
PIDS+=("$PID")
wait_for "http://127.0.0.1:$PORT/metrics" "^redis_up 1" >/dev/null || wait_for "http://127.0.0.1:$PORT/metrics" "^redis_up 1" >/dev/null  # slow under valgrind
(
  while :; do psql -XqAt "$VITALS_TEST_PG_DSN" -c "SELECT pg_sleep(0.06), count(*) FROM bench_cost" >/dev/null 2>&1; sleep 5; done
) &
PIDS+=($!)
end=$((SECONDS + SECONDS_TO_RECORD))
round=0
while ((SECONDS < end)); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT/metrics"
  scrape_like_prometheus "http://127.0.0.1:$PORT/metrics"
  curl -s -o /dev/null -H 'Accept-Encoding: gzip' -H 'Accept: application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited' \
    "http://127.0.0.1:$PORT/metrics"
  curl -s -o /dev/null "http://127.0.0.1:$PORT/"
  curl -s -o /dev/null "http://127.0.0.1:$PORT/findings"
  ((round++ == 2)) && kill -HUP "$PID"
  sleep 15
done
kill -TERM "$PID"
wait "$PID" || true

# Self cost per function of the binary's object ("ob="), from callgrind's compressed format:
# "fn=(id) name" names a function once, "fn=(id)" repeats it; the cost line after "calls=" is the
# callee's inclusive cost and is not the caller's own.
python3 - "$OUT/callgrind.out" "$OUT/vitals" >"$ROOT/deploy/link-order.txt" <<'PY'
import re, sys
path, binary = sys.argv[1], sys.argv[2]
objects, functions, cost = {}, {}, {}
current_object = current_function = None
skip_next = False
def named(table, field):
    m = re.match(r'\((\d+)\)(?: (.*))?$', field)
    if not m:
        return field
    if m.group(2) is not None:
        table[m.group(1)] = m.group(2)
    return table.get(m.group(1))
for line in open(path, errors='replace'):
    line = line.rstrip('\n')
    if line.startswith('ob='):
        current_object = named(objects, line[3:])
    elif line.startswith(('cob=', 'cfi=', 'cfl=')):
        if line.startswith('cob='): named(objects, line[4:])
    elif line.startswith('fn='):
        current_function = named(functions, line[3:])
        cost.setdefault((current_object, current_function), 0)
    elif line.startswith('cfn='):
        named(functions, line[4:])
    elif line.startswith('calls='):
        skip_next = True
    elif line and (line[0].isdigit() or line[0] in '+-*'):
        if skip_next:
            skip_next = False
            continue
        parts = line.split()
        if len(parts) >= 2 and current_function:
            cost[(current_object, current_function)] += int(parts[1])
ran = [(c, f) for (o, f), c in cost.items() if o == binary and f]
for c, f in sorted(ran, key=lambda x: (-x[0], x[1])):
    print(f)
PY
echo "$(wc -l <"$ROOT/deploy/link-order.txt") functions ran; deploy/link-order.txt written." >&2
