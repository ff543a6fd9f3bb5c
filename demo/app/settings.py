"""Configuration from the environment, read once.

The DEMO_APP_* variables win; the VITALS_TEST_* ones that scripts/test-servers.sh writes to
its env.sh are the fallback, so a shell or a test that sourced env.sh needs nothing more.
"""

import os
from dataclasses import dataclass


def _first(*names: str, default: str | None = None) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return default


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


@dataclass(frozen=True)
class Settings:
    pg_dsn: str
    redis_url: str
    redis_password: str | None
    log_path: str
    slow_ms: float
    asyncio_debug: bool
    market_ttl: int
    dashboard_ttl: int
    blocking_every: int
    blocking_seconds: float
    pool_size: int
    vendors: int

    @staticmethod
    def from_environment(need_log: bool = True) -> "Settings":
        dsn = _first("DEMO_APP_PG_DSN", "VITALS_TEST_PG_DSN")
        redis_url = _first("DEMO_APP_REDIS_URL", "VITALS_TEST_REDIS_ADDR")
        log_path = _first("DEMO_APP_LOG")
        missing = [name for name, value in (
            ("DEMO_APP_PG_DSN", dsn), ("DEMO_APP_REDIS_URL", redis_url), ("DEMO_APP_LOG", log_path or not need_log))
            if not value]
        if missing:
            # Names only: the values may hold passwords.
            raise SystemExit("demo app: set " + ", ".join(missing) + " (or source the env.sh of scripts/test-servers.sh)")
        return Settings(
            pg_dsn=dsn,
            redis_url=redis_url,
            redis_password=_first("DEMO_APP_REDIS_PASSWORD", "VITALS_TEST_REDIS_PASSWORD"),
            log_path=log_path or "",
            slow_ms=_float("DEMO_APP_SLOW_MS", 200.0),
            asyncio_debug=os.environ.get("DEMO_APP_ASYNCIO_DEBUG", "1") != "0",
            market_ttl=_int("DEMO_APP_MARKET_TTL", 10),
            dashboard_ttl=_int("DEMO_APP_DASHBOARD_TTL", 5),
            blocking_every=_int("DEMO_APP_BLOCKING_EVERY", 4),
            blocking_seconds=_float("DEMO_APP_BLOCKING_SECONDS", 0.3),
            pool_size=_int("DEMO_APP_POOL_SIZE", 10),
            vendors=max(50_000, _int("DEMO_APP_VENDORS", 100_000)),
        )
