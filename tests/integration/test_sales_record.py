"""The sales record (migration 0014): which closes are sales, and how they are announced.

A sale is a closed auction with a winner (reserve met or none; buy-now counts); unsold
and cancelled auctions are not. The database records it in the closing transaction,
whichever code closes the auction, and announces it on `bidserver_sales` at commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import asyncpg
import pytest_asyncio

from storage.migrate import Migration, _apply_one, load_migrations
from storage.sales import SALES_CHANNEL
from tests.integration.rest import Rest
from tests.pricing_support import eventually, live_auction, new_make, sold_auction
from tests.support import make_user, running_api


async def sales_of(pool: asyncpg.Pool, make: str) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await pool.fetch(
        "SELECT s.*, a.current_price AS final, LEAST(a.ends_at, a.updated_at) AS closed_by"
        " FROM sales s LEFT JOIN auctions a ON a.id = s.auction_id"
        " WHERE s.make = $1 ORDER BY s.id",
        make,
    )
    return rows


async def test_a_sold_auction_is_a_sale_of_its_vehicle_at_the_final_price(
    db: asyncpg.Pool,
) -> None:
    make = new_make()
    auction = await sold_auction(db, make, "Camry", year=2017, mileage=81_000, price=14_250)
    [sale] = await sales_of(db, make)
    assert sale["auction_id"] == auction
    assert (sale["model"], sale["year"], sale["mileage"]) == ("Camry", 2017, 81_000)
    assert sale["price"] == sale["final"] == 14_250
    assert sale["source"] == "auction"
    assert sale["sold_at"] <= sale["closed_by"]  # the end, or the close if it came first
    assert (sale["make_key"], sale["model_key"]) == (make.lower(), "camry")


async def test_unsold_and_cancelled_auctions_are_not_sales(db: asyncpg.Pool) -> None:
    make = new_make()
    await sold_auction(db, make, "Camry", winner=False)  # reserve not met: no winner
    await sold_auction(db, make, "Camry", winner=False, status="cancelled")
    await sold_auction(db, make, "Camry", winner=True, status="cancelled")
    assert await sales_of(db, make) == []


async def test_a_close_written_again_is_still_one_sale(db: asyncpg.Pool) -> None:
    make = new_make()
    auction = await sold_auction(db, make, "Camry")
    await db.execute("UPDATE auctions SET bid_count = bid_count + 1 WHERE id = $1", auction)
    await db.execute("UPDATE auctions SET status = 'closed' WHERE id = $1", auction)
    assert len(await sales_of(db, make)) == 1


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


async def test_the_engine_s_closes_make_sales_buy_now_and_hammer_alike(rest: Rest) -> None:
    pool, make = rest.pool, new_make()
    buyer = await make_user(pool, "bidder")
    bought = await live_auction(pool, make, "Civic", buy_now_price=9_000)
    reply = await rest.post(f"/auctions/{bought}/buy-now", json={}, headers=rest.auth(buyer))
    assert reply.status == 201
    hammer = await live_auction(pool, make, "Civic", ends_in=timedelta(seconds=1.5))
    unsold = await live_auction(
        pool, make, "Civic", ends_in=timedelta(seconds=1.5), reserve_price=50_000
    )
    for auction in (hammer, unsold):
        answer = await rest.post(
            f"/auctions/{auction}/bid", json={"amount": 7_500}, headers=rest.auth(buyer)
        )
        assert answer.status == 201, answer.body

    async def both_closed() -> bool:
        closed: int = await pool.fetchval(
            "SELECT count(*) FROM auctions WHERE id = ANY($1) AND status = 'closed'",
            [hammer, unsold],
        )
        return closed == 2

    await eventually(both_closed, what="the engine closing both auctions")
    got = {(s["auction_id"], s["price"]) for s in await sales_of(pool, make)}
    assert got == {(bought, 9_000), (hammer, 7_500)}


async def test_a_sale_is_announced_at_commit_and_an_unsold_close_is_not(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    heard: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    listener = await asyncpg.connect(pg_dsn)
    try:
        await listener.add_listener(
            SALES_CHANNEL, lambda _c, _p, _ch, payload: heard.put_nowait(json.loads(payload))
        )
        make = new_make()
        await sold_auction(db, make, "Model 3", winner=False)
        await sold_auction(db, make, "Model 3")
        first = await asyncio.wait_for(heard.get(), 10)
        assert first == {"make": make, "model": "Model 3"}
        assert heard.empty()
        async with db.acquire() as conn, conn.transaction():
            await conn.execute("SELECT 1")  # an unrelated transaction announces nothing
        assert heard.empty()
    finally:
        await listener.close()


async def test_the_migration_records_the_sales_closed_before_it(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await new_database()
    migrations = load_migrations()
    before: list[Migration] = [m for m in migrations if m.version < 14]
    conn = await asyncpg.connect(dsn)
    try:
        for migration in before:
            await _apply_one(conn, migration)
        make = new_make()
        sold = await _closed(conn, make, winner=True)
        await _closed(conn, make, winner=False)
        for migration in migrations:
            await _apply_one(conn, migration)
        rows = await conn.fetch("SELECT auction_id, price FROM sales")
    finally:
        await conn.close()
    assert [(r["auction_id"], r["price"]) for r in rows] == [(sold, 12_000)]


async def _closed(conn: asyncpg.Connection, make: str, *, winner: bool) -> int:
    user = await conn.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ($1, 'x', 'x', 'seller') RETURNING id",
        f"{make}-{winner}@example.test",
    )
    vehicle = await conn.fetchval(
        "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage)"
        " VALUES ($1, '1HGCM82633A004352', $2, 'Golf', 2015, 90000) RETURNING id",
        user,
        make,
    )
    auction: int = await conn.fetchval(
        "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at,"
        " starting_price, current_price, winner_id)"
        " VALUES ($1, $2, 'closed', now() - interval '2 days', now() - interval '1 day',"
        " 100, 12000, $3) RETURNING id",
        vehicle,
        user,
        user if winner else None,
    )
    return auction
