"""One auction row locked by another transaction (issue 9, defect 9), on PostgreSQL.

Before, the persister's batch waited on the lock with every other auction in it until the
store's 2 s timeout, and then all of them answered `unavailable` and reloaded. Now the
store skips the locked row (`SKIP LOCKED`), commits the rest at once and names the busy
auction; the persister parks that auction's units and tries them again, so the lock delays
only its own auction, and in durable mode its bidders get `unavailable` after
`LOCK_PATIENCE_S` rather than waiting for ever.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

import asyncpg
import pytest

from bidserver.auction import PlaceBid
from bidserver.engine.persister import LOCK_PATIENCE_S, Persister, WriteUnit
from bidserver.errors import BidserverError
from bidserver.ports import RowsBusy
from storage.auctions import PgAuctionStore
from tests.integration.test_actor_faults import stop_hard
from tests.integration.test_event_store_faults import decided_item
from tests.support import make_auction, make_user

FAST_S = 1.0  # well inside the store's own 2 s timeout, which the old code waited out


async def _count(db: asyncpg.Pool, auction_id: int) -> int:
    n: int = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
    )
    return n


@asynccontextmanager
async def row_lock(db: asyncpg.Pool, auction_id: int) -> AsyncIterator[None]:
    """Another transaction holds the auction's row locked until the block ends."""
    async with db.acquire() as conn, conn.transaction():
        await conn.execute("SELECT 1 FROM auctions WHERE id = $1 FOR UPDATE", auction_id)
        yield


async def test_the_store_leaves_a_locked_row_out_and_commits_the_rest_at_once(
    db: asyncpg.Pool,
) -> None:
    store = PgAuctionStore(db, timeout_s=2.0)
    (locked, _), (free, _) = await make_auction(db), await make_auction(db)
    bidder = await make_user(db)
    held = await decided_item(store, locked, PlaceBid(bidder, 1000, str(uuid.uuid4())))
    other = await decided_item(store, free, PlaceBid(bidder, 1000, str(uuid.uuid4())))
    async with row_lock(db, locked):
        async with asyncio.timeout(FAST_S):
            with pytest.raises(RowsBusy) as busy:
                await store.append([held, other])
        assert (busy.value.busy, busy.value.refused) == ({locked}, set())
        assert await _count(db, free) == 1
        assert await _count(db, locked) == 0
    assert await store.append([held]) == set(), "once the lock is gone it writes"
    assert await _count(db, locked) == 1


async def _units(
    db: asyncpg.Pool, store: PgAuctionStore
) -> tuple[int, int, WriteUnit, WriteUnit, list[asyncio.Future[BidserverError | None]]]:
    (locked, _), (free, _) = await make_auction(db), await make_auction(db)
    bidder = await make_user(db)
    loop = asyncio.get_running_loop()
    done: list[asyncio.Future[BidserverError | None]] = [loop.create_future() for _ in "ab"]
    units = [
        WriteUnit(
            await decided_item(store, auction, PlaceBid(bidder, 1000, str(uuid.uuid4()))),
            partial(_settle, future),
        )
        for auction, future in zip((locked, free), done, strict=True)
    ]
    return locked, free, units[0], units[1], done


def _settle(future: asyncio.Future[BidserverError | None], error: BidserverError | None) -> None:
    future.set_result(error)


async def test_a_locked_row_delays_only_its_own_auction(db: asyncpg.Pool) -> None:
    store = PgAuctionStore(db)
    persister = Persister(store)  # durable mode
    locked, free, held, other, (held_done, other_done) = await _units(db, store)
    try:
        async with row_lock(db, locked):
            persister.submit(held)
            persister.submit(other)
            persister.start()
            async with asyncio.timeout(FAST_S):
                assert await other_done is None, "the free auction failed with the locked one"
            assert not held_done.done()
        async with asyncio.timeout(LOCK_PATIENCE_S + 2):
            assert await held_done is None, "written once the lock was released"
    finally:
        await stop_hard(persister)
    assert (await _count(db, free), await _count(db, locked)) == (1, 1)


async def test_durable_bids_behind_a_lock_that_stays_are_answered_unavailable(
    db: asyncpg.Pool,
) -> None:
    store = PgAuctionStore(db)
    persister = Persister(store)
    locked, _, held, other, (held_done, other_done) = await _units(db, store)
    try:
        async with row_lock(db, locked):
            persister.submit(held)
            persister.submit(other)
            persister.start()
            async with asyncio.timeout(LOCK_PATIENCE_S + 2):
                error = await held_done
            assert isinstance(error, BidserverError)
            assert error.code == "unavailable"
            assert other_done.done()
            assert other_done.result() is None
        await persister.flush()
    finally:
        await stop_hard(persister)
    assert await _count(db, locked) == 0
