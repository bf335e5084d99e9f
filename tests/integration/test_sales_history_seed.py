"""The demo's sales history as `seed-demo` loads it (`storage.sales.seed_history`): once,
whoever else runs at the same time, and read back like any other sales."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg

from bidserver import demo_history
from storage.migrate import migrate
from storage.sales import PgSales, seed_history


def _rows(now: datetime) -> list[tuple[str, str, int, int, int, datetime]]:
    return [(s.make, s.model, s.year, s.mileage, s.price, s.sold_at)
            for s in demo_history.history(now)]  # fmt: skip


async def test_the_history_is_loaded_once_even_by_two_at_a_time(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await new_database()
    await migrate(dsn)
    now = datetime.now(UTC)
    rows = _rows(now)
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        results = await asyncio.gather(seed_history(first, rows), seed_history(second, rows))
        assert sorted(results) == [(False, len(rows)), (True, len(rows))]
        assert await seed_history(first, rows) == (False, len(rows))
        count = await first.fetchval("SELECT count(*) FROM sales WHERE source = 'history'")
        assert count == len(rows) == demo_history.HISTORY_SIZE
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
        try:
            camrys = await PgSales(pool, dsn).sales("TOYOTA", " camry", 0)
        finally:
            await pool.close()
    finally:
        await first.close()
        await second.close()
    expected = sorted((s[2], s[4]) for s in rows if (s[0], s[1]) == ("Toyota", "Camry"))
    assert sorted(zip(camrys.years, camrys.prices, strict=True)) == expected
    assert camrys.years == sorted(camrys.years)  # in the model's order
