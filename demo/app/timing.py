"""The request-timing middleware and the log it writes: what vitals' `starlette` format reads.

    2026-11-24 12:00:00,000 INFO app.middleware.timing GET /markets/42 completed in 3.5ms
    2026-11-24 12:00:00,250 WARNING app.middleware.timing SLOW REQUEST: GET /users/7/dashboard took 250.1ms

A request over the slow threshold gets the WARNING line instead of the INFO line, so each
line is one request. The path is logged without its query string: query values are user
input (search terms), and vitals would drop them anyway.
"""

import logging
import logging.handlers
import time

LOGGER_NAME = "app.middleware.timing"
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(path: str) -> None:
    """Sends the timing logger and asyncio's warnings to one file.

    Python's root logger drops INFO records unless configured, so the handler and levels are
    set here explicitly. asyncio's debug-mode warnings ("Executing <Task …> took 0.301
    seconds") go to the same file: vitals reads them as event-loop blocks. WatchedFileHandler
    reopens the file after logrotate moves it.
    """
    handler = logging.handlers.WatchedFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(FORMAT))
    timing = logging.getLogger(LOGGER_NAME)
    timing.setLevel(logging.INFO)
    timing.addHandler(handler)
    timing.propagate = False
    loop_logger = logging.getLogger("asyncio")
    loop_logger.setLevel(logging.WARNING)
    loop_logger.addHandler(handler)
    loop_logger.propagate = False


class TimingMiddleware:
    """Pure ASGI, so the measured time includes streaming the whole response body."""

    def __init__(self, app, slow_ms: float = 200.0):
        self.app = app
        self.slow_ms = slow_ms
        self.logger = logging.getLogger(LOGGER_NAME)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            elapsed_ms = (time.perf_counter() - start) * 1000.0
            method = scope["method"]
            path = scope["path"]
            if elapsed_ms > self.slow_ms:
                self.logger.warning("SLOW REQUEST: %s %s took %.1fms", method, path, elapsed_ms)
            else:
                self.logger.info("%s %s completed in %.1fms", method, path, elapsed_ms)
