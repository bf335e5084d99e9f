"""The demo stays alive (issue 10, finding 1): `seed-demo` and the node's keeper restore
the open demo auctions as they close, and `--reset` puts the demo back as new."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
from argon2 import PasswordHasher

from bidserver import demo, demo_history
from bidserver.demo_live import LIFETIMES, OPEN_AUCTIONS, SCHEDULED
from bidserver.pricing import Subject
from bidserver.seeding import STEPS, SeedContext, keep_alive, seed_demo
from bidserver.timefmt import now_ms
from bidserver.valuation.service import Valuer
from storage.sales import PgSales

HASHES = {
    u.email: PasswordHasher(time_cost=1, memory_cost=64, parallelism=1).hash(u.password)
    for u in demo.DEMO_USERS
}


async def _seed(
    pool: asyncpg.Pool, *, reset: bool = False, now: datetime | None = None
) -> list[str]:
    now = now or datetime.now(UTC)
    async with pool.acquire() as conn:
        return await seed_demo(SeedContext(conn, now, demo.catalogue(now), HASHES, reset=reset))


async def _live(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    return await pool.fetch(
        "SELECT a.*, a.ends_at - now() AS left, a.starts_at <= now() AS started, v.vin"
        " FROM auctions a JOIN vehicles v ON v.id = a.vehicle_id"
        " WHERE a.status IN ('scheduled', 'open') AND a.ends_at > now() ORDER BY a.ends_at"
    )


def _staircase(rows: list[asyncpg.Record]) -> bool:
    lefts = [r["left"] for r in rows if r["started"]]
    return all(sum(1 for x in lefts if x <= life) >= n + 1 for n, life in enumerate(LIFETIMES))


async def _close(pool: asyncpg.Pool, auction_ids: list[int]) -> None:
    """What the engine does at an auction's end, as far as the demo can tell."""
    await pool.execute(
        "UPDATE auctions SET status = 'closed', starts_at = now() - interval '1 hour',"
        " ends_at = now() - interval '1 second' WHERE id = ANY($1)",
        auction_ids,
    )


async def test_seeding_opens_a_staircase_of_auctions_and_a_rerun_changes_nothing(
    clean_db: asyncpg.Pool,
) -> None:
    lines = await _seed(clean_db)
    assert [line.split(":")[0] for line in lines] == [
        "demo logins", "catalogue", "live auctions", "sales history", "photos",
    ]  # fmt: skip
    live = await _live(clean_db)
    assert sum(r["started"] for r in live) == OPEN_AUCTIONS
    assert sum(not r["started"] for r in live) == len(SCHEDULED)
    assert _staircase(live)
    assert live[0]["left"] <= timedelta(minutes=5)
    assert len({r["vehicle_id"] for r in live}) == len(live)
    before = await clean_db.fetch("SELECT * FROM auctions ORDER BY id")
    again = await _seed(clean_db)
    assert "(0 new)" in again[2]
    assert "left as is" in again[1]
    assert "left as is" in again[3]  # the sales history
    assert await clean_db.fetch("SELECT * FROM auctions ORDER BY id") == before


async def test_closed_demo_auctions_are_replaced_at_fresh_prices(clean_db: asyncpg.Pool) -> None:
    """Before issue 10, a second seed-demo said "already present" and the demo died."""
    await _seed(clean_db)
    live = await _live(clean_db)
    # A load test ran the prices far above the cars' values, then the short ones closed.
    await clean_db.execute(
        "UPDATE auctions SET current_price = 10 * starting_price, bid_count = 50"
    )
    short = [r["id"] for r in live if r["started"] and r["left"] <= timedelta(minutes=30)]
    await _close(clean_db, short)
    lines = await _seed(clean_db)
    assert f"({len(short)} new)" in next(x for x in lines if x.startswith("live auctions"))
    after = await _live(clean_db)
    assert sum(r["started"] for r in after) == OPEN_AUCTIONS
    assert _staircase(after)
    values = {car.vin: car.value for car in demo.catalogue(datetime.now(UTC))}
    fresh = [r for r in after if r["id"] not in {x["id"] for x in live}]
    assert len(fresh) == len(short)
    for r in fresh:
        assert r["current_price"] is None
        assert r["bid_count"] == 0
        assert r["starting_price"] <= 0.65 * values[r["vin"]]
        assert r["vehicle_id"] not in {x["vehicle_id"] for x in after if x["id"] != r["id"]}


