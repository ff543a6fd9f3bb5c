#!/usr/bin/env bash
# Runs the libFuzzer harnesses: bash Fuzz/run.sh [RUNS]   (default 1,000,000 inputs each)
# Outside CI: a release build with -sanitize=fuzzer,address takes several minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:-1000000}
swift build -c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | tail -3
mkdir -p corpus/timing corpus/config
printf '%s\n' '2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms' >corpus/timing/starlette
printf '%s\n' '127.0.0.1 - - [22/Nov/2026:12:00:00 +0000] "GET /a?x=1 HTTP/1.1" 200 612 "-" "curl/8.0" 0.012' >corpus/timing/nginx
printf '%s\n' '{"method":"GET","path":"/a/1","status":200,"duration_ms":12.5}' >corpus/timing/json
printf 'timing-log:\n  path: [/x.log]\n  slow-threshold: 200ms\nweb: {listen-address: ":1"}\n' >corpus/config/basic.yml
for target in FuzzTimingLog:corpus/timing FuzzConfiguration:corpus/config; do
  name=${target%%:*}; corpus=${target#*:}
  echo "== $name: $RUNS inputs"
  # detect_leaks=0 (both for libFuzzer and at exit): LeakSanitizer reports Swift's lazily initialised globals (a compiled Regex) as
  # leaks on the first input; AddressSanitizer's memory-error checks stay on.
  ASAN_OPTIONS=detect_leaks=0 ".build/release/$name" -runs="$RUNS" -max_len=65536 -timeout=5 -rss_limit_mb=2048 -detect_leaks=0 "$corpus" 2>&1 | tail -4
done
