"""The epoch fence: a writer that lost its auction (or fell behind) can never write it.

First straight against the store: in one batch an item whose `owner_epoch` is stale, or whose
`from_version` is not the row's, is refused and writes nothing, while the batch's other
items commit. Then through the engine: bumping the epoch under a live actor makes its next
write fail; that bid gets `unavailable` and is not stored or broadcast, and once the actor
has reloaded (and so adopted the new epoch) bidding goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import asyncpg
from prometheus_client import REGISTRY

from bidserver.auction import PlaceBid
from bidserver.engine.actor import AuctionActor
from bidserver.engine.persister import Persister, WriteUnit
from bidserver.ports import AppendItem
from storage.auctions import PgAuctionStore
from tests.bidload import check_dense
from tests.support import make_auction, make_user, next_of_type, request, running_engine

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


async def _bid_item(
    store: PgAuctionStore,
    auction_id: int,
    bidder: int,
    amount: int,
    *,
    from_version: int | None = None,
) -> AppendItem:
    """The item a live actor would hand the persister for one plain bid on the stored state."""
    loaded = await store.load(auction_id)
    assert loaded is not None
    capture = _Capture(store)
    actor = AuctionActor(loaded, store, capture)
    actor.start()
    try:
        actor.submit_bid(PlaceBid(bidder, amount, str(uuid.uuid4())), lambda reply: None)
        async with asyncio.timeout(TIMEOUT_S):
            await capture.got.wait()
    finally:
        await actor.stop()
    item = capture.units[0].item
    return item if from_version is None else dataclasses.replace(item, from_version=from_version)


async def _log(pool: asyncpg.Pool, auction_id: int) -> list[tuple[int, int | None, int | None]]:
    rows = await pool.fetch(
        "SELECT version, seq, amount FROM auction_events WHERE auction_id = $1 ORDER BY version",
        auction_id,
    )
    return [(r["version"], r["seq"], r["amount"]) for r in rows]


async def _head(pool: asyncpg.Pool, auction_id: int) -> tuple[object, ...]:
    row = await pool.fetchrow(
        "SELECT version, seq, current_price, bid_count, leader_id, status, owner_epoch"
        " FROM auctions WHERE id = $1",
        auction_id,
    )
    assert row is not None
    return tuple(row.values())


async def test_stale_epoch_is_refused_and_the_rest_of_the_batch_commits(db: asyncpg.Pool) -> None:
    store = PgAuctionStore(db)
    (good, _), (fenced, _) = await make_auction(db), await make_auction(db)
    bidder = await make_user(db)
    stale = await _bid_item(store, fenced, bidder, 2000)
    await db.execute("UPDATE auctions SET owner_epoch = owner_epoch + 1 WHERE id = $1", fenced)
    fenced_head = await _head(db, fenced)
    first = await _bid_item(store, good, bidder, 2000)

    refused = await store.append([first, stale])

    assert refused == {fenced}
    assert await _log(db, fenced) == []
    assert await _head(db, fenced) == fenced_head
    assert await _log(db, good) == [(1, 1, 2000)]
    assert (await _head(db, good))[:5] == (1, 1, 2000, 1, bidder)
    await check_dense(db, good)


async def test_wrong_from_version_is_refused_and_the_rest_commits(db: asyncpg.Pool) -> None:
    store = PgAuctionStore(db)
    (good, _), (behind, _) = await make_auction(db), await make_auction(db)
    first_bidder, second_bidder = await make_user(db), await make_user(db)
    assert await store.append([await _bid_item(store, behind, first_bidder, 2000)]) == set()
    behind_head = await _head(db, behind)
    # A writer that missed the first bid still thinks the auction is at version 0.
    late = await _bid_item(store, behind, second_bidder, 5000, from_version=0)
    ahead = await _bid_item(store, behind, second_bidder, 5000, from_version=2)

    for n, (bidder, wrong) in enumerate([(first_bidder, late), (second_bidder, ahead)], 1):
        good_item = await _bid_item(store, good, bidder, 2000 * n)
        assert await store.append([good_item, wrong]) == {behind}

    assert await _log(db, behind) == [(1, 1, 2000)]
    assert await _head(db, behind) == behind_head
    assert [seq for _, seq, _ in await _log(db, good)] == [1, 2]
    await check_dense(db, good)
    await check_dense(db, behind)


async def test_epoch_bumped_under_a_live_actor(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    first, second, watcher = await make_user(db), await make_user(db), await make_user(db)
    async with (
        running_engine(db) as server,
        server.client(first) as a,
        server.client(second) as b,
        server.client(watcher) as w,
    ):
        async with asyncio.timeout(TIMEOUT_S):
            sub = await request(w, {"type": "subscribe", "auctionId": auction_id, "ref": 0})
            assert sub["type"] == "subscribed"
            ok = await request(a, _bid(auction_id, 2000, "a1"))
            assert (ok["type"], ok["seq"]) == ("bid_result", 1)
            assert (await next_of_type(w, "bid"))["seq"] == 1

            await db.execute(
                "UPDATE auctions SET owner_epoch = owner_epoch + 1 WHERE id = $1", auction_id
            )
            fenced_before = REGISTRY.get_sample_value("bidserver_persist_fenced_total") or 0.0
            lost = _bid(auction_id, 3000, "b1")
            refused = await request(b, lost)
            assert (refused["type"], refused["code"]) == ("error", "unavailable")
            fenced = REGISTRY.get_sample_value("bidserver_persist_fenced_total")
            assert fenced == fenced_before + 1  # what the fenced-writes alarm watches
            assert await _log(db, auction_id) == [(1, 1, 2000)]

            # The actor reloads (adopting the new epoch) and takes the next bid.
            following = await request(b, _bid(auction_id, 4000, "b2"))
            assert (following["type"], following["seq"]) == ("bid_result", 2)
            assert following["currentPrice"] == 4000
            event = await next_of_type(w, "bid")  # the refused attempt was never broadcast
            assert (event["seq"], event["amount"]) == (2, 4000)
            # Its retry is decided afresh: nothing of the first attempt survived.
            retried = await request(b, {**lost, "ref": "b1-again"})
            assert (retried["type"], retried["code"]) == ("error", "already_leading")

    assert await _log(db, auction_id) == [(1, 1, 2000), (2, 2, 4000)]
    stored = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1 AND cause_bid_id = $2",
        auction_id,
        lost["bidId"],
    )
    assert stored == 0
    epoch = await db.fetchval("SELECT owner_epoch FROM auctions WHERE id = $1", auction_id)
    assert epoch == 1
    await check_dense(db, auction_id)


def _bid(auction_id: int, amount: int, ref: str) -> dict[str, object]:
    return {
        "type": "bid",
        "auctionId": auction_id,
        "amount": amount,
        "bidId": str(uuid.uuid4()),
        "ref": ref,
    }


async def test_a_retried_batch_whose_commit_answer_was_lost_is_not_refused(
    db: asyncpg.Pool,
) -> None:
    """Memory-ack mode retries a failed batch; a part that did commit must count as written."""
    store = PgAuctionStore(db)
    auction_id, _ = await make_auction(db)
    first_bidder, second_bidder = await make_user(db), await make_user(db)
    committed = await _bid_item(store, auction_id, first_bidder, 2000)
    assert await store.append([committed]) == set()  # its answer "lost": the batch is retried
    follow_up = dataclasses.replace(
        await _bid_item(store, auction_id, second_bidder, 5000), from_version=1
    )

    assert await store.append([committed, follow_up]) == set()

    assert [(v, seq) for v, seq, _ in await _log(db, auction_id)] == [(1, 1), (2, 2)]
    await check_dense(db, auction_id)
