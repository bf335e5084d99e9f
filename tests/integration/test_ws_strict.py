"""Strict client messages over real sockets, both subprotocols (CONTRACT conventions, §3).

Every message type with a field the server does not know gets `bad_request` naming the
field and echoing the ref; nothing is done (no bid, no subscription), and the socket stays
open and keeps being served.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from websockets.typing import Subprotocol

from tests.integration.wsclient import JSON_SP, MSGPACK_SP, ask, barrier, subscribe
from tests.support import make_auction, make_user, running_engine, token_for


def _messages(auction_id: int, token: str) -> list[dict[str, Any]]:
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    return [
        {"type": "auth", "token": token, "expiresIn": 60},
        {"type": "subscribe", "auctionId": auction_id, "since_seq": 0},
        {"type": "unsubscribe", "auctionId": auction_id, "all": True},
        {"type": "bid", "auctionId": auction_id, "amount": 27000, "maxAmount": 40000},
        {"type": "max_bid", "auctionId": auction_id, "maxAmount": 40000, "amount": 27000},
        {"type": "bid", "auctionId": auction_id, "amount": 27000, "bidID": uuid},
        {"type": "buy_now", "auctionId": auction_id, "amount": 60000},
        {"type": "ping", "time": 1},
    ]


_UNKNOWN = ["expiresIn", "since_seq", "all", "maxAmount", "amount", "bidID", "amount", "time"]


@pytest.mark.parametrize("subprotocol", [JSON_SP, MSGPACK_SP])
async def test_every_message_type_refuses_an_unknown_field(
    db: asyncpg.Pool, subprotocol: Subprotocol
) -> None:
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=25000, buy_now_price=60000)
    async with (
        running_engine(db) as server,
        server.client(user, subprotocols=[subprotocol]) as ws,
        server.client() as watcher,
    ):
        assert ws.subprotocol == subprotocol
        first = await subscribe(watcher, auction_id)
        for n, (message, field) in enumerate(
            zip(_messages(auction_id, token_for(user)), _UNKNOWN, strict=True)
        ):
            reply = await ask(ws, {**message, "ref": n})
            assert reply["type"] == "error", (message, reply)
            assert (reply["code"], reply["field"], reply["ref"]) == ("bad_request", field, n)
            assert field in reply["message"]
        # Nothing happened: no bid reached the auction, the socket never subscribed.
        assert await barrier(ws) == []
        assert await barrier(watcher) == []
        again = await subscribe(watcher, auction_id)
        assert again["snapshot"]["bidCount"] == first["snapshot"]["bidCount"] == 0
        # And the same socket is still served.
        accepted = await ask(ws, {"type": "bid", "auctionId": auction_id, "amount": 25000})
        assert accepted["type"] == "bid_result", accepted
