"""A bid travels the whole path: gateway, actor, persister, commit, ack and broadcast."""

from __future__ import annotations

import asyncpg

from tests.support import make_auction, make_user, next_of_type, request, running_engine


async def test_bid_is_acked_broadcast_and_stored(db: asyncpg.Pool) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder, watcher = await make_user(db), await make_user(db)
    async with (
        running_engine(db) as server,
        server.client(bidder) as a,
        server.client(watcher) as w,
    ):
        sub = await request(w, {"type": "subscribe", "auctionId": auction_id, "ref": 1})
        assert sub["type"] == "subscribed"
        assert sub["snapshot"]["seq"] == 0
        result = await request(
            a, {"type": "bid", "auctionId": auction_id, "amount": 25000, "ref": "b1"}
        )
        assert result["type"] == "bid_result"
        assert (result["currentPrice"], result["bidCount"], result["seq"]) == (25000, 1, 1)
        event = await next_of_type(w, "bid")
        assert (event["seq"], event["amount"], event["kind"]) == (1, 25000, "bid")
    row = await db.fetchrow(
        "SELECT seq, amount, bidder_id FROM auction_events WHERE auction_id = $1", auction_id
    )
    assert row is not None
    assert (row["seq"], row["amount"], row["bidder_id"]) == (1, 25000, bidder)
