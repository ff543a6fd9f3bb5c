"""The demo application: a small market place on FastAPI, asyncpg and redis-py, with problems
planted on purpose for vitals to find. Run by demo/run-app.sh (uvicorn app.main:app).

| route                          | what it does                                   | planted problem                  |
|--------------------------------|------------------------------------------------|----------------------------------|
| GET  /markets/{id}             | Redis cache, on a miss 1 + 20 queries          | N+1 (and a cache that often misses: 10 s TTL over 2,000 markets) |
| GET  /vendors/search?q=&city=  | ILIKE / equality on vendors (>= 50,000 rows)   | sequential scan, no index        |
| GET  /users/{id}/dashboard     | per-user Redis cache, 5 s TTL over 10,000 users| low cache hit ratio              |
| GET  /reports/{id}             | one query; every 4th id "renders" in time.sleep| blocks the event loop 0.3 s      |
| POST /orders                   | one INSERT                                     | -                                |
| GET  /markets, /markets/{id}/summary, /users/{id} | primary-key or index reads  | - (the clean routes)             |
| GET  /health                   | nothing (vitals' --app-probe.url)              | -                                |

Every statement uses bind parameters; none needs a literal for its problem. The N+1 route's
statements and the clean market and order statements carry sqlcommenter tags; the vendor
search and the user routes do not, so vitals sees both kinds.
"""

import asyncio
import json
import time
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as redis
from fastapi import FastAPI, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from .settings import Settings
from .sqlcomment import tag
from .timing import TimingMiddleware, configure_logging

settings = Settings.from_environment()
configure_logging(settings.log_path)


@asynccontextmanager
async def lifespan(app: FastAPI):
    if settings.asyncio_debug:
        # Debug mode makes asyncio log every step that held the loop longer than
        # slow_callback_duration; vitals reads those warnings from the timing log.
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = 0.1
    app.state.pool = await asyncpg.create_pool(
        settings.pg_dsn, min_size=2, max_size=settings.pool_size,
        server_settings={"application_name": "demo-app"})
    app.state.cache = redis.Redis.from_url(settings.redis_url, password=settings.redis_password)
    try:
        yield
    finally:
        await app.state.cache.aclose()
        await app.state.pool.close()


