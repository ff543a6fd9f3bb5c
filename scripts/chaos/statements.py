#!/usr/bin/env python3
"""Statement cardinality bomb: 10,000 distinct statements (distinct table and column names, so
every one has its own fingerprint, not just other literals) through a live vitals.

1. The slow-query source: --statements records in a Postgres stderr log
   (log_line_prefix '%m [%p] %q%u@%d ', as scripts/test-servers.sh configures the server),
   written twice so that the re-ranked top K get series of their own.
2. With the test servers' environment exported (scripts/test-servers.sh env DIR), also the
   Postgres source: --statements distinct statements run against the real server, whose
   pg_stat_statements (preloaded there) the source reads for its top-N.

Checks that the fingerprint and queryid label values stay under their caps (--slow-query.top-k
plus "__other__", --postgres.statements.limit), that /slow-queries and /statements stay bounded,
and reports series counts, response sizes and RSS before and after.

usage: statements.py VITALS_BIN [--statements 10000]
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from common import start_vitals, rss_mib, scrape as fetch

TOP_K = 50
STATEMENTS_LIMIT = 100
MAX_FINGERPRINTS = 5000


def size(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as response:
        return len(response.read())


def label_values(text, family, label):
    return set(re.findall(rf'^{family}(?:_bucket|_count|_sum|)\{{[^}}]*{label}="([^"]*)"', text, re.M))


def series(text, prefix):
    return sum(1 for line in text.splitlines() if line.startswith(prefix))


def slow_log_records(count):
    """One `duration: … statement:` record per statement, each on its own table and column."""
    out = []
    for i in range(count):
        stamp = f"2026-11-24 12:{(i // 600) % 60:02d}:{(i // 10) % 60:02d}.{i % 1000:03d} UTC"
        out.append(f"{stamp} [{4000 + i % 50}] app@app LOG:  duration: {50 + i % 400}.{i % 1000:03d} ms  "
                   f"statement: SELECT col_{i}, note_{i % 7} FROM bomb_table_{i} WHERE id_{i} = {i} AND kind = 'k{i}';\n")
    return "".join(out)


def run_statements(superuser_dsn, count):
    """`count` statements with distinct query ids: every ordered pair of 100 columns of one table."""
    columns = ", ".join(f"c{i} int" for i in range(100))
    script = [f"DROP TABLE IF EXISTS vitals_statement_bomb; CREATE TABLE vitals_statement_bomb ({columns});",
              "SELECT pg_stat_statements_reset();"]
    for i in range(count):
        a, b, c = i % 100, (i // 100) % 100, (i // 10000) % 100
        script.append(f"SELECT c{a}, c{b} FROM vitals_statement_bomb WHERE c{c} = {i};")
    script.append("DROP TABLE vitals_statement_bomb;")
    started = time.monotonic()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", "-d", superuser_dsn],
                   input="\n".join(script), text=True, check=True)
    entries = subprocess.run(["psql", "-X", "-At", "-d", superuser_dsn, "-c",
                              "SELECT count(*) FROM pg_stat_statements"], text=True, capture_output=True, check=True)
    return time.monotonic() - started, int(entries.stdout.strip() or 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vitals")
    ap.add_argument("--statements", type=int, default=10_000)
    a = ap.parse_args()
    with_postgres = bool(os.environ.get("VITALS_TEST_PG_DSN") and os.environ.get("VITALS_TEST_PG_SUPERUSER_DSN"))
    extra = []
    if with_postgres:
        os.environ["DATA_SOURCE_NAME"] = os.environ["VITALS_TEST_PG_DSN"]
        extra += ["--postgres.interval", "2s", "--postgres.statements.limit", str(STATEMENTS_LIMIT)]
    slow_dir = tempfile.mkdtemp(prefix="vitals-statements-")
    slow_log = os.path.join(slow_dir, "postgresql.log")
    open(slow_log, "w").close()
    extra += ["--slow-query.log-path", slow_log, "--slow-query.log-line-prefix", "%m [%p] %q%u@%d ",
              "--slow-query.top-k", str(TOP_K), "--slow-query.max-fingerprints", str(MAX_FINGERPRINTS),
              "--slow-query.rerank-interval", "5s", "--slow-query.output", "none"]
    work, _, port, vitals = start_vitals(a.vitals, "vitals-statements-", *extra)
    ok = True
    try:
        time.sleep(2)
        rss_start = rss_mib(vitals.pid)
        print(f"statements bomb: {a.statements} distinct statements; postgres source: {'yes' if with_postgres else 'no (no VITALS_TEST_PG_* in the environment)'}", flush=True)

        # 1. The slow-statement log, twice: the first round fills the table, a re-rank picks the
        # top K, and the second round gives those their own series (the rest go to __other__).
        text = ""
        for round_number in (1, 2):
            with open(slow_log, "a") as out:
                out.write(slow_log_records(a.statements))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                text = fetch(port)
                m = re.search(r'^pg_slow_queries_total\{datname="app",user="app"\} (\S+)$', text, re.M)
                if m and float(m.group(1)) >= round_number * a.statements:
                    break
                time.sleep(0.5)
            time.sleep(6)  # one re-rank of the top K (--slow-query.rerank-interval 5s)
        text = fetch(port)
        counted = re.search(r'^pg_slow_queries_total\{datname="app",user="app"\} (\S+)$', text, re.M)
        fingerprints = label_values(text, "pg_slow_query_duration_seconds", "fingerprint")
        slow_series = series(text, "pg_slow_query")
        report_default = size(port, "/slow-queries")
        report_max = size(port, "/slow-queries?limit=100000")
        report_count = size(port, "/slow-queries?order=count&limit=100000")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/slow-queries?limit=1", timeout=30) as response:
            tracked = re.search(r'"tracked_fingerprints":(\d+)', response.read().decode())
        print(f"  slow-query source: {counted.group(1) if counted else '?'} statements counted, "
              f"{len(fingerprints)} fingerprint label values (cap {TOP_K} + __other__), {slow_series} pg_slow_query* series, "
              f"{tracked.group(1) if tracked else '?'} fingerprints tracked (cap {MAX_FINGERPRINTS}); "
              f"/slow-queries {report_default / 1024:.1f} KiB (default limit), {report_max / 1024:.1f} KiB (limit=100000), "
              f"{report_count / 1024:.1f} KiB (order=count)", flush=True)
        ok &= len(fingerprints) <= TOP_K + 1 and (tracked is None or int(tracked.group(1)) <= MAX_FINGERPRINTS)
        ok &= report_max < 2 * 1024 * 1024

        # 2. pg_stat_statements through the Postgres source.
        if with_postgres:
            elapsed, entries = run_statements(os.environ["VITALS_TEST_PG_SUPERUSER_DSN"], a.statements)
            time.sleep(5)  # two collection passes
            text = fetch(port)
            queryids = label_values(text, "pg_stat_statements_calls_total", "queryid")
            statement_series = series(text, "pg_stat_statements_")
            statements_size = size(port, "/statements")
            pg_up = re.search(r"^pg_up (\S+)$", text, re.M)
            print(f"  postgres source: {a.statements} statements run in {elapsed:.1f} s, {entries} entries in pg_stat_statements "
                  f"(pg_stat_statements.max), {len(queryids)} queryid label values (cap {STATEMENTS_LIMIT}), "
                  f"{statement_series} pg_stat_statements_* series, /statements {statements_size / 1024:.1f} KiB, "
                  f"pg_up {pg_up.group(1) if pg_up else '?'}", flush=True)
            ok &= len(queryids) <= STATEMENTS_LIMIT and pg_up is not None and pg_up.group(1) == "1"

        samples = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        print(f"  /metrics: {samples} series, {len(text) / 1024:.0f} KiB; RSS {rss_start:.1f} -> {rss_mib(vitals.pid):.1f} MiB: "
              f"{'bounded' if ok else 'OVER A CAP'}", flush=True)
        return 0 if ok else 1
    finally:
        vitals.terminate()
        vitals.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(slow_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
