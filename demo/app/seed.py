"""Schema and data of the demo application: `python -m app.seed` (from demo/).

Idempotent and quick: the data is generated inside Postgres (generate_series, no random()
so every run and every machine gets the same rows), once; a later run finds the seed
version in demo_meta and does nothing. An advisory lock serialises concurrent runs (the demo
and a test starting the app at the same moment).

The tables carry the planted problems:
- vendors is large (DEMO_APP_VENDORS rows, at least 50,000) and has no index on name or city:
  the vendor search reads all of it, every time, for the few rows (4 to 6 %) a word matches;
- outcomes has an index on market_id, but the market page still fetches them one by one;
- everything else is looked up by primary key or by an indexed foreign key.
"""

import asyncio
import sys
import time

import asyncpg

from .settings import Settings

MARKETS = 2_000
OUTCOMES_PER_MARKET = 20
USERS = 10_000
ORDERS = 50_000

SCHEMA = """
CREATE TABLE IF NOT EXISTS demo_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS markets (
    id integer PRIMARY KEY,
    name text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS outcomes (
    id integer PRIMARY KEY,
    market_id integer NOT NULL REFERENCES markets (id),
    name text NOT NULL,
    price numeric(6, 4) NOT NULL
);
CREATE INDEX IF NOT EXISTS outcomes_market_id_idx ON outcomes (market_id);
-- No index on name or city: the search's sequential scan is the point.
CREATE TABLE IF NOT EXISTS vendors (
    id integer PRIMARY KEY,
    name text NOT NULL,
    city text NOT NULL,
    category text NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    id integer PRIMARY KEY,
    name text NOT NULL,
    email text NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    market_id integer NOT NULL REFERENCES markets (id),
    outcome_id integer NOT NULL REFERENCES outcomes (id),
    amount numeric(12, 2) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_user_id_idx ON orders (user_id);
"""

# Only constants and series arithmetic: the values are made up inside the server.
DATA = """
TRUNCATE orders, outcomes, markets, vendors, users RESTART IDENTITY;
INSERT INTO markets (id, name, status)
SELECT i, 'Market ' || i, (ARRAY['open', 'open', 'open', 'closed'])[1 + i % 4]
FROM generate_series(1, {markets}) AS i;
INSERT INTO outcomes (id, market_id, name, price)
SELECT (m - 1) * {per_market} + k, m, 'Outcome ' || k, ((m * 7919 + k * 104729) % 10000) / 10000.0
FROM generate_series(1, {markets}) AS m, generate_series(1, {per_market}) AS k;
INSERT INTO vendors (id, name, city, category)
SELECT i,
       (ARRAY['Green', 'Sunny', 'Old', 'River', 'Hill', 'Golden', 'Wild', 'Blue',
              'Little', 'North', 'Stone', 'Silver', 'Meadow', 'Valley', 'Maple', 'Copper'])[1 + i % 16] || ' '
       || (ARRAY['Farm', 'Bakery', 'Honey', 'Cheese', 'Orchard', 'Dairy', 'Garden', 'Mill', 'Brewery', 'Kitchen',
                 'Cellar', 'Creamery', 'Smokehouse', 'Apiary', 'Vineyard', 'Pantry', 'Grocer', 'Roastery',
                 'Nursery', 'Fishery', 'Butchery', 'Press', 'Larder', 'Still', 'Loft'])[1 + (i / 16) % 25]
       || ' ' || i,
       (ARRAY['Lyon', 'Porto', 'Ghent', 'Turin', 'Graz', 'Bergen', 'Leeds', 'Malmo', 'Bilbao', 'Krakow',
              'Utrecht', 'Aarhus', 'Brno', 'Cork', 'Split', 'Basel'])[1 + (i * 7) % 16],
       (ARRAY['produce', 'bread', 'dairy', 'meat', 'fish', 'flowers', 'crafts', 'drinks'])[1 + (i * 3) % 8]
FROM generate_series(1, {vendors}) AS i;
INSERT INTO users (id, name, email)
SELECT i, 'User ' || i, 'user' || i || '@example.test'
FROM generate_series(1, {users}) AS i;
INSERT INTO orders (user_id, market_id, outcome_id, amount)
SELECT 1 + (i * 7) % {users}, 1 + (i * 13) % {markets},
       ((1 + (i * 13) % {markets}) - 1) * {per_market} + 1 + i % {per_market}, 1 + (i * 31) % 500
FROM generate_series(1, {orders}) AS i;
"""


def seed_version(settings: Settings) -> str:
    return f"v2 markets={MARKETS}x{OUTCOMES_PER_MARKET} vendors={settings.vendors} users={USERS} orders={ORDERS}"


async def seed(settings: Settings) -> str:
    conn = await asyncpg.connect(settings.pg_dsn, server_settings={"application_name": "demo-seed"})
    try:
        version = seed_version(settings)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('vitals demo seed'))")
            await conn.execute(SCHEMA)
            current = await conn.fetchval("SELECT value FROM demo_meta WHERE key = 'seed'")
            if current == version:
                return "up to date"
            await conn.execute(DATA.format(
                markets=MARKETS, per_market=OUTCOMES_PER_MARKET, vendors=settings.vendors, users=USERS, orders=ORDERS))
            await conn.execute(
                "INSERT INTO demo_meta (key, value) VALUES ('seed', $1) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", version)
        # Fresh statistics, so the first plans are the real ones.
        await conn.execute("ANALYZE markets, outcomes, vendors, users, orders")
        return f"seeded ({version})"
    finally:
        await conn.close()


def main() -> int:
    settings = Settings.from_environment(need_log=False)
    start = time.monotonic()
    outcome = asyncio.run(seed(settings))
    print(f"demo seed: {outcome} in {time.monotonic() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
