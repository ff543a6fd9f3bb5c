#!/usr/bin/env python3
"""Cardinality bomb: 1,000,000 distinct paths (each its own would-be route) through a live vitals.
Series must stay under the route cap and RSS must stay bounded.

usage: cardinality.py VITALS_BIN [--paths 1000000]
"""
import argparse
import os
import re
import shutil
import sys
import time

from common import start_vitals, rss_mib, scrape as fetch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--paths", type=int, default=1_000_000)
    a = ap.parse_args()
    work, log, port, vitals = start_vitals(a.vitals, "vitals-bomb-", "--timing-log.from-beginning")
    try:
        time.sleep(1)
        rss_start = rss_mib(vitals.pid)
        words = ["alpha", "beta", "gamma", "delta", "kappa", "omega"]
        with open(log, "a") as out:
            for start in range(0, a.paths, 50_000):
                out.write("".join(
                    f"2026-11-24 12:00:00,000 INFO t GET /{words[i % 6]}{i}/x{i % 977}/page{i} completed in 3.0ms\n"
                    for i in range(start, min(a.paths, start + 50_000))))
                out.flush()
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline:
            text = fetch(port)
            m = re.search(r'^vitals_log_lines_total\{source="timing_log",result="parsed"\} (\S+)$', text, re.M)
            if m and float(m.group(1)) >= a.paths:
                break
            time.sleep(0.5)
        routes = set(re.findall(r'^http_requests_total\{method="[A-Z]+",route="([^"]*)"\}', text, re.M))
        series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        overflow = re.search(r"^vitals_timing_log_route_overflow_total (\S+)$", text, re.M)
        print(f"cardinality bomb: {a.paths} distinct paths -> {len(routes)} routes (cap 200 + __other__), "
              f"{series} series in /metrics, {len(text) / 1024:.0f} KiB, overflow counted {overflow.group(1) if overflow else '?'}, "
              f"RSS {rss_start:.1f} -> {rss_mib(vitals.pid):.1f} MiB")
        return 0 if len(routes) <= 201 else 1
    finally:
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
