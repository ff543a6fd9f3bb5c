#!/usr/bin/env python3
"""Synthetic Starlette/FastAPI request-timing log for vitals' tests, demo and benchmarks.

    gen-timing-log.py N [SEED] [--truth FILE] [--rate R] [--append PATH] [--start TS]

Writes N lines (N=0 with --rate: forever) in the python-logging layout
"%(asctime)s %(levelname)s %(name)s %(message)s", one line per request:

    2026-11-22 12:00:00,003 INFO app.middleware.timing GET /markets/42 completed in 12.3ms
    2026-11-22 12:00:00,006 WARNING app.middleware.timing SLOW REQUEST: GET /dashboard took 250.1ms

A request whose printed duration is over 200.0 ms is logged as the WARNING line
*instead of* the INFO line (if/else, as a timing middleware typically does), so
every line is exactly one request.

Latencies are lognormal per route (mu, sigma of ln(ms)); "{id}" is a random
integer 1..50000. Output is deterministic for a given SEED (default 1) unless
--rate is used, where timestamps are the real wall-clock time.

--truth FILE writes the exact nearest-rank p50/p95/p99 per route template over
the printed (rounded) durations, in seconds: the value at index ceil(q*n)-1 of
the sorted list. It also records n, sum (seconds) and slow (WARNING lines).
A readable table goes to stderr either way.
"""

import argparse
import datetime as dt
import json
import math
import os
import random
import signal
import sys
import time

LOGGER = "app.middleware.timing"
SLOW_MS = 200.0

# (method, template, mu, sigma, weight)
ROUTES = [
    ("GET", "/markets/{id}", 3.0, 0.6, 30),
    ("GET", "/markets", 3.6, 0.5, 15),
    ("GET", "/vendors/search", 4.1, 0.7, 12),
    ("POST", "/markets/{id}/applications", 3.9, 0.8, 5),
    ("PUT", "/markets/{id}", 3.3, 0.5, 4),
    ("GET", "/dashboard", 4.6, 0.9, 8),
    ("GET", "/health", 0.2, 0.3, 25),
    ("DELETE", "/vendors/{id}", 3.2, 0.4, 1),
]
QUANTILES = (("p50", 50), ("p95", 95), ("p99", 99))  # percent, exact integer math
BATCH = 8192


