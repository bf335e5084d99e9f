"""An actor writes once per turn: every command it decides before yielding shares one unit.

Bids that reach the actor together (as a burst from many sockets does) must still be
answered one by one, in order, each only after the shared write committed; and when that
write is refused, every one of them is refused with it and nothing is stored.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from bidserver.auction import BidReply, PlaceBid
from bidserver.engine.actor import AuctionActor
from bidserver.engine.mailbox import Reply
from bidserver.engine.persister import Persister, WriteUnit
from bidserver.errors import BidserverError
from storage.auctions import PgAuctionStore
from tests.bidload import check_dense
from tests.support import make_auction, make_user

TIMEOUT_S = 10.0
BURST = 5


class _Recording(Persister):
    """The real persister, noting each unit it is handed."""

    def __init__(self, store: PgAuctionStore) -> None:
        super().__init__(store)
        self.units: list[WriteUnit] = []
        self.got = asyncio.Event()

    def submit(self, unit: WriteUnit) -> None:
        self.units.append(unit)
        self.got.set()
        super().submit(unit)


async def _burst(
    db: asyncpg.Pool, actor: AuctionActor, start_price: int
) -> list[asyncio.Future[Reply]]:
    """BURST plain bids from distinct bidders, submitted without yielding in between."""
    bidders = [await make_user(db) for _ in range(BURST)]
    loop = asyncio.get_running_loop()
    replies: list[asyncio.Future[Reply]] = [loop.create_future() for _ in bidders]
    for n, (bidder, reply) in enumerate(zip(bidders, replies, strict=True)):
        command = PlaceBid(bidder, start_price + 1000 * n, str(uuid.uuid4()))
        actor.submit_bid(command, reply.set_result)
    return replies


async def test_a_burst_is_one_unit_and_each_bid_is_answered_after_it_commits(
    db: asyncpg.Pool,
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    store = PgAuctionStore(db)
    persister = _Recording(store)
    loaded = await store.load(auction_id)
    assert loaded is not None
    actor = AuctionActor(loaded, store, persister)
    persister.start()
    actor.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            replies = await _burst(db, actor, 1000)
            first = await replies[0]
            stored_at_first_answer = await db.fetchval(
                "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
            )
            answers = [await r for r in replies]
    finally:
        await actor.stop()
        await persister.stop()

    assert len(persister.units) == 1
    assert len(persister.units[0].item.events) == BURST
    assert stored_at_first_answer == BURST, "answered before the shared write committed"
    assert isinstance(first, BidReply)
    assert [a.seq for a in answers if isinstance(a, BidReply)] == list(range(1, BURST + 1))
    assert await check_dense(db, auction_id) == BURST


async def test_a_refused_shared_write_refuses_every_bid_of_the_turn(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    store = PgAuctionStore(db)
    persister = _Recording(store)  # not started yet: the unit waits in its queue
    loaded = await store.load(auction_id)
    assert loaded is not None
    actor = AuctionActor(loaded, store, persister)
    actor.start()
    try:
        async with asyncio.timeout(TIMEOUT_S):
            replies = await _burst(db, actor, 1000)
            await persister.got.wait()
            # Another node takes the auction over before the unit is written.
            await db.execute(
                "UPDATE auctions SET owner_epoch = owner_epoch + 1 WHERE id = $1", auction_id
            )
            persister.start()
            answers = [await r for r in replies]
    finally:
        await actor.stop()
        await persister.stop()

    assert len(persister.units) == 1
    assert all(isinstance(a, BidserverError) and a.code == "unavailable" for a in answers)
    stored = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
    )
    assert stored == 0
