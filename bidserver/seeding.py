"""`bidserver seed-demo` as an ordered list of steps, and the node's demo keeper.

A run takes the seeding lock, then runs every step of `STEPS` in order in one transaction;
each step reports one line. `--reset` first runs the steps' resets in reverse order (so a
step's reset runs before those of the steps it builds on), then the steps as usual.

To add a step (e.g. historical sales): write `async def run(ctx: SeedContext) -> str`, which
must be idempotent (a second `seed-demo` changes nothing that is already there) and returns
the line to print, and, if it leaves rows that the reset must remove,
`async def reset(ctx: SeedContext) -> None`; then add `Step("name", run, reset)` to `STEPS`
after the steps whose rows it uses (`ctx.seller_id` and `ctx.catalogue` are set by the
first two). Put its SQL in `storage/`, its pure logic beside `bidserver/demo.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg

from bidserver import demo, demo_history, demo_live
from bidserver.demo import DEMO_SELLER, DEMO_USERS, DemoVehicle
from bidserver.demophotos import add_demo_photos
from bidserver.media.store import MediaStore
from storage import demo_auctions, sales, seed
from storage.pool import AnyConnection
from storage.seed import SeededUser

log = logging.getLogger("bidserver.demo")


@dataclass
class SeedContext:
    conn: AnyConnection
    now: datetime
    catalogue: list[DemoVehicle]
    password_hashes: dict[str, str]  # demo email -> hash of its demo password
    reset: bool = False
    users: list[SeededUser] = field(default_factory=list)  # set by the users step
    seller_id: int = 0  # the demo seller, set by the users step
    media: MediaStore | None = None  # where photos go (the photos step); None: no photos


@dataclass(frozen=True, slots=True)
class Step:
    name: str
    run: Callable[[SeedContext], Awaitable[str]]
    reset: Callable[[SeedContext], Awaitable[None]] | None = None


async def _users(ctx: SeedContext) -> str:
    ctx.users = [
        await seed.upsert_user(
            ctx.conn, user, ctx.password_hashes[user.email], reset_password=ctx.reset
        )
        for user in DEMO_USERS
    ]
    ctx.seller_id = next(s.id for s in ctx.users if s.user.email == DEMO_SELLER.email)
    made = sum(s.created for s in ctx.users)
    return f"demo logins: {len(ctx.users)} ({made} new)"


async def _catalogue(ctx: SeedContext) -> str:
    if await seed.has_catalogue(ctx.conn, ctx.seller_id):
        count = await seed.count_vehicles(ctx.conn, ctx.seller_id)
        return f"catalogue: {count} vehicles, already present, left as is"
    await seed.insert_catalogue(ctx.conn, ctx.seller_id, ctx.catalogue)
    return f"catalogue: {len(ctx.catalogue)} vehicles created"


async def _catalogue_reset(ctx: SeedContext) -> None:
    await seed.delete_catalogue(ctx.conn, ctx.seller_id)


async def _photos(ctx: SeedContext) -> str:
    if ctx.media is None:
        return "photos: none drawn (no media store)"
    drawn = await add_demo_photos(ctx.conn, ctx.seller_id, ctx.media)
    return f"photos: {drawn} drawn" if drawn else "photos: every vehicle has one"


async def _live_auctions(ctx: SeedContext) -> str:
    made, _ = await top_up(ctx.conn, ctx.seller_id, ctx.catalogue, ctx.now)
    live = await demo_auctions.live(ctx.conn, ctx.seller_id, ctx.now)
    running = sum(1 for a in live if a.starts_at <= ctx.now)
    soonest = min((a.ends_at - ctx.now for a in live if a.starts_at <= ctx.now), default=None)
    ends = f", the next ends in {_duration(soonest)}" if soonest is not None else ""
    return f"live auctions: {running} open and {len(live) - running} scheduled ({made} new){ends}"


async def _live_reset(ctx: SeedContext) -> None:
    await demo_auctions.delete_all(ctx.conn, ctx.seller_id)


async def _sales_history(ctx: SeedContext) -> str:
    """The demo's past sales (`bidserver.demo_history`), which its valuations rest on."""
    rows = [
        (s.make, s.model, s.year, s.mileage, s.price, s.sold_at)
        for s in demo_history.history(ctx.now)
    ]
    created, count = await sales.seed_history(ctx.conn, rows)
    state = "created" if created else "already present, left as is"
    return f"sales history: {count:,} past sales for the valuations, {state}"


