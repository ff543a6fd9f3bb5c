#!/usr/bin/env python3
"""Percentile accuracy of histograms against the generator's ground truth.

usage: accuracy.py TRUTH.json NAME=FILE.prom [NAME=FILE.prom ...]

For every route of TRUTH.json, computes p50/p95/p99 from each exposition's
http_request_duration_seconds buckets exactly as Prometheus' histogram_quantile
does (linear interpolation inside the bucket; the lower bound of the first
bucket is 0) and prints the relative error against the truth as Markdown.
"""
import json
import re
import sys

SAMPLE = re.compile(r'^http_request_duration_seconds_bucket\{(.*)\} (\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def buckets(path):
    by_route = {}
    for line in open(path):
        m = SAMPLE.match(line.strip())
        if not m:
            continue
        labels = dict(LABEL.findall(m.group(1)))
        le = float('inf') if labels['le'] == '+Inf' else float(labels['le'])
        key = f"{labels['method']} {labels['route']}"
        by_route.setdefault(key, []).append((le, float(m.group(2))))
    return {k: sorted(v) for k, v in by_route.items()}


def quantile(q, bs):
    total = bs[-1][1]
    rank = q * total
    prev_le, prev_count = 0.0, 0.0
    for le, count in bs:
        if count >= rank:
            if le == float('inf'):
                return prev_le
            if count == prev_count:
                return le
            return prev_le + (le - prev_le) * (rank - prev_count) / (count - prev_count)
        prev_le, prev_count = le, count
    return prev_le


def main():
    truth = json.load(open(sys.argv[1]))
    tools = [arg.split('=', 1) for arg in sys.argv[2:]]
    parsed = {name: buckets(path) for name, path in tools}
    header = '| route | q | truth ms | ' + ' | '.join(f'{n} ms (error)' for n, _ in tools) + ' |'
    print(header)
    print('|' + '---|' * (3 + len(tools)))
    worst = {n: 0.0 for n, _ in tools}
    for route in sorted(truth):
        for q in ('p50', 'p95', 'p99'):
            t = truth[route][q]
            cells = []
            for name, _ in tools:
                est = quantile(int(q[1:]) / 100, parsed[name][route])
                err = abs(est - t) / t
                worst[name] = max(worst[name], err)
                cells.append(f'{est * 1000:.2f} ({err * 100:.1f} %)')
            print(f'| {route} | {q} | {t * 1000:.1f} | ' + ' | '.join(cells) + ' |')
    print()
    print('Worst error: ' + ', '.join(f'{n} {w * 100:.1f} %' for n, w in worst.items()))


if __name__ == '__main__':
    main()
