#!/usr/bin/env python3
"""Hostile clients against vitals' listener, on loopback, bounded in count and time.

  listener-attack.py idle      --port P --count 2000 --hold 20 [--user U --password W] [--tls]
  listener-attack.py slowloris --port P --count 500 --interval 5 --duration 30 [--tls]
  listener-attack.py silent    --port P --duration 20 [--tls] [--handshake]

idle:      N connections each send `GET /health HTTP/1.1` and stay open. Once the server has
           taken every one off its accept queue (answered or closed it), one scrape of /metrics
           a second on a fresh connection for --hold seconds. Prints JSON: connections the
           server accepted and answered, how many it closed, scrape latencies, and why any
           scrape failed.
slowloris: N connections each send one header byte every --interval seconds; prints when the
           server closed each one (seconds after its first byte).
silent:    one connection that sends nothing (with --tls --handshake: completes the TLS
           handshake, then sends nothing); prints when the server closed it.
"""
import argparse
import base64
import json
import resource
import selectors
import socket
import ssl
import statistics
import sys
import time


def raise_own_limit(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, needed + 64)) if hard != resource.RLIM_INFINITY else max(soft, needed + 64)
    if wanted > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def client_context():
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def connect(port, tls, handshake=True, timeout=5):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if not tls:
        return raw
    return client_context().wrap_socket(raw, do_handshake_on_connect=handshake)


def scrape(port, tls, user, password, timeout=5.0):
    """One GET /metrics on a fresh connection; returns (seconds, None) or (None, why it failed)."""
    start = time.monotonic()
    step = "connect"
    try:
        sock = connect(port, tls, timeout=timeout)
        step = "read"
        headers = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        if user is not None:
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            headers += f"Authorization: Basic {token}\r\n"
        sock.sendall((headers + "\r\n").encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        sock.close()
        if data.startswith(b"HTTP/1.1 200"):
            return time.monotonic() - start, None
        return None, "closed_without_response" if not data else "status_" + data[9:12].decode(errors="replace")
    except socket.timeout:
        return None, step + "_timeout"
    except OSError as error:
        return None, f"{step}_{type(error).__name__}"


def is_closed(sock):
    """Drains what the server sent; True once it has closed its end."""
    try:
        sock.setblocking(False)
        for _ in range(64):
            if sock.recv(65536) == b"":
                return True
        return False
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True


def settle(sockets, timeout):
    """Waits until each connection has its answer or was closed, that is until the server has
    accepted all of them: a scrape sent earlier would queue behind the flood's tail in the
    listen backlog and time the server's accept rate, not the listener under idle connections.
    Returns how many were still waiting at the deadline."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    waiting, deadline = len(sockets), time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for key, _ in selector.select(timeout=max(0.0, deadline - time.monotonic())):
            selector.unregister(key.fileobj)
            waiting -= 1
    selector.close()
    return waiting


def idle(args):
    raise_own_limit(args.count)
    sockets, refused = [], 0
    started_opening = time.monotonic()
    deadline = started_opening + args.open_timeout
    for _ in range(args.count):
        if time.monotonic() > deadline:
            break
        try:
            sock = connect(args.port, args.tls, timeout=2)
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            sockets.append(sock)
        except OSError:
            refused += 1
    opened_at = time.monotonic()
    unsettled = settle(sockets, args.settle_timeout)
    settled_at = time.monotonic()
    latencies, failures = [], {}
    while time.monotonic() - settled_at < args.hold:
        started = time.monotonic()
        seconds, why = scrape(args.port, args.tls, args.user, args.password)
        if seconds is None:
            key = f"{why} after {time.monotonic() - started:.1f} s at {started - settled_at:.1f} s"
            failures[key] = failures.get(key, 0) + 1
        else:
            latencies.append(seconds)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
    alive = sum(0 if is_closed(s) else 1 for s in sockets)
    for sock in sockets:
        sock.close()
    result = {
        "attempted": args.count, "connected": len(sockets), "connect_errors": refused, "open_at_end": alive,
        "scrapes_ok": len(latencies), "scrapes_failed": sum(failures.values()), "scrape_failures": failures,
        "open_seconds": round(opened_at - started_opening, 2), "settle_seconds": round(settled_at - opened_at, 2),
        "unsettled": unsettled,
        "scrape_median_seconds": statistics.median(latencies) if latencies else None,
        "scrape_max_seconds": max(latencies) if latencies else None,
    }
    print(json.dumps(result))


def slowloris(args):
    raise_own_limit(args.count)
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 10000
    sockets, started, closed_after, sent = [], [], {}, []
    for _ in range(args.count):
        try:
            sock = connect(args.port, args.tls, timeout=2)
            sock.sendall(request[:1])
            sockets.append(sock)
            started.append(time.monotonic())
            sent.append(1)
        except OSError:
            pass
    begin = time.monotonic()
    while time.monotonic() - begin < args.duration and len(closed_after) < len(sockets):
        time.sleep(min(args.interval, 1.0))
        now = time.monotonic()
        for index, sock in enumerate(sockets):
            if index in closed_after:
                continue
            if is_closed(sock):
                closed_after[index] = now - started[index]
                continue
            if now - started[index] >= sent[index] * args.interval and sent[index] < len(request):
                try:
                    sock.setblocking(True)
                    sock.sendall(request[sent[index]:sent[index] + 1])
                    sent[index] += 1
                except OSError:
                    closed_after[index] = now - started[index]
    for sock in sockets:
        sock.close()
    times = sorted(closed_after.values())
    print(json.dumps({
        "connected": len(sockets), "closed_by_server": len(times),
        "closed_after_min": times[0] if times else None, "closed_after_max": times[-1] if times else None,
        "bytes_sent_max": max(sent) if sent else 0,
    }))


def silent(args):
    start = time.monotonic()
    sock = connect(args.port, args.tls, handshake=args.handshake, timeout=args.duration + 5)
    if args.tls and args.handshake:
        sock.do_handshake()
    sock.settimeout(args.duration)
    closed_after = None
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                closed_after = time.monotonic() - start
                break
    except socket.timeout:
        pass
    except (OSError, ssl.SSLError):
        closed_after = time.monotonic() - start
    sock.close()
    print(json.dumps({"closed_after": closed_after}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["idle", "slowloris", "silent"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--hold", type=float, default=10)
    parser.add_argument("--open-timeout", type=float, default=60)
    parser.add_argument("--settle-timeout", type=float, default=60)
    parser.add_argument("--interval", type=float, default=5)
    parser.add_argument("--duration", type=float, default=30)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--handshake", action="store_true")
    args = parser.parse_args()
    {"idle": idle, "slowloris": slowloris, "silent": silent}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