async def _sales_history_reset(ctx: SeedContext) -> None:
    await sales.delete_history(ctx.conn)


STEPS: list[Step] = [
    Step("users", _users),
    Step("catalogue", _catalogue, _catalogue_reset),
    Step("live auctions", _live_auctions, _live_reset),
    Step("sales history", _sales_history, _sales_history_reset),
    Step("photos", _photos),  # last: every vehicle the steps before it made gets one
]


async def seed_demo(ctx: SeedContext) -> list[str]:
    """Run every step (after the resets with `ctx.reset`) in one transaction, in turn with
    any other seeder; returns the lines the steps report."""
    async with ctx.conn.transaction():
        await seed.lock(ctx.conn)
        if ctx.reset:
            await _reset(ctx)
        return [await step.run(ctx) for step in STEPS]


async def _reset(ctx: SeedContext) -> None:
    seller = await seed.user_id(ctx.conn, DEMO_SELLER.email)
    if seller is None:
        return  # nothing seeded yet
    ctx.seller_id = seller  # a demo address taken by another role fails in the users step
    for step in reversed(STEPS):
        if step.reset is not None:
            await step.reset(ctx)


async def top_up(
    conn: AnyConnection, seller: int, catalogue: list[DemoVehicle], now: datetime
) -> tuple[int, datetime | None]:
    """Open auctions where the demo's staircase has gaps; returns (how many, next end)."""
    live = await demo_auctions.live(conn, seller, now)
    lefts = [a.ends_at - now for a in live if a.starts_at <= now]
    waiting = len(live) - len(lefts)
    wanted = demo_live.plan_open(lefts) + demo_live.plan_scheduled(waiting)
    made = []
    if wanted:
        index = {v.vin: i for i, v in enumerate(catalogue)}
        ids = await seed.vehicle_ids(conn, seller)
        free = [vin for vin in await demo_auctions.free_vehicles(conn, seller) if vin in index]
        for vin, want in zip(free, wanted, strict=False):
            made.append((ids[vin], demo_live.auction(index[vin], catalogue[index[vin]], want, now)))
        await demo_auctions.insert(conn, seller, made)
    ends = [a.ends_at for a in live] + [a.ends_at for _, a in made]
    return len(made), min(ends, default=None)


def _duration(left: timedelta) -> str:
    minutes = max(int(left.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


# --- the keeper: `serve` with BIDSERVER_DEMO=on ----------------------------------------------

KEEP_EVERY_S = 30.0  # at most this long between passes
KEEP_AT_LEAST_S = 1.0


async def keep_alive(pool: asyncpg.Pool, passed: Callable[[int], None] | None = None) -> None:
    """Top the demo up as its auctions close, for as long as the node runs.

    `passed` (tests) hears how many auctions each pass opened.
    """
    catalogue = demo.catalogue(datetime.now(UTC))
    while True:
        delay = KEEP_EVERY_S
        try:
            made, next_end = await _keep_once(pool, catalogue)
        except Exception as exc:  # a database outage must not end the keeper
            log.warning("demo keeper pass failed", extra={"error": repr(exc)})
        else:
            if passed is not None:
                passed(made)
            if next_end is not None:
                left = (next_end - datetime.now(UTC)).total_seconds() + 0.5
                delay = min(max(left, KEEP_AT_LEAST_S), KEEP_EVERY_S)
        await asyncio.sleep(delay)  # periodic work until the next close, not synchronisation


async def _keep_once(
    pool: asyncpg.Pool, catalogue: list[DemoVehicle]
) -> tuple[int, datetime | None]:
    async with pool.acquire() as conn, conn.transaction():
        await seed.lock(conn)
        seller = await seed.user_id(conn, DEMO_SELLER.email)
        if seller is None:
            return 0, None  # no demo seeded (`bidserver seed-demo`): nothing to keep
        made, next_end = await top_up(conn, seller, catalogue, datetime.now(UTC))
    if made:
        log.info("demo auctions opened", extra={"count": made})
    return made, next_end
