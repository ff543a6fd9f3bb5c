#!/usr/bin/env python3
"""Rotation chaos: a writer appends timing lines at a fixed rate while the log is rotated many
times (rename-and-create and copytruncate, mixed, each as logrotate does it); vitals must count
every line exactly once.

Renames come every 0.6 s, three times as often as vitals reads a busy log (every 2 s): each new
file must be opened by the read a rotation triggers. Every fifth rotation is a copytruncate, which
waits 2.5 s after the rotation before it: copytruncate needs a read between a file's creation (or
its last truncation) and its truncation, since a truncation that finds vitals' offset at 0 looks
like an append and the copy's lines are then lost (LogTailer's "What can be lost").

usage: rotation.py VITALS_BIN [--rate 50000] [--rotations 100] [--rename-interval 0.6]
                   [--copytruncate-every 5] [--copytruncate-gap 2.5]
Writes until the last rotation, plus one second.
Exits 0 when vitals' http_requests_total equals the lines written, 1 otherwise.
"""
import argparse
import os
import re
import shutil
import sys
import time

from common import start_vitals, scrape as fetch, wait_until_serving


def scrape(port):
    text = fetch(port)
    total = sum(float(m.group(1)) for m in re.finditer(r"^http_requests_total\{.*\} (\S+)$", text, re.M))
    return total, text


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--rate", type=int, default=50000)
    ap.add_argument("--rotations", type=int, default=100)
    ap.add_argument("--rename-interval", type=float, default=0.6)
    ap.add_argument("--copytruncate-every", type=int, default=5)
    ap.add_argument("--copytruncate-gap", type=float, default=2.5)
    a = ap.parse_args()

    work, log, port, vitals = start_vitals(a.vitals, "vitals-chaos-", "--timing-log.from-beginning", "--event-loop.interval", "0")
    try:
        wait_until_serving(port)
        written = 0
        rotations = {"rename": 0, "copytruncate": 0}
        out = open(log, "a")
        start = time.monotonic()
        def is_copytruncate(n):
            return n % a.copytruncate_every == a.copytruncate_every - 1

        next_rotation = start + (a.copytruncate_gap if is_copytruncate(0) else a.rename_interval)
        end = None if a.rotations > 0 else start + 1
        batch = max(1, a.rate // 100)
        line = "2026-11-24 12:00:00,000 INFO app.middleware.timing GET /markets/{} completed in 12.5ms\n"
        while end is None or time.monotonic() < end:
            out.write("".join(line.format(written + i) for i in range(batch)))
            out.flush()
            written += batch
            now = time.monotonic()
            if now >= next_rotation and sum(rotations.values()) < a.rotations:
                n = sum(rotations.values())
                # What logrotate (`rotate 1`) does, traced with strace: the previous rotated file is
                # renamed to .2 and unlinked at the end, so a rotated file is never rewritten in place.
                previous = os.path.exists(f"{log}.1")
                if previous:
                    os.rename(f"{log}.1", f"{log}.2")
                if not is_copytruncate(n):  # `create`, logrotate's default: rename, then the app reopens
                    os.rename(log, f"{log}.1")
                    out.close()
                    out = open(log, "a")
                    rotations["rename"] += 1
                else:  # `copytruncate`: a new copy (O_EXCL), then the log truncated in place
                    with open(log, "rb") as source, open(f"{log}.1", "xb") as copy:
                        shutil.copyfileobj(source, copy)
                    os.truncate(log, 0)
                    rotations["copytruncate"] += 1
                if previous:
                    os.unlink(f"{log}.2")
                n += 1
                next_rotation = now + (a.copytruncate_gap if is_copytruncate(n) else a.rename_interval)
                if n == a.rotations:
                    end = now + 1
            target = start + written / a.rate
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        out.close()
        elapsed = time.monotonic() - start
        deadline = time.monotonic() + 60
        counted = 0
        while time.monotonic() < deadline:
            counted, _ = scrape(port)
            if counted >= written:
                time.sleep(1)
                counted, _ = scrape(port)
                break
            time.sleep(0.5)
        print(f"rotation chaos: wrote {written} lines in {elapsed:.1f} s ({written / elapsed:.0f} lines/s), "
              f"{rotations['rename']} rename + {rotations['copytruncate']} copytruncate rotations; "
              f"vitals counted {counted:.0f} ({counted - written:+.0f})")
        return 0 if counted == written else 1
    finally:
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
