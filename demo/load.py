#!/usr/bin/env python3
"""Load for the demo application (demo/app): a steady, realistic mix over its routes.

    python3 demo/load.py [--base-url http://127.0.0.1:10189] [--rate 30] [--seconds 0]
                         [--concurrency 8] [--seed 1] [--stats FILE] [--quiet]

Standard library only, so any python3 runs it. Requests are paced at --rate per second over
--concurrency keep-alive connections; when every connection is busy (the app's loop is
blocked, say) a request that cannot be queued is skipped and counted, not sent late in a
burst. Errors of any kind (refused, reset, timeout, 5xx) are counted and never stop the run.
--seconds 0 runs until SIGTERM or SIGINT. A summary goes to stdout at the end, and to
--stats FILE (JSON) every 5 s and at the end; progress goes to stderr every 10 s.

Only loopback addresses are accepted: this is a load generator.
"""

import argparse
import http.client
import ipaddress
import json
import os
import queue
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse

MARKETS = 2_000
USERS = 10_000
OUTCOMES_PER_MARKET = 20
SEARCH_WORDS = ["farm", "honey", "bakery", "cheese", "orchard", "vineyard", "golden", "river", "meadow", "saffron"]
CITIES = ["Lyon", "Porto", "Ghent", "Turin", "Graz", "Bergen"]


def market_id(rng: random.Random) -> int:
    """Skewed as real traffic is: a few markets are hot, most are visited rarely (log-uniform),
    and one request in a hundred asks for a market that does not exist."""
    if rng.random() < 0.01:
        return MARKETS + rng.randint(1, 100)
    return min(MARKETS, int(MARKETS ** rng.random()))


def user_id(rng: random.Random) -> int:
    return rng.randint(1, USERS)


def get_market(rng):
    return "GET", f"/markets/{market_id(rng)}", None


def get_market_summary(rng):
    return "GET", f"/markets/{market_id(rng)}/summary", None


def list_markets(rng):
    return "GET", "/markets?limit=20", None


def search_vendors(rng):
    params = {"q": rng.choice(SEARCH_WORDS)}
    if rng.random() < 0.3:
        params["city"] = rng.choice(CITIES)
    return "GET", "/vendors/search?" + urllib.parse.urlencode(params), None


def user_dashboard(rng):
    return "GET", f"/users/{user_id(rng)}/dashboard", None


def get_user(rng):
    return "GET", f"/users/{user_id(rng)}", None


def create_order(rng):
    market = rng.randint(1, MARKETS)
    outcome = (market - 1) * OUTCOMES_PER_MARKET + rng.randint(1, OUTCOMES_PER_MARKET)
    if rng.random() < 0.02:
        outcome = MARKETS * OUTCOMES_PER_MARKET + rng.randint(1, 1000)  # a stale form: 422
    body = {"user_id": user_id(rng), "market_id": market, "outcome_id": outcome,
            "amount": round(rng.uniform(1, 200), 2)}
    return "POST", "/orders", json.dumps(body).encode()


def get_report(rng):
    return "GET", f"/reports/{rng.randint(1, MARKETS)}", None


def health(rng):
    return "GET", "/health", None


# (name, weight, request maker); names are the route templates vitals reports.
MIX = [
    ("GET /markets/{id}", 30, get_market),
    ("GET /markets/{id}/summary", 12, get_market_summary),
    ("GET /markets", 5, list_markets),
    ("GET /vendors/search", 10, search_vendors),
    ("GET /users/{id}/dashboard", 15, user_dashboard),
    ("GET /users/{id}", 8, get_user),
    ("POST /orders", 10, create_order),
    ("GET /reports/{id}", 3, get_report),
    ("GET /health", 4, health),
]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.started = time.time()
        self.routes = {name: {"requests": 0, "status": {}} for name, _, _ in MIX}
        self.ok = 0          # 2xx
        self.client_errors = 0  # 4xx: planted (unknown market, stale order form)
        self.server_errors = 0  # 5xx
        self.failures = {}   # exception name -> count: no HTTP answer at all
        self.skipped = 0

    def record(self, route: str, status: int | None, failure: str | None = None):
        with self.lock:
            entry = self.routes[route]
            entry["requests"] += 1
            key = str(status) if status is not None else "failed"
            entry["status"][key] = entry["status"].get(key, 0) + 1
            if failure is not None:
                self.failures[failure] = self.failures.get(failure, 0) + 1
            elif 200 <= status < 300:
                self.ok += 1
            elif 400 <= status < 500:
                self.client_errors += 1
            else:
                self.server_errors += 1

    def skip(self):
        with self.lock:
            self.skipped += 1

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "seconds": round(time.time() - self.started, 1),
                "ok": self.ok,
                "client_errors": self.client_errors,
                "server_errors": self.server_errors,
                "failed": sum(self.failures.values()),
                "failures": dict(self.failures),
                "skipped": self.skipped,
                "routes": json.loads(json.dumps(self.routes)),
            }


