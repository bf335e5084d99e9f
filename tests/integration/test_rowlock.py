"""The row-lock baseline speaks the same protocol and applies the same rules as the actors."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.support import make_auction, make_user, next_of_type, request, running_engine


async def test_rowlock_bids_follow_the_rules_and_are_stored(db: asyncpg.Pool) -> None:
    auction_id, seller = await make_auction(db, starting_price=1000, reserve_price=5000)
    alice, bob, carol = await make_user(db), await make_user(db), await make_user(db)
    async with (
        running_engine(db, kind="rowlock") as server,
        server.client(alice) as a,
        server.client(bob) as b,
        server.client(carol) as watcher,
        server.client(seller) as s,
    ):
        sub = await request(watcher, {"type": "subscribe", "auctionId": auction_id, "ref": 0})
        assert sub["snapshot"]["minimumNextBid"] == 1000
        bid_id = str(uuid.uuid4())
        max_bid = {"type": "max_bid", "auctionId": auction_id, "maxAmount": 6000, "bidId": bid_id}
        first = await request(a, {**max_bid, "ref": 1})
        # A max at or above the reserve lifts the price straight to it.
        assert (first["currentPrice"], first["leading"]) == (5000, True)
        assert first["bidderAlias"] == "bidder-1"
        challenge = await request(
            b, {"type": "bid", "auctionId": auction_id, "amount": 5500, "ref": 2}
        )
        assert (challenge["leading"], challenge["currentPrice"], challenge["bidCount"]) == (
            False,
            5600,
            3,
        )
        assert challenge["bidderAlias"] == "bidder-2"
        retried = await request(a, {**max_bid, "ref": 3})
        assert (retried["seq"], retried["currentPrice"]) == (first["seq"], first["currentPrice"])
        refused = await request(
            s, {"type": "bid", "auctionId": auction_id, "amount": 9000, "ref": 4}
        )
        assert refused["code"] == "seller_cannot_bid"
        async with asyncio.timeout(5):
            seqs = [(await next_of_type(watcher, "bid"))["seq"] for _ in range(3)]
        assert seqs == [1, 2, 3]
    count = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
    )
    assert count == 3