async def test_reset_puts_the_demo_back_as_new(clean_db: asyncpg.Pool) -> None:
    await _seed(clean_db)
    bidder = await clean_db.fetchval(
        "SELECT id FROM users WHERE email = $1", demo.DEMO_USERS[0].email
    )
    first = await _live(clean_db)
    await clean_db.execute(
        "INSERT INTO auction_events (auction_id, version, seq, type, at, kind, bidder_id, amount)"
        " VALUES ($1, 1, 1, 'bid', now(), 'bid', $2, 999999)",
        first[-1]["id"],
        bidder,
    )
    await clean_db.execute("UPDATE auctions SET current_price = 999999, bid_count = 1")
    await clean_db.execute("UPDATE users SET password_hash = 'changed' WHERE id = $1", bidder)
    outsider = await clean_db.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ('someone@example.test', 'x', 'Someone', 'bidder') RETURNING id"
    )
    lines = await _seed(clean_db, reset=True)
    assert await clean_db.fetchval("SELECT count(*) FROM auction_events") == 0
    sales_line = next(line for line in lines if line.startswith("sales history"))
    assert sales_line.endswith(", created")  # the sales history, loaded anew
    history = await clean_db.fetchval("SELECT count(*) FROM sales WHERE source = 'history'")
    assert history == demo_history.HISTORY_SIZE
    live = await _live(clean_db)
    assert all(r["current_price"] is None and r["bid_count"] == 0 for r in live)
    assert sum(r["started"] for r in live) == OPEN_AUCTIONS
    assert await clean_db.fetchval("SELECT count(*) FROM auctions") == len(live)
    assert await clean_db.fetchval("SELECT count(*) FROM vehicles") == demo.CATALOGUE_SIZE
    row = await clean_db.fetchrow("SELECT id, password_hash FROM users WHERE id = $1", bidder)
    assert row is not None
    assert row["password_hash"] == HASHES[demo.DEMO_USERS[0].email]
    assert await clean_db.fetchval("SELECT count(*) FROM users WHERE id = $1", outsider) == 1


async def test_the_steps_are_a_list_others_can_extend() -> None:
    steps = ["users", "catalogue", "live auctions", "sales history", "photos"]
    assert [step.name for step in STEPS] == steps
    # Steps that leave rows of their own reset them; photos only picture the others' rows.
    assert all(step.reset is not None for step in STEPS if step.name not in ("users", "photos"))


async def test_the_keeper_replaces_an_auction_as_it_closes(clean_db: asyncpg.Pool) -> None:
    await _seed(clean_db)
    soonest = (await _live(clean_db))[0]
    # It ends in a second: the keeper wakes at that end and opens its replacement.
    await clean_db.execute(
        "UPDATE auctions SET ends_at = now() + interval '1 second' WHERE id = $1", soonest["id"]
    )
    passes: asyncio.Queue[int] = asyncio.Queue()
    keeper = asyncio.create_task(keep_alive(clean_db, passes.put_nowait))
    try:
        async with asyncio.timeout(10):
            assert await passes.get() == 0  # nothing missing yet
            while (made := await passes.get()) == 0:
                pass
    finally:
        keeper.cancel()
        await asyncio.gather(keeper, return_exceptions=True)
    assert made == 1
    live = await _live(clean_db)
    assert soonest["id"] not in {r["id"] for r in live}
    assert sum(r["started"] for r in live) == OPEN_AUCTIONS
    assert _staircase(live)


async def test_the_demo_s_live_auctions_are_valued_from_its_sales_history(
    clean_db: asyncpg.Pool, pg_dsn: str
) -> None:
    """`seed-demo` makes the valuations real: every open demo auction's vehicle gets an
    estimate with its range from the demo's past sales (computed, never written down)."""
    await _seed(clean_db)
    live = await clean_db.fetch(
        "SELECT v.make, v.model, v.year, v.mileage FROM auctions a"
        " JOIN vehicles v ON v.id = a.vehicle_id WHERE a.status IN ('scheduled', 'open')"
    )
    valuer = Valuer(PgSales(clean_db, pg_dsn), None, clock_ms=now_ms)
    try:
        found = [
            await valuer.value(Subject(r["make"], r["model"], r["year"], r["mileage"]))
            for r in live
        ]
    finally:
        await valuer.close()
    assert len(found) == OPEN_AUCTIONS + len(SCHEDULED)
    assert {v.basis for v in found} == {"sales"}
    assert all(v.low is not None and v.high is not None for v in found)
    assert all(v.low <= v.estimate <= v.high for v in found if v.estimate and v.low and v.high)
    assert min(v.comparables for v in found) >= 5
