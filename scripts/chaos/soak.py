#!/usr/bin/env python3
"""Soak: vitals under steady load (a writer at --rate lines/s, a scrape every second) for
--seconds; RSS and open file descriptors are sampled and must stay flat.

usage: soak.py VITALS_BIN [--seconds 1800] [--rate 2000]

With the test servers' environment exported (scripts/test-servers.sh env DIR), the Postgres and
Redis sources run too (DSN and password through the environment, never argv).
Prints RSS and fds at the start, the middle and the end. Exits 1 if RSS at the end exceeds
1.5x (and +8 MiB) the RSS after warm-up, or fds grew by more than 2.
"""
import argparse
import os
import shutil
import sys
import time

from common import start_vitals, rss_mib, scrape as fetch


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument("--rate", type=int, default=2000)
    a = ap.parse_args()
    extra = []
    sources = ["timing-log"]
    if os.environ.get("VITALS_TEST_PG_DSN"):
        os.environ["DATA_SOURCE_NAME"] = os.environ["VITALS_TEST_PG_DSN"]
        extra += ["--postgres.interval", "5s"]
        sources.append("postgres")
    if os.environ.get("VITALS_TEST_REDIS_ADDR"):
        os.environ["REDIS_ADDR"] = os.environ["VITALS_TEST_REDIS_ADDR"]
        os.environ["REDIS_PASSWORD"] = os.environ.get("VITALS_TEST_REDIS_PASSWORD", "")
        extra += ["--redis.interval", "5s"]
        sources.append("redis")
    work, log, port, vitals = start_vitals(a.vitals, "vitals-soak-", *extra)
    print(f"soak: sources {', '.join(sources)}; {a.seconds:.0f} s at {a.rate} lines/s, one scrape a second", flush=True)
    samples = []
    loads = []  # the machine's 1-minute load average at each sample: the soak shares the machine
    try:
        start = time.monotonic()
        written = 0
        warm = None
        middle = None
        scrapes = failures = 0
        with open(log, "a") as out:
            while time.monotonic() - start < a.seconds:
                for _ in range(10):
                    batch = a.rate // 10
                    out.write("".join(
                        f"2026-11-24 12:00:00,000 INFO t GET /markets/{written + i} completed in {1 + (written + i) % 300}.5ms\n"
                        for i in range(batch)))
                    out.flush()
                    written += batch
                    time.sleep(0.1)
                try:
                    fetch(port)
                    scrapes += 1
                except OSError as error:
                    failures += 1
                    print(f"  scrape failed: {error}", flush=True)
                elapsed = time.monotonic() - start
                if int(elapsed) % 30 == 0 or not samples:
                    samples.append((elapsed, rss_mib(vitals.pid), fds(vitals.pid)))
                    loads.append(os.getloadavg()[0])
                    print(f"  t={elapsed:6.0f}s rss={samples[-1][1]:6.1f} MiB fds={samples[-1][2]} load={loads[-1]:.2f}", flush=True)
                if warm is None and elapsed > min(300, a.seconds / 3):
                    warm = samples[-1]
                if middle is None and elapsed >= a.seconds / 2:
                    middle = (elapsed, rss_mib(vitals.pid), fds(vitals.pid))
        end = (time.monotonic() - start, rss_mib(vitals.pid), fds(vitals.pid))
        first = samples[0]
        warm = warm or first
        middle = middle or end
        ok = end[1] <= max(warm[1] * 1.5, warm[1] + 8) and end[2] <= warm[2] + 2 and failures == 0
        rss_peak = max(s[1] for s in samples + [end])
        print(f"soak: {a.seconds:.0f} s, {written} lines, {scrapes} scrapes ({failures} failed); "
              f"RSS {first[1]:.1f} (start) / {warm[1]:.1f} (after warm-up, t={warm[0]:.0f}s) / {middle[1]:.1f} (middle) / "
              f"{end[1]:.1f} MiB (end), peak {rss_peak:.1f}; fds {first[2]} / {warm[2]} / {middle[2]} / {end[2]}: "
              f"{'flat' if ok else 'GREW'}; load average {min(loads):.2f}-{max(loads):.2f} ({os.cpu_count()} CPUs)")
        return 0 if ok else 1
    finally:
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
