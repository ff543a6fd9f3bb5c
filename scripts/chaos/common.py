"""Helpers shared by the chaos scripts: a free loopback port, a process's RSS, a scrape."""
import socket
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scrape(port, path="/metrics"):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return response.read().decode()


def wait_until_serving(port, attempts=100):
    """Waits (up to 10 s by default) until vitals answers a scrape."""
    import time

    for _ in range(attempts):
        try:
            return scrape(port)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"vitals on port {port} never answered")


def start_vitals(binary, prefix, *extra):
    """A vitals tailing an empty log in a fresh directory: returns (directory, log path, port, process)."""
    import os
    import subprocess
    import tempfile

    work = tempfile.mkdtemp(prefix=prefix)
    log = os.path.join(work, "app.log")
    open(log, "w").close()
    port = free_port()
    process = subprocess.Popen([binary, "--web.listen-address", f"127.0.0.1:{port}", "--timing-log.path", log,
                                "--log.level", "warn", *extra])
    return work, log, port, process
