"""The sales record (`sales`, migration 0014): reading a make's or model's sales for the
valuations, following new ones as they close, and loading an imported history.

Sales are written by the database itself, in the transaction that closes a sold auction
(a trigger), and announced on `SALES_CHANNEL` at commit; this module only reads them,
listens, and seeds the demo's history.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

import asyncpg

from bidserver.pricing import SalesColumns, key
from storage.auctions import to_dt
from storage.errors import translate
from storage.pool import AnyConnection

log = logging.getLogger("storage.sales")

SALES_CHANNEL = "bidserver_sales"
_LOCK_KEY = "bidserver.seed-sales-history"
PING_INTERVAL_S = 15.0
PING_TIMEOUT_S = 5.0

# One row of arrays, in the model's order (model, then year); the index holds every column,
# so PostgreSQL reads no table page. A model's sales leave its (one) key out: a fifth less
# work for both ends at ten thousand sales.
_KEY = "lower(regexp_replace(btrim({}), '\\s+', ' ', 'g'))"  # as the migration's make_key
_COLUMNS = """
coalesce(array_agg(year), '{}') AS years, coalesce(array_agg(mileage), '{}') AS mileages,
coalesce(array_agg(price), '{}') AS prices, coalesce(array_agg(sold_ms), '{}') AS sold_at
"""
_ROWS = """
    SELECT model_key, year, mileage, price,
           (extract(epoch FROM sold_at) * 1000)::bigint AS sold_ms
    FROM sales
"""
_MAKE_SQL = f"""
SELECT coalesce(array_agg(model_key), '{{}}') AS models, {_COLUMNS}
FROM ({_ROWS} WHERE make_key = {_KEY.format("$1")} AND sold_at >= $2
      ORDER BY model_key, year) AS s
"""
_MODEL_SQL = f"""
SELECT {_COLUMNS}
FROM ({_ROWS} WHERE make_key = {_KEY.format("$1")} AND model_key = {_KEY.format("$2")}
      AND sold_at >= $3 ORDER BY year) AS s
"""


class PgSales:
    """The valuation service's store of sales (`bidserver.valuation.SalesStore`)."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        self._dsn = dsn

    async def sales(self, make: str, model: str | None, since_ms: int) -> SalesColumns:
        """Every sale of `make` (and `model`, unless None) since `since_ms`."""
        with translate():
            if model is None:
                row = await self._pool.fetchrow(_MAKE_SQL, make, to_dt(since_ms))
            else:
                row = await self._pool.fetchrow(_MODEL_SQL, make, model, to_dt(since_ms))
        assert row is not None
        years = row["years"]
        return SalesColumns(
            models=row["models"] if model is None else [key(model)] * len(years),
            years=years,
            mileages=row["mileages"],
            prices=row["prices"],
            sold_at=row["sold_at"],
        )

    async def follow(
        self, on_sale: Callable[[str, str], None], on_following: Callable[[], None]
    ) -> None:
        """Call `on_sale(make, model)` for each sale committed from now on, having called
        `on_following()` once listening; returns (or raises) when the connection is lost."""
        lost = asyncio.Event()

        def notified(_conn: object, _pid: int, _channel: str, payload: object) -> None:
            try:
                sale = json.loads(str(payload))
                make, model = str(sale["make"]), str(sale["model"])
            except (ValueError, KeyError, TypeError):
                log.warning("unreadable sale notification", extra={"payload": str(payload)[:200]})
                return
            on_sale(make, model)

        with translate():
            conn = await asyncpg.connect(self._dsn, timeout=5)
        try:
            conn.add_termination_listener(lambda _conn: lost.set())
            with translate():
                await conn.add_listener(SALES_CHANNEL, notified)
            on_following()
            while not lost.is_set():
                # A connection that died without a word (no RST) would never say so: ask.
                try:
                    await asyncio.wait_for(lost.wait(), PING_INTERVAL_S)
                except TimeoutError:
                    with translate():
                        await conn.fetchval("SELECT 1", timeout=PING_TIMEOUT_S)
        finally:
            if not conn.is_closed():
                conn.terminate()


async def seed_history(
    conn: AnyConnection,
    sales: Sequence[tuple[str, str, int, int, int, datetime]],
) -> tuple[bool, int]:
    """Load an imported sales history once: (whether it was loaded now, rows of history)."""
    with translate():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK_KEY)
            present = await conn.fetchval("SELECT count(*) FROM sales WHERE source = 'history'")
            if present:
                return False, int(present)
            await conn.copy_records_to_table(
                "sales",
                records=[(*sale, "history") for sale in sales],
                columns=("make", "model", "year", "mileage", "price", "sold_at", "source"),
            )
    return True, len(sales)


async def delete_history(conn: AnyConnection) -> None:
    """Forget the imported history (`seed-demo --reset`); sales of auctions stay."""
    with translate():
        await conn.execute("DELETE FROM sales WHERE source = 'history'")
