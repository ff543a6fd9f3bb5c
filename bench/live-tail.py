#!/usr/bin/env python3
"""Live tailing under a fast writer: lag stays bounded and every line is counted.

usage: live-tail.py VITALS_BIN [--rate 200000] [--seconds 60]

A writer appends generated timing-log lines (scripts/gen-timing-log.py, varied routes and
durations) at --rate lines/s, in batches every 10 ms, while vitals tails the file. Every second
the script scrapes vitals and records how far it is behind: lines written minus lines counted, and
vitals' own vitals_log_bytes_behind. At the end it waits for vitals to catch up and checks the count
equals the lines written. Prints one markdown row; exits 1 if a line was lost or counted twice.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "chaos"))
from common import rss_mib, scrape, start_vitals, wait_until_serving  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def counted_and_behind(port):
    text = scrape(port)
    counted = sum(float(m.group(1)) for m in re.finditer(r"^http_requests_total\{.*\} (\S+)$", text, re.M))
    behind = sum(float(m.group(1)) for m in re.finditer(r'^vitals_log_bytes_behind\{source="timing_log"\} (\S+)$', text, re.M))
    return counted, behind


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--rate", type=int, default=200_000)
    ap.add_argument("--seconds", type=float, default=60)
    a = ap.parse_args()

    # One second's worth of distinct lines, written over and over.
    sample = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen-timing-log.py"), str(a.rate), "5"],
                            check=True, capture_output=True).stdout
    lines = sample.splitlines(keepends=True)
    batch = max(1, a.rate // 100)
    chunks = [b"".join(lines[i:i + batch]) for i in range(0, len(lines), batch)]

    work, log, port, vitals = start_vitals(a.vitals, "vitals-live-", "--event-loop.interval", "0")
    samples = []
    stop = threading.Event()
    written = 0
    try:
        wait_until_serving(port)
        time.sleep(0.5)  # vitals has opened the file at its (empty) end

        def sampler():
            while not stop.wait(1.0):
                counted, behind = counted_and_behind(port)
                samples.append((written - counted, behind))

        thread = threading.Thread(target=sampler, daemon=True)
        cpu_before = cpu_seconds(vitals.pid)
        start = time.monotonic()
        thread.start()
        with open(log, "ab", buffering=0) as out:
            i = 0
            while time.monotonic() - start < a.seconds:
                chunk = chunks[i % len(chunks)]
                out.write(chunk)
                written += chunk.count(b"\n")
                i += 1
                delay = start + written / a.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
        elapsed = time.monotonic() - start
        deadline = time.monotonic() + 120
        counted = 0
        while time.monotonic() < deadline:
            counted, _ = counted_and_behind(port)
            if counted >= written:
                break
            time.sleep(0.2)
        caught_up = time.monotonic() - start - elapsed
        stop.set()
        thread.join()
        time.sleep(1)
        counted, _ = counted_and_behind(port)
        cpu = cpu_seconds(vitals.pid) - cpu_before
        lag_lines = [s[0] for s in samples] or [0]
        lag_bytes = [s[1] for s in samples] or [0]
        print(f"| {a.rate:,} lines/s for {a.seconds:.0f} s | {written:,} | {counted:,.0f} ({counted - written:+.0f}) | "
              f"{max(lag_lines):,.0f} lines / {max(lag_bytes) / 1024:,.0f} KiB | {caught_up:.1f} s | "
              f"{cpu / elapsed * 100:.0f} % of a core | {rss_mib(vitals.pid):.1f} MiB |")
        return 0 if counted == written else 1
    finally:
        stop.set()
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
