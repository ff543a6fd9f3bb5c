#!/usr/bin/env python3
"""Soak: vitals under steady load (a writer at --rate lines/s, a scrape every second) for
--seconds; RSS and open file descriptors are sampled and must stay flat.

usage: soak.py VITALS_BIN [--seconds 1800] [--rate 2000]
Exits 1 if RSS at the end exceeds 1.5x (and +8 MiB) the RSS after warm-up, or fds grew.
"""
import argparse
import os
import shutil
import sys
import time

from common import start_vitals, rss_mib, scrape as fetch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--seconds", type=float, default=1800)
    ap.add_argument("--rate", type=int, default=2000)
    a = ap.parse_args()
    work, log, port, vitals = start_vitals(a.vitals, "vitals-soak-")
    samples = []
    try:
        start = time.monotonic()
        written = 0
        warm = None
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
                fetch(port)
                elapsed = time.monotonic() - start
                if int(elapsed) % 30 == 0 or not samples:
                    fds = len(os.listdir(f"/proc/{vitals.pid}/fd"))
                    samples.append((elapsed, rss_mib(vitals.pid), fds))
                    print(f"  t={elapsed:6.0f}s rss={samples[-1][1]:6.1f} MiB fds={fds}", flush=True)
                if warm is None and elapsed > min(300, a.seconds / 3):
                    warm = samples[-1]
        end = (time.monotonic() - start, rss_mib(vitals.pid), len(os.listdir(f"/proc/{vitals.pid}/fd")))
        warm = warm or samples[0]
        ok = end[1] <= max(warm[1] * 1.5, warm[1] + 8) and end[2] <= warm[2] + 2
        print(f"soak: {a.seconds:.0f} s, {written} lines; RSS {warm[1]:.1f} MiB after warm-up -> {end[1]:.1f} MiB at the end; "
              f"fds {warm[2]} -> {end[2]}: {'flat' if ok else 'GREW'}")
        return 0 if ok else 1
    finally:
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
