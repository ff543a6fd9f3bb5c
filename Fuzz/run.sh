#!/usr/bin/env bash
# Runs the libFuzzer harnesses: bash Fuzz/run.sh [RUNS] [NAME]
#   RUNS: inputs per harness (default 1,000,000); NAME: only the harnesses whose name contains it
#   (e.g. `bash Fuzz/run.sh 100000 Redis`). Results: the final stats of each run (peak RSS included).
# Outside CI: a release build with -sanitize=fuzzer,address takes several minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-1000000}
FILTER=${2:-}
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | tail -3
mkdir -p corpus/timing corpus/config corpus/postgres-log corpus/fingerprint corpus/redaction corpus/redis
printf '%s\n' '2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms' >corpus/timing/starlette
printf '%s\n' '127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /a?x=1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012' >corpus/timing/nginx
printf '%s\n' '{"method":"GET","path":"/a/1","status":200,"duration_ms":12.5}' >corpus/timing/json
printf 'timing-log:\n  path: [/x.log]\n  slow-threshold: 200ms\nweb: {listen-address: ":1"}\n' >corpus/config/basic.yml
# The other seeds are committed in corpus-seeds/ (taken from the unit tests' fixtures); libFuzzer
# writes new inputs only to the first directory it is given.
failed=()
for target in FuzzTimingLog:timing FuzzConfiguration:config FuzzPostgresLog:postgres-log FuzzFingerprint:fingerprint FuzzRedaction:redaction FuzzRedis:redis; do
  name=${target%%:*}; corpus=${target#*:}
  [[ $name == *"$FILTER"* ]] || continue
  seeds=()
  [[ -d corpus-seeds/$corpus ]] && seeds=("corpus-seeds/$corpus")
  echo "== $name: $RUNS inputs (log: Fuzz/corpus/$name.log)"
  # detect_leaks=0 (both for libFuzzer and at exit): LeakSanitizer reports Swift's lazily initialised globals (a compiled Regex) as
  # leaks on the first input; AddressSanitizer's memory-error checks stay on.
  start=$SECONDS
  # SWIFT_BACKTRACE=enable=no: let libFuzzer report a Swift trap (its stack, the input) instead of the runtime's backtracer.
  if SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 ".build/release/$name" -runs="$RUNS" -max_len=65536 -timeout=5 -rss_limit_mb=2048 -detect_leaks=0 \
    -print_final_stats=1 "corpus/$corpus" "${seeds[@]}" >"corpus/$name.log" 2>&1; then
    grep -E '^(Done|stat::(number_of_executed_units|average_exec_per_sec|slowest_unit_time_sec|peak_rss_mb))' "corpus/$name.log"
  else
    failed+=("$name")
    tail -40 "corpus/$name.log"
  fi
  echo "wall: $((SECONDS - start)) s"
done
if ((${#failed[@]})); then
  echo "FAILED: ${failed[*]} (crash, timeout or out-of-memory; the input is in Fuzz/crash-*, timeout-* or oom-*)" >&2
  exit 1
fi
