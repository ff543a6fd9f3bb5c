#!/usr/bin/env python3
"""Writes N access-log lines in one of vitals' built-in timing-log formats, for bench/ingest-formats.sh.

    python3 bench/gen-format-lines.py FORMAT N [SEED] > FILE

FORMAT is a --timing-log.format value (nginx-upstream: nginx with $upstream_response_time).
Routes, methods, statuses and durations vary (a few hundred routes, log-normal durations) so the
parser, the route templater and the histograms all do their real work; every line parses.
"""
import json
import random
import sys

FORMATS = ["starlette", "nginx", "nginx-upstream", "gunicorn", "apache", "caddy", "traefik", "haproxy", "envoy", "alb", "heroku", "json"]


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in FORMATS:
        sys.exit(f"usage: gen-format-lines.py {{{','.join(FORMATS)}}} N [SEED]")
    fmt, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    methods = ["GET"] * 8 + ["POST", "PUT", "DELETE"]
    statuses = [200] * 30 + [201, 204, 301, 304, 400, 404, 404, 500, 502, 503]
    bases = ["/markets", "/api/v2/orders", "/users", "/files", "/search", "/static/app", "/health"]
    agent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
    out = sys.stdout
    for i in range(count):
        method = rng.choice(methods)
        status = rng.choice(statuses)
        path = f"{rng.choice(bases)}/{rng.randrange(100000)}"
        if rng.random() < 0.3:
            path += f"?page={rng.randrange(20)}"
        seconds = min(rng.lognormvariate(-3.5, 1.0), 30.0)
        upstream = seconds * 0.8
        ip = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        size = rng.randrange(50, 50000)
        stamp = "04/Dec/2026:05:48:31 +0000"
        if fmt == "starlette":
            line = f"2026-12-04 05:48:31,{i % 1000:03d} INFO app.middleware.timing {method} {path} completed in {seconds * 1000:.1f}ms"
        elif fmt == "nginx":
            line = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}" {seconds:.3f}'
        elif fmt == "nginx-upstream":
            up = f"{upstream:.3f}" if rng.random() < 0.95 else f"0.000, {upstream:.3f}"
            line = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}" {seconds:.3f} {up}'
        elif fmt == "gunicorn":
            line = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "-" "{agent}" {seconds:.6f}'
        elif fmt == "apache":
            line = f'{ip} - - [{stamp}] "{method} {path} HTTP/1.1" {status} {size} "https://example.com/" "{agent}" {int(seconds * 1e6)}'
        elif fmt == "caddy":
            line = json.dumps({
                "level": "info", "ts": 1796363697.5 + i / 1000, "logger": "http.log.access.log0", "msg": "handled request",
                "request": {"remote_ip": ip, "remote_port": "38194", "proto": "HTTP/1.1", "method": method, "host": "example.com",
                            "uri": path, "headers": {"Accept": ["*/*"], "User-Agent": [agent]}},
                "user_id": "", "duration": round(seconds, 9), "size": size, "status": status,
                "resp_headers": {"Server": ["Caddy"], "Content-Type": ["text/plain; charset=utf-8"]}}, separators=(",", ":"))
        elif fmt == "traefik":
            line = json.dumps({
                "ClientAddr": f"{ip}:54321", "ClientHost": ip, "DownstreamContentSize": size, "DownstreamStatus": status,
                "Duration": int(seconds * 1e9), "OriginContentSize": size, "OriginDuration": int(upstream * 1e9), "OriginStatus": status,
                "RequestAddr": "example.com", "RequestHost": "example.com", "RequestMethod": method, "RequestPath": path,
                "RequestProtocol": "HTTP/1.1", "RequestScheme": "https", "RetryAttempts": 0, "RouterName": "api@docker",
                "StartUTC": "2026-12-04T05:48:31.52Z", "entryPointName": "websecure", "level": "info", "msg": "",
                "time": "2026-12-04T05:48:31Z"}, separators=(",", ":"))
        elif fmt == "haproxy":
            ta = int(seconds * 1000)
            line = (f"{ip}:{rng.randrange(1024, 65535)} [04/Dec/2026:05:48:31.{i % 1000:03d}] fe be/s{rng.randrange(4)} "
                    f"0/0/1/{max(ta - 1, 0)}/{ta} {status} {size} - - ---- 12/12/3/1/0 0/0 \"{method} {path} HTTP/1.1\"")
        elif fmt == "envoy":
            line = (f'[2026-12-04T05:48:31.{i % 1000:03d}Z] "{method} {path} HTTP/1.1" {status} - 0 {size} {int(seconds * 1000)} '
                    f'{int(upstream * 1000)} "{ip}" "{agent}" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "example.com" "10.0.2.1:80"')
        elif fmt == "alb":
            line = (f'https 2026-12-04T05:48:31.186641Z app/my-lb/50dc6c495c0c9188 {ip}:2817 10.0.0.1:80 0.000 {upstream:.3f} 0.000 '
                    f'{status} {status} 34 {size} "{method} https://example.com:443{path} HTTP/1.1" "{agent}" '
                    f'ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/t/73e2d6bc24d8a067 '
                    f'"Root=1-58337262-36d228ad5d99923122bbe354" "example.com" "-" 0 2026-12-04T05:48:31.000000Z "forward" "-" "-" '
                    f'"10.0.0.1:80" "{status}" "-" "-"')
        elif fmt == "heroku":
            line = (f'2026-12-04T05:48:31.{i % 1000000:06d}+00:00 heroku[router]: at=info method={method} path="{path}" '
                    f'host=app.herokuapp.com request_id=8601b555-6a83-4c12-8269-97c8e32cdb22 fwd="{ip}" dyno=web.{rng.randrange(1, 5)} '
                    f'connect={rng.randrange(3)}ms service={int(seconds * 1000)}ms status={status} bytes={size} protocol=https')
        else:  # json
            line = json.dumps({"ts": "2026-12-04T05:48:31Z", "level": "info", "method": method, "path": path,
                               "status": status, "duration_ms": round(seconds * 1000, 3)}, separators=(",", ":"))
        out.write(line + "\n")


if __name__ == "__main__":
    main()