class Stop(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Generate a synthetic Starlette timing log (see module docstring).")
    p.add_argument("n", type=int, help="number of lines (0 = forever, with --rate)")
    p.add_argument("seed", type=int, nargs="?", default=1, help="random seed (default 1)")
    p.add_argument("--truth", metavar="FILE", help="write exact per-route quantiles as JSON")
    p.add_argument("--rate", type=float, default=0.0, metavar="R",
                   help="pace output at R lines/second (timestamps = wall clock)")
    p.add_argument("--append", metavar="PATH", help="append to PATH instead of stdout")
    p.add_argument("--start", default="2026-11-22 12:00:00", metavar="TS",
                   help="first timestamp without --rate (default %(default)s)")
    a = p.parse_args(argv)
    if a.n < 0:
        p.error("N must be >= 0")
    if a.n == 0 and a.rate <= 0:
        p.error("N=0 (forever) needs --rate")
    if a.rate < 0:
        p.error("--rate must be positive")
    return a


class Generator:
    def __init__(self, seed, start, collect):
        self.rng = random.Random(seed)
        self.cum = []
        total = 0
        for r in ROUTES:
            total += r[4]
            self.cum.append(total)
        self.idx = list(range(len(ROUTES)))
        self.collect = collect
        # durations per route in tenths of a millisecond (exact printed values)
        self.samples = [[] for _ in ROUTES]
        self.counts = [0] * len(ROUTES)
        self.sums = [0] * len(ROUTES)  # tenths of ms
        self.slow = [0] * len(ROUTES)
        self.clock_ms = int(dt.datetime.strptime(start, "%Y-%m-%d %H:%M:%S")
                            .replace(tzinfo=dt.timezone.utc).timestamp()) * 1000
        self._sec = None
        self._sec_str = ""

    def _stamp(self, ms_epoch, utc):
        sec, ms = divmod(ms_epoch, 1000)
        if sec != self._sec:
            self._sec = sec
            if utc:
                t = dt.datetime.fromtimestamp(sec, dt.timezone.utc)
            else:
                t = dt.datetime.fromtimestamp(sec)
            self._sec_str = t.strftime("%Y-%m-%d %H:%M:%S")
        return "%s,%03d" % (self._sec_str, ms)

    def lines(self, k, wallclock=False):
        """Return k log lines as one string."""
        rng = self.rng
        picks = rng.choices(self.idx, cum_weights=self.cum, k=k)
        gauss = rng.gauss
        randint = rng.randint
        rand = rng.random
        routes = ROUTES
        samples, counts, sums, slow = self.samples, self.counts, self.sums, self.slow
        collect = self.collect
        out = []
        append = out.append
        if wallclock:
            now_ms = int(time.time() * 1000)
        for i in picks:
            method, tmpl, mu, sigma, _ = routes[i]
            # lognormal, rounded to the printed 0.1 ms; at least 0.1 ms
            tenths = int(math.exp(mu + sigma * gauss(0.0, 1.0)) * 10.0 + 0.5)
            if tenths < 1:
                tenths = 1
            if "{id}" in tmpl:
                path = tmpl.replace("{id}", str(randint(1, 50000)))
            else:
                path = tmpl
            if wallclock:
                ts = self._stamp(now_ms, utc=False)
            else:
                self.clock_ms += int(rand() * 8)  # 0..7 ms between requests
                ts = self._stamp(self.clock_ms, utc=True)
            counts[i] += 1
            sums[i] += tenths
            if collect:
                samples[i].append(tenths)
            dur = "%d.%d" % divmod(tenths, 10)
            if tenths > SLOW_MS * 10:
                slow[i] += 1
                append("%s WARNING %s SLOW REQUEST: %s %s took %sms\n"
                       % (ts, LOGGER, method, path, dur))
            else:
                append("%s INFO %s %s %s completed in %sms\n"
                       % (ts, LOGGER, method, path, dur))
        return "".join(out)

    def truth(self):
        result = {}
        for i, (method, tmpl, _mu, _sigma, _w) in enumerate(ROUTES):
            n = self.counts[i]
            entry = {"n": n, "sum": round(self.sums[i] / 10000.0, 4), "slow": self.slow[i]}
            if self.collect and n:
                s = sorted(self.samples[i])
                for name, pct in QUANTILES:
                    rank = (pct * n + 99) // 100  # ceil(q*n), exact
                    entry[name] = s[rank - 1] / 10000.0  # tenths of ms -> seconds
            else:
                for name, _pct in QUANTILES:
                    entry[name] = None
            result["%s %s" % (method, tmpl)] = entry
        return result


def print_table(truth, total, stream):
    stream.write("%-36s %9s %9s %9s %9s %8s\n"
                 % ("route", "n", "p50 ms", "p95 ms", "p99 ms", "slow"))
    for route, e in truth.items():
        def ms(v):
            return "-" if v is None else "%.1f" % (v * 1000.0)
        stream.write("%-36s %9d %9s %9s %9s %8d\n"
                     % (route, e["n"], ms(e["p50"]), ms(e["p95"]), ms(e["p99"]), e["slow"]))
    stream.write("%-36s %9d\n" % ("total", total))


def main(argv):
    a = parse_args(argv)
    gen = Generator(a.seed, a.start, collect=bool(a.truth) or a.n > 0)

    if a.append:
        out = open(a.append, "a", encoding="utf-8", buffering=1 << 20)
    else:
        out = sys.stdout

    def on_term(_signum, _frame):
        raise Stop()

    signal.signal(signal.SIGTERM, on_term)
    written = 0
    try:
        if a.rate > 0:
            tick = 0.05 if a.rate >= 20 else 1.0 / a.rate
            t0 = time.monotonic()
            while a.n == 0 or written < a.n:
                due = int((time.monotonic() - t0) * a.rate) + 1
                k = due - written
                if a.n:
                    k = min(k, a.n - written)
                if k > 0:
                    out.write(gen.lines(k, wallclock=True))
                    out.flush()
                    written += k
                time.sleep(tick)
        else:
            while written < a.n:
                k = min(BATCH, a.n - written)
                out.write(gen.lines(k))
                written += k
                if a.append:
                    out.flush()
            out.flush()
    except (Stop, KeyboardInterrupt):
        pass
    except BrokenPipeError:
        # reader went away (e.g. `| head`); silence the final flush error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        try:
            out.flush()
        except (BrokenPipeError, ValueError):
            pass
        if a.append:
            out.close()

    truth = gen.truth()
    if a.truth:
        with open(a.truth, "w", encoding="utf-8") as f:
            json.dump(truth, f, indent=2)
            f.write("\n")
    print_table(truth, written, sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