def write_stats(path: str | None, stats: Stats):
    if not path:
        return
    tmp = f"{path}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(stats.snapshot(), f)
        os.replace(tmp, path)
    except OSError as e:
        print(f"load: cannot write {path}: {e.strerror}", file=sys.stderr)


def worker(host: str, port: int, timeout: float, jobs: queue.Queue, stats: Stats, stop: threading.Event):
    conn = None
    while True:
        job = jobs.get()
        if job is None:
            break
        route, method, path, body = job
        if stop.is_set():
            continue
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=timeout)
            headers = {"Content-Type": "application/json"} if body is not None else {}
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            stats.record(route, response.status)
            if response.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException) as e:
            stats.record(route, None, failure=type(e).__name__)
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def loopback_target(base_url: str) -> tuple[str, int]:
    parsed = urllib.parse.urlsplit(base_url)
    if parsed.scheme != "http" or not parsed.hostname:
        raise SystemExit(f"load: --base-url must be http://HOST:PORT, got {base_url!r}")
    host = parsed.hostname
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, parsed.port or 80, type=socket.SOCK_STREAM)}
    except socket.gaierror:
        raise SystemExit(f"load: cannot resolve {host!r}") from None
    if not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise SystemExit(f"load: {host!r} is not a loopback address; this generator only loads this machine")
    return host, parsed.port or 80


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Load for the vitals demo application (see module docstring).")
    p.add_argument("--base-url", default="http://127.0.0.1:10189")
    p.add_argument("--rate", type=float, default=30.0, help="requests per second (default %(default)s)")
    p.add_argument("--seconds", type=float, default=0.0, help="run time; 0 = until SIGTERM/SIGINT (default)")
    p.add_argument("--concurrency", type=int, default=8, help="connections (default %(default)s)")
    p.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: not reproducible)")
    p.add_argument("--stats", metavar="FILE", help="write the running totals here as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    a = p.parse_args(argv)
    if a.rate <= 0 or a.concurrency < 1 or a.seconds < 0 or a.timeout <= 0:
        p.error("--rate, --concurrency and --timeout must be positive, --seconds not negative")
    host, port = loopback_target(a.base_url)

    rng = random.Random(a.seed)
    names = [name for name, _, _ in MIX]
    weights = [weight for _, weight, _ in MIX]
    makers = {name: maker for name, _, maker in MIX}

    stats = Stats()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    jobs: queue.Queue = queue.Queue(maxsize=a.concurrency * 2)
    threads = [threading.Thread(target=worker, args=(host, port, a.timeout, jobs, stats, stop), daemon=True)
               for _ in range(a.concurrency)]
    for t in threads:
        t.start()

    interval = 1.0 / a.rate
    start = time.monotonic()
    deadline = start + a.seconds if a.seconds > 0 else None
    next_at = start
    next_progress = start + 10
    next_stats = start
    while not stop.is_set():
        now = time.monotonic()
        if deadline is not None and now >= deadline:
            break
        if now >= next_stats:
            write_stats(a.stats, stats)
            next_stats = now + 5
        if not a.quiet and now >= next_progress:
            s = stats.snapshot()
            print(f"load: {s['seconds']:.0f}s ok={s['ok']} 4xx={s['client_errors']} 5xx={s['server_errors']} "
                  f"failed={s['failed']} skipped={s['skipped']}", file=sys.stderr, flush=True)
            next_progress = now + 10
        if now < next_at:
            stop.wait(min(next_at - now, 0.5))
            continue
        # Fixed schedule, so the rate holds; after a long stall, restart it rather than burst.
        next_at = max(next_at + interval, now - 1.0)
        name = rng.choices(names, weights)[0]
        method, path, body = makers[name](rng)
        try:
            jobs.put_nowait((name, method, path, body))
        except queue.Full:
            stats.skip()

    stop.set()
    # Drop what is queued; each worker takes one None and exits after its request in flight.
    while True:
        try:
            jobs.get_nowait()
        except queue.Empty:
            break
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join(timeout=a.timeout + 1)
    write_stats(a.stats, stats)
    print(json.dumps(stats.snapshot()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
