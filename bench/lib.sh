# Helpers the bench scripts share (source it: `source bench/lib.sh`).

log() { echo "bench: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Nanoseconds on CPU, summed over the process's threads (schedstat; /proc/PID/stat counts in
# 10 ms ticks, too coarse for a process that idles at a few ms per second). A thread that exits
# takes its time with it: vitals' Swift-concurrency workers come and go, but over 90 s at rest this
# sum gave 41.4 ms where `perf stat -e task-clock -p PID`, which keeps exited threads, gave 42.4.
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%d\n", s}'; }

# Times the process's threads were put on a CPU (schedstat's third field, summed over threads): each
# wake-up is at least one, so its rate at rest is the rate of wake-ups.
timeslices() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $3} END {printf "%d\n", s}'; }

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
anon_kib() { awk '/^RssAnon/ {print $2}' "/proc/$1/status"; }

wait_for() { # URL PATTERN: until the body matches, at most 60 s
  local body
  for _ in $(seq 1 300); do
    if body=$(curl -sf "$1" 2>/dev/null) && grep -q "$2" <<<"$body"; then return 0; fi
    sleep 0.2
  done
  log "timed out waiting for $2 at $1"; return 1
}

# utime + stime in clock ticks (/proc/PID/stat; 10 ms each): for runs long enough that ticks suffice.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