app = FastAPI(title="vitals demo app", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(TimingMiddleware, slow_ms=settings.slow_ms)


def route_of(request: Request) -> str:
    """The matched route's template (`/markets/{id}`), as sqlcommenter integrations tag it."""
    return request.scope["route"].path


def json_response(body: bytes, status_code: int = 200) -> Response:
    return Response(body, status_code=status_code, media_type="application/json")


def dumps(value) -> bytes:
    return json.dumps(value, default=str, separators=(",", ":")).encode()


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/markets")
async def list_markets(limit: int = Query(20, ge=1, le=100)):
    rows = await app.state.pool.fetch("SELECT id, name, status FROM markets ORDER BY id LIMIT $1", limit)
    return [dict(row) for row in rows]


@app.get("/markets/{id}")
async def get_market(id: int, request: Request):
    cache = app.state.cache
    key = f"market:{id}"
    cached = await cache.get(key)
    if cached is not None:
        return json_response(cached)
    route = route_of(request)
    # One transaction, as an ORM session would open: the statements of one page share a
    # transaction id in the server log, which is how a burst of them is told apart.
    async with app.state.pool.acquire() as conn, conn.transaction():
        market = await conn.fetchrow(tag(
            "SELECT m.id, m.name, m.status, "
            "ARRAY(SELECT o.id FROM outcomes o WHERE o.market_id = m.id ORDER BY o.id) AS outcome_ids "
            "FROM markets m WHERE m.id = $1", route), id)
        if market is None:
            raise HTTPException(status_code=404, detail="no such market")
        # The N+1: one round trip per outcome, where one `WHERE market_id = $1` would do.
        outcomes = []
        for outcome_id in market["outcome_ids"]:
            row = await conn.fetchrow(tag("SELECT id, name, price::float8 AS price FROM outcomes WHERE id = $1", route),
                                      outcome_id)
            outcomes.append(dict(row))
    body = dumps({"id": market["id"], "name": market["name"], "status": market["status"], "outcomes": outcomes})
    await cache.set(key, body, ex=settings.market_ttl)
    return json_response(body)


@app.get("/markets/{id}/summary")
async def market_summary(id: int, request: Request):
    row = await app.state.pool.fetchrow(
        tag("SELECT id, name, status FROM markets WHERE id = $1", route_of(request)), id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such market")
    return dict(row)


def like_pattern(text: str) -> str:
    """`%text%` with LIKE's own wildcards in the text taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


@app.get("/vendors/search")
async def search_vendors(q: str = Query("", max_length=64), city: str | None = Query(None, max_length=64)):
    # No sqlcommenter tag here on purpose: findings must name an untagged statement too.
    pool = app.state.pool
    if city:
        rows = await pool.fetch(
            "SELECT id, name, city, category FROM vendors WHERE name ILIKE $1 AND city = $2 ORDER BY name LIMIT 20",
            like_pattern(q), city)
    else:
        rows = await pool.fetch(
            "SELECT id, name, city, category FROM vendors WHERE name ILIKE $1 ORDER BY name LIMIT 20",
            like_pattern(q))
    return [dict(row) for row in rows]


@app.get("/users/{id}")
async def get_user(id: int):
    row = await app.state.pool.fetchrow("SELECT id, name FROM users WHERE id = $1", id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such user")
    return dict(row)


@app.get("/users/{id}/dashboard")
async def user_dashboard(id: int):
    cache = app.state.cache
    # Per user and short-lived: with many users each seen now and then, almost every lookup misses.
    key = f"dashboard:{id}"
    cached = await cache.get(key)
    if cached is not None:
        return json_response(cached)
    row = await app.state.pool.fetchrow(
        "SELECT u.id, u.name, count(o.id) AS orders, coalesce(sum(o.amount), 0)::float8 AS spent, "
        "max(o.created_at) AS last_order "
        "FROM users u LEFT JOIN orders o ON o.user_id = u.id WHERE u.id = $1 GROUP BY u.id, u.name", id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such user")
    body = dumps(dict(row))
    await cache.set(key, body, ex=settings.dashboard_ttl)
    return json_response(body)


class OrderIn(BaseModel):
    user_id: int = Field(ge=1)
    market_id: int = Field(ge=1)
    outcome_id: int = Field(ge=1)
    amount: float = Field(gt=0, le=10_000)


@app.post("/orders", status_code=201)
async def create_order(order: OrderIn, request: Request):
    try:
        row = await app.state.pool.fetchrow(tag(
            "INSERT INTO orders (user_id, market_id, outcome_id, amount) VALUES ($1, $2, $3, $4) "
            "RETURNING id, created_at", route_of(request)),
            order.user_id, order.market_id, order.outcome_id, order.amount)
    except asyncpg.ForeignKeyViolationError:
        raise HTTPException(status_code=422, detail="unknown user, market or outcome") from None
    await app.state.cache.delete(f"dashboard:{order.user_id}")
    return dict(row)


@app.get("/reports/{id}")
async def get_report(id: int):
    row = await app.state.pool.fetchrow("SELECT id, name, status FROM markets WHERE id = $1", id)
    if row is None:
        raise HTTPException(status_code=404, detail="no such market")
    if settings.blocking_every > 0 and id % settings.blocking_every == 0:
        # The planted block: synchronous work (a PDF rendered in-process, say) inside an
        # async handler holds the event loop, and every other request waits with it.
        time.sleep(settings.blocking_seconds)
        return {"id": row["id"], "name": row["name"], "format": "pdf"}
    return {"id": row["id"], "name": row["name"], "format": "json"}
