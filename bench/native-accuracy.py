#!/usr/bin/env python3
"""Native-histogram accuracy, queried from a real Prometheus.

usage: native-accuracy.py VITALS_BIN LOG TRUTH.json [SCHEMA ...]   (default schemas: 3 4 5 6)

For each schema, starts `vitals` on LOG (read from the beginning) with that native-histogram
schema and a Prometheus 2.42 with --enable-feature=native-histograms scraping it, waits until
every line is counted, then asks Prometheus for histogram_quantile(q, sum by (method, route)
(http_request_duration_seconds)) for q = 0.5, 0.95, 0.99 and prints the relative error against
the generator's truth as Markdown. The same query on the classic buckets is shown alongside.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def query(port, expr):
    body = json.loads(get(f'http://127.0.0.1:{port}/api/v1/query?query=' + urllib.parse.quote(expr)))
    return {f"{s['metric'].get('method')} {s['metric'].get('route')}": float(s['value'][1]) for s in body['data']['result']}


def wait_for(predicate, timeout, what):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.5)
    sys.exit(f'timed out waiting for {what}')


def measure(vitals_bin, log, truth, schema, work):
    lines = sum(t['n'] for t in truth.values())
    vport, pport = free_port(), free_port()
    vitals = subprocess.Popen([vitals_bin, '--web.listen-address', f'127.0.0.1:{vport}', '--timing-log.path', log,
                               '--timing-log.from-beginning', '--timing-log.native-histogram-schema', str(schema),
                               '--log.level', 'warn'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    directory = tempfile.mkdtemp(dir=work)
    with open(f'{directory}/prometheus.yml', 'w') as f:
        f.write(f'global: {{scrape_interval: 1s}}\nscrape_configs:\n  - job_name: vitals\n'
                f'    static_configs: [{{targets: ["127.0.0.1:{vport}"]}}]\n')
    prometheus = subprocess.Popen(['prometheus', f'--config.file={directory}/prometheus.yml', f'--storage.tsdb.path={directory}/tsdb',
                                   f'--web.listen-address=127.0.0.1:{pport}', '--enable-feature=native-histograms', '--log.level=warn'],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: sum(query(pport, 'sum by (method, route) (histogram_count(http_request_duration_seconds))').values()) >= lines,
                 180, f'Prometheus to hold all {lines} observations (schema {schema})')
        estimates = {q: query(pport, f'histogram_quantile({q}, sum by (method, route) (http_request_duration_seconds))')
                     for q in (0.5, 0.95, 0.99)}
        buckets = query(pport, 'count(count by (le) (http_request_duration_seconds_bucket))')
        return estimates, bool(buckets)
    finally:
        for p in (prometheus, vitals):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)


def main():
    vitals_bin, log, truth_path = sys.argv[1:4]
    schemas = [int(s) for s in sys.argv[4:]] or [3, 4, 5, 6]
    truth = json.load(open(truth_path))
    work = tempfile.mkdtemp(prefix='vitals-native-')
    rows, worst, classic_too = {}, {}, {}
    for schema in schemas:
        estimates, classic_too[schema] = measure(vitals_bin, log, truth, schema, work)
        worst[schema] = 0.0
        for route in sorted(truth):
            for q, key in ((0.5, 'p50'), (0.95, 'p95'), (0.99, 'p99')):
                t = truth[route][key]
                est = estimates[q][route]
                err = abs(est - t) / t
                worst[schema] = max(worst[schema], err)
                rows.setdefault((route, key, t), []).append(f'{est * 1000:.2f} ({err * 100:.2f} %)')
    print('| route | q | truth ms | ' + ' | '.join(f'schema {s} ms (error)' for s in schemas) + ' |')
    print('|' + '---|' * (3 + len(schemas)))
    for (route, key, t), cells in rows.items():
        print(f'| {route} | {key} | {t * 1000:.1f} | ' + ' | '.join(cells) + ' |')
    print()
    print('Worst error: ' + ', '.join(f'schema {s} {w * 100:.2f} %' for s, w in worst.items()))
    print('Classic _bucket series also ingested by this Prometheus: ' +
          ', '.join(f'schema {s}: {"yes" if c else "no"}' for s, c in classic_too.items()))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
