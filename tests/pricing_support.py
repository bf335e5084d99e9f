"""Test support for pricing: sales in the real database, and a stand-in pricing provider.

Sales are written the way production writes them: a sold auction's close fires the
database's trigger (`sold_auction`), or an imported history is loaded (`load_history`).
Every test names its own make, so tests share the run's database without truncating it.

`StandIn` is a small real HTTP server on 127.0.0.1 playing the external provider of
`BIDSERVER_PRICING_URL`: it answers, stalls, fails or returns garbage as told, and records
every request it receives.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from aiohttp import web

from bidserver.vin import with_check_digit
from tests.support import make_user

_makes = itertools.count(1)
_vins = itertools.count(1)


def new_make(stem: str = "Testmake") -> str:
    """A make no other test uses."""
    return f"{stem}{next(_makes)}x{random.randrange(10**6)}"


def a_vin() -> str:
    """A valid VIN, different each time: `1HGCM826` + check digit + `JA` + serial."""
    return with_check_digit(f"1HGCM8260JA{next(_vins) % 1_000_000:06d}")


async def a_vehicle(
    pool: asyncpg.Pool, seller: int, make: str, model: str, year: int, mileage: int
) -> int:
    vehicle: int = await pool.fetchval(
        "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage)"
        " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        seller, a_vin(), make, model, year, mileage,
    )  # fmt: skip
    return vehicle


async def sold_auction(
    pool: asyncpg.Pool,
    make: str,
    model: str,
    *,
    year: int = 2018,
    mileage: int = 60_000,
    price: int = 20_000,
    winner: bool = True,
    status: str = "closed",
    ended_ago: timedelta = timedelta(days=1),
) -> int:
    """An auction that ran and ended, then closed (by an UPDATE, as the engine closes one):
    sold when `winner`, unsold otherwise; `status` may also be `cancelled`."""
    seller = await make_user(pool, "seller")
    buyer = await make_user(pool, "bidder") if winner else None
    vehicle = await a_vehicle(pool, seller, make, model, year, mileage)
    ends = datetime.now(UTC) - ended_ago
    auction: int = await pool.fetchval(
        "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at, starting_price,"
        " current_price, bid_count) VALUES ($1, $2, 'open', $3, $4, 100, $5, 1) RETURNING id",
        vehicle, seller, ends - timedelta(days=2), ends, price,
    )  # fmt: skip
    await pool.execute(
        "UPDATE auctions SET status = $2, winner_id = $3, leader_id = $3 WHERE id = $1",
        auction, status, buyer,
    )  # fmt: skip
    return auction


async def load_history(
    pool: asyncpg.Pool,
    make: str,
    model: str,
    n: int,
    *,
    seed: int = 1,
    base: int = 30_000,
    years: tuple[int, int] = (2012, 2024),
) -> None:
    """`n` imported past sales of one make and model, from a seeded made-up market."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    rows = []
    for _ in range(n):
        year = rng.randint(*years)
        sold_at = now - timedelta(days=rng.uniform(1, 3 * 365))
        age = max((sold_at - datetime(year, 1, 1, tzinfo=UTC)).days / 365.25, 0.1)
        mileage = round(age * 12_000 * rng.uniform(0.6, 1.4))
        worth = base * 0.9**age * max(0.5, 1 - mileage / 400_000) * rng.lognormvariate(0, 0.08)
        rows.append((make, model, year, mileage, max(100, round(worth)), sold_at))
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "sales",
            records=[(*row, "history") for row in rows],
            columns=("make", "model", "year", "mileage", "price", "sold_at", "source"),
        )


@dataclass
class StandIn:
    """A pricing provider stand-in; `mode` decides how it treats the next request."""

    mode: str = "answer"  # answer | stall | fail | garbage | hangup
    answer: dict[str, Any] = field(
        default_factory=lambda: {"estimate": 25_000, "low": 22_000, "high": 28_000}
    )
    body: bytes = b"not json"  # what "garbage" sends
    content_type: str = "application/json"
    calls: list[dict[str, str]] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)
    asked: asyncio.Event = field(default_factory=asyncio.Event)  # set by the first request
    url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.calls.append(dict(request.query))
        self.asked.set()
        if self.mode == "stall":
            await self.release.wait()
        if self.mode == "fail":
            return web.Response(status=503, text="provider down")
        if self.mode == "garbage":
            return web.Response(body=self.body, content_type=self.content_type)
        if self.mode == "hangup":
            response = web.StreamResponse(headers={"Content-Length": "1000"})
            await response.prepare(request)
            await response.write(b'{"estimate": 2')
            assert request.transport is not None
            request.transport.close()
            return response
        return web.Response(body=json.dumps(self.answer), content_type="application/json")


@asynccontextmanager
async def stand_in() -> AsyncIterator[StandIn]:
    provider = StandIn()
    app = web.Application()
    app.router.add_get("/value", provider.handle)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    provider.url = f"http://127.0.0.1:{runner.addresses[0][1]}/value"
    try:
        yield provider
    finally:
        provider.release.set()
        await runner.cleanup()


async def live_auction(
    pool: asyncpg.Pool,
    make: str,
    model: str,
    *,
    year: int = 2018,
    mileage: int = 60_000,
    ends_in: timedelta = timedelta(hours=1),
    starting_price: int = 1_000,
    reserve_price: int | None = None,
    buy_now_price: int | None = None,
    anti_snipe_seconds: int = 0,
) -> int:
    """An open auction of a new vehicle of this make and model, for the real engine (no
    soft close by default, so a bid near its end does not move it)."""
    seller = await make_user(pool, "seller")
    vehicle = await a_vehicle(pool, seller, make, model, year, mileage)
    now = datetime.now(UTC)
    auction: int = await pool.fetchval(
        "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at, starting_price,"
        " reserve_price, buy_now_price, anti_snipe_seconds)"
        " VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, $7, $8) RETURNING id",
        vehicle, seller, now - timedelta(hours=1), now + ends_in, starting_price,
        reserve_price, buy_now_price, anti_snipe_seconds,
    )  # fmt: skip
    return auction


async def eventually(check: Any, *, timeout_s: float = 10.0, what: str = "condition") -> None:
    """Wait until `await check()` is true (polling the real state), or fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        if loop.time() >= deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s} s")
        await asyncio.sleep(0.02)  # a poll interval: the outcome is checked, not assumed
