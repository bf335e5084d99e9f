"""The event store's own fault paths (issue 9, defects 1, 8, 9), straight against PostgreSQL.

- Two units of one auction that do not chain (two writers, or one built on a unit that
  failed) are refused together, never half written, and never a unique-violation that would
  fail the whole node's batch.
- "Already stored" (a retried batch whose first commit answer was lost) means the very same
  write: a different write at the same seq with the same bidder and amount is refused.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import asyncpg

from bidserver.auction import BidCommand, BidPlaced, PlaceBid, PlaceMaxBid
from bidserver.engine.actor import AuctionActor
from bidserver.engine.persister import Persister, WriteUnit
from bidserver.ports import AppendItem
from storage.auctions import PgAuctionStore
from tests.bidload import check_dense
from tests.support import make_auction, make_user

TIMEOUT_S = 10.0


class _Capture(Persister):
    """Keeps what an actor hands over instead of writing it."""

    def __init__(self, store: PgAuctionStore) -> None:
        super().__init__(store)
        self.units: list[WriteUnit] = []
        self.got = asyncio.Event()

    def submit(self, unit: WriteUnit) -> None:
        self.units.append(unit)
        self.got.set()


async def decided_item(store: PgAuctionStore, auction_id: int, command: BidCommand) -> AppendItem:
    """The item a live actor would hand the persister for one command on the stored state."""
    loaded = await store.load(auction_id)
    assert loaded is not None
    capture = _Capture(store)
    actor = AuctionActor(loaded, store, capture)
    actor.start()
    try:
        actor.submit_bid(command, lambda reply: None)
        async with asyncio.timeout(TIMEOUT_S):
            await capture.got.wait()
    finally:
        await actor.stop()
    return capture.units[0].item


async def _log(pool: asyncpg.Pool, auction_id: int) -> list[tuple[int, int | None, int | None]]:
    rows = await pool.fetch(
        "SELECT version, seq, amount FROM auction_events WHERE auction_id = $1 ORDER BY version",
        auction_id,
    )
    return [(r["version"], r["seq"], r["amount"]) for r in rows]


async def test_units_of_one_auction_that_do_not_chain_are_refused_not_a_unique_violation(
    db: asyncpg.Pool,
) -> None:
    """Defect 1: both writers start at version 0; only the first unit met the row's fence,
    so the second collided on the primary key and failed everyone's batch, for ever."""
    store = PgAuctionStore(db)
    (twice, _), (other, _) = await make_auction(db), await make_auction(db)
    a, b = await make_user(db), await make_user(db)
    stale = await decided_item(store, twice, PlaceBid(a, 1000, str(uuid.uuid4())))
    fresh = await decided_item(store, twice, PlaceBid(b, 1000, str(uuid.uuid4())))
    assert stale.from_version == fresh.from_version == 0
    bystander = await decided_item(store, other, PlaceBid(a, 2000, str(uuid.uuid4())))

    refused = await store.append([stale, bystander, fresh])

    assert refused == {twice}
    assert await _log(db, twice) == []
    assert await _log(db, other) == [(1, 1, 2000)]
    await check_dense(db, other)


async def test_a_unit_chained_after_the_first_is_written(db: asyncpg.Pool) -> None:
    """The chain check refuses only broken chains: consecutive units of one auction commit."""
    store = PgAuctionStore(db)
    auction_id, _ = await make_auction(db)
    a, b = await make_user(db), await make_user(db)
    first = await decided_item(store, auction_id, PlaceBid(a, 1000, str(uuid.uuid4())))
    second = dataclasses.replace(
        await decided_item(store, auction_id, PlaceBid(b, 1000, str(uuid.uuid4()))),
        from_version=1,
    )
    event = second.events[0]
    assert isinstance(event, BidPlaced)
    second = dataclasses.replace(second, events=[dataclasses.replace(event, seq=2)])
    assert await store.append([first, second]) == set()
    assert [seq for _, seq, _ in await _log(db, auction_id)] == [1, 2]


async def test_a_different_write_at_the_same_seq_is_not_taken_for_stored(
    db: asyncpg.Pool,
) -> None:
    """Defect 8: same seq, type, kind, bidder and amount, but another hidden max and bidId.

    The first write committed (say after a reload, its answer lost); a writer still holding
    the other decision retries its batch. The loose identity check said "already stored",
    so the bidder was told its max of 9,000 stood while the log holds a max of 5,000.
    """
    store = PgAuctionStore(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    stored = await decided_item(store, auction_id, PlaceMaxBid(bidder, 5000, str(uuid.uuid4())))
    other = await decided_item(store, auction_id, PlaceMaxBid(bidder, 9000, str(uuid.uuid4())))
    assert await store.append([stored]) == set()

    assert await store.append([other]) == {auction_id}, "a different write passed as stored"
    assert await store.append([stored]) == set(), "the very same write is stored"
    leader_max = await db.fetchval(
        "SELECT leader_max FROM auction_events WHERE auction_id = $1", auction_id
    )
    assert leader_max == 5000
