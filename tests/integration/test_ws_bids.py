"""Bids over real sockets (CONTRACT §2 and §3): bid_result, rule errors, idempotency, outbid."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from bidserver.timefmt import to_iso
from storage.auctions import to_ms
from tests.integration.wsclient import (
    Msg,
    accepted_bid,
    ask,
    ask_all,
    barrier,
    bid,
    public,
    subscribe,
    until,
)
from tests.support import make_auction, make_user, running_engine, token_for

BID_RESULT_FIELDS = {
    "type",
    "auctionId",
    "accepted",
    "amount",
    "leading",
    "currentPrice",
    "bidCount",
    "bidderAlias",
    "seq",
    "endsAt",
}


async def _ends_at(db: asyncpg.Pool, auction_id: int) -> str:
    return to_iso(
        to_ms(await db.fetchval("SELECT ends_at FROM auctions WHERE id = $1", auction_id))
    )


async def _event_rows(db: asyncpg.Pool, auction_id: int) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id
    )
    return count


def _error(reply: Msg, code: str) -> None:
    assert reply["type"] == "error", reply
    assert reply["code"] == code, reply
    assert isinstance(reply["message"], str)
    assert reply["message"]


async def test_bid_result_fields_for_bid_max_bid_and_losing_challenge(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    ends_at = await _ends_at(db, auction_id)
    common = {"type": "bid_result", "auctionId": auction_id, "accepted": True, "endsAt": ends_at}
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        first = await accepted_bid(wa, auction_id, 1000, ref="one")
        assert set(first) == BID_RESULT_FIELDS | {"ref"}
        assert first == {
            **common,
            "ref": "one",
            "amount": 1000,
            "leading": True,
            "currentPrice": 1000,
            "bidCount": 1,
            "bidderAlias": "bidder-1",
            "seq": 1,
        }
        # A max bid leads at the lowest price that beats the leader; its amount is the max sent.
        second = await ask(wb, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 5000})
        assert set(second) >= BID_RESULT_FIELDS
        assert {k: second[k] for k in BID_RESULT_FIELDS} == {
            **common,
            "amount": 5000,
            "leading": True,
            "currentPrice": 1050,
            "bidCount": 2,
            "bidderAlias": "bidder-2",
            "seq": 2,
        }
        # V <= M: the challenger's record at V, then the leader's proxy at V + increment(V).
        third = await accepted_bid(wa, auction_id, 1500)
        assert {k: third[k] for k in BID_RESULT_FIELDS} == {
            **common,
            "amount": 1500,
            "leading": False,
            "currentPrice": 1550,
            "bidCount": 4,
            "bidderAlias": "bidder-1",
            "seq": 4,
        }
        # A leader raising its own max makes no record: seq stays, the answer still comes.
        raised = await ask(wb, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 9000})
        assert (raised["type"], raised["amount"], raised["seq"], raised["bidCount"]) == (
            "bid_result",
            9000,
            4,
            4,
        )
        assert raised["leading"] is True
    assert await _event_rows(db, auction_id) == 5  # 4 records + the silent max raise


async def _rule_error(server_client: Any, message: Msg, code: str) -> Msg:
    reply = await ask(server_client, {**message, "ref": code})
    _error(reply, code)
    assert reply["ref"] == code
    return reply


async def test_rule_errors_carry_the_rules_codes(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    seller = await make_user(db, "seller")
    live, _ = await make_auction(db, seller_id=seller, starting_price=1000)
    scheduled, _ = await make_auction(db, starts_in=timedelta(hours=1), ends_in=timedelta(hours=2))
    ended, _ = await make_auction(db, starts_in=timedelta(hours=-2), ends_in=timedelta(minutes=-1))
    async with (
        running_engine(db) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client(seller) as ws,
    ):
        low = await _rule_error(
            wa, {"type": "bid", "auctionId": live, "amount": 999}, "bid_too_low"
        )
        assert low["minimumNextBid"] == 1000
        await accepted_bid(wa, live, 1000)
        low = await _rule_error(
            wb, {"type": "bid", "auctionId": live, "amount": 1040}, "bid_too_low"
        )
        assert low["minimumNextBid"] == 1050
        low = await _rule_error(
            wb, {"type": "max_bid", "auctionId": live, "maxAmount": 1049}, "bid_too_low"
        )
        assert low["minimumNextBid"] == 1050
        await _rule_error(wa, {"type": "bid", "auctionId": live, "amount": 2000}, "already_leading")
        await _rule_error(
            ws, {"type": "bid", "auctionId": live, "amount": 5000}, "seller_cannot_bid"
        )
        await _rule_error(
            ws, {"type": "max_bid", "auctionId": live, "maxAmount": 1}, "seller_cannot_bid"
        )
        await ask(wa, {"type": "max_bid", "auctionId": live, "maxAmount": 5000})
        for too_low in (4000, 5000):
            await _rule_error(
                wa,
                {"type": "max_bid", "auctionId": live, "maxAmount": too_low},
                "max_below_current",
            )
        await _rule_error(wb, {"type": "buy_now", "auctionId": live}, "buy_now_unavailable")
        for kind, field in (("bid", "amount"), ("max_bid", "maxAmount")):
            message = {"type": kind, "auctionId": scheduled, field: 1}
            await _rule_error(wa, message, "auction_not_open")
            await _rule_error(wa, {**message, "auctionId": ended}, "auction_closed")
        await _rule_error(wa, {"type": "buy_now", "auctionId": scheduled}, "auction_not_open")
        await _rule_error(wa, {"type": "buy_now", "auctionId": ended}, "auction_closed")
        # Precedence: the seller's too-low bid on a scheduled auction is `auction_not_open`.
        await _rule_error(
            ws, {"type": "bid", "auctionId": scheduled, "amount": 1}, "auction_not_open"
        )
    assert await _event_rows(db, scheduled) == 0


async def test_buy_now_closes_at_once_with_won_and_outbid(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(
        db, starting_price=1000, reserve_price=10_000, buy_now_price=20_000
    )
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        assert (await subscribe(wa, auction_id))["snapshot"]["buyNowAvailable"] is True
        await subscribe(wb, auction_id)
        await accepted_bid(wa, auction_id, 1000)
        seen = await ask_all(wb, {"type": "buy_now", "auctionId": auction_id, "ref": "buy"})
        result = seen[-1]
        assert {k: result[k] for k in ("type", "amount", "leading", "currentPrice", "seq")} == {
            "type": "bid_result",
            "amount": 20_000,
            "leading": True,
            "currentPrice": 20_000,
            "seq": 3,
        }
        after = seen[:-1] + await until(wb, "won")
        events = public(after)
        assert [(e["type"], e["seq"]) for e in events] == [("bid", 1), ("bid", 2), ("closed", 3)]
        assert (events[1]["kind"], events[1]["amount"]) == ("buy_now", 20_000)
        assert {k: events[2][k] for k in ("status", "winnerAlias", "finalPrice", "reserveMet")} == {
            "status": "closed",
            "winnerAlias": "bidder-2",
            "finalPrice": 20_000,
            "reserveMet": True,
        }
        assert after[-1] == {"type": "won", "auctionId": auction_id, "finalPrice": 20_000}
        lost = await until(wa, "outbid")
        assert lost[-1] == {
            "type": "outbid",
            "auctionId": auction_id,
            "currentPrice": 20_000,
            "minimumNextBid": 20_250,
        }
        _error(await bid(wa, auction_id, 30_000), "auction_closed")


async def test_idempotent_retry_returns_the_first_answer_and_no_new_record(
    db: asyncpg.Pool,
) -> None:
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    bid_id = str(uuid.uuid4())
    max_id = str(uuid.uuid4())
    async with (
        running_engine(db) as server,
        server.client(a) as wa,
        server.client(b) as wb,
        server.client(w) as watcher,
    ):
        await subscribe(watcher, auction_id)
        first = await accepted_bid(wa, auction_id, 1000, bidId=bid_id, ref=1)
        assert await _event_rows(db, auction_id) == 1
        again = await accepted_bid(wa, auction_id, 1000, bidId=bid_id, ref=2)
        assert {**again, "ref": 1} == first
        assert await _event_rows(db, auction_id) == 1
        # Even after the auction moved on, the retry answers as the first time.
        await accepted_bid(wb, auction_id, 2000)
        late = await accepted_bid(wa, auction_id, 1000, bidId=bid_id.upper(), ref=3)
        assert {**late, "ref": 1} == first
        max_first = await ask(
            wa, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 9000, "bidId": max_id}
        )
        rows = await _event_rows(db, auction_id)
        max_again = await ask(
            wa, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 9000, "bidId": max_id}
        )
        assert {**max_again, "ref": max_first["ref"]} == max_first
        assert await _event_rows(db, auction_id) == rows == 3
        assert [e["seq"] for e in public(await barrier(watcher))] == [1, 2, 3]
        # The same bidId from another bidder is another bid.
        other = await accepted_bid(wb, auction_id, 3000, bidId=bid_id)
        assert other["bidderAlias"] == "bidder-2"
        assert await _event_rows(db, auction_id) == 5  # b's bid and a's proxy answer


async def test_outbid_goes_only_to_the_loser_s_subscribed_connections(db: asyncpg.Pool) -> None:
    a, b, w = await make_user(db), await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with (
        running_engine(db) as server,
        server.client(a) as a1,
        server.client(a) as a2,
        server.client(a) as a_unsubscribed,
        server.client(b) as b1,
        server.client(w) as watcher,
    ):
        for ws in (a1, a2, b1, watcher):
            await subscribe(ws, auction_id)
        await accepted_bid(a1, auction_id, 1000)
        await accepted_bid(b1, auction_id, 2000)
        expected = {
            "type": "outbid",
            "auctionId": auction_id,
            "currentPrice": 2000,
            "minimumNextBid": 2050,
        }
        for ws in (a1, a2):
            assert [m for m in await barrier(ws) if m["type"] == "outbid"] == [expected]
        for ws in (a_unsubscribed, b1, watcher):
            assert all(m["type"] != "outbid" for m in await barrier(ws))


async def test_challenger_at_or_below_the_leaders_max_is_told_at_once(db: asyncpg.Pool) -> None:
    a, b = await make_user(db), await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with running_engine(db) as server, server.client(a) as wa, server.client(b) as wb:
        await subscribe(wa, auction_id)
        await subscribe(wb, auction_id)
        await ask(wa, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 10_000})
        seen = await ask_all(wb, {"type": "bid", "auctionId": auction_id, "amount": 3000})
        assert seen[-1]["leading"] is False
        seen += await until(wb, "outbid")
        assert [(m["type"], m.get("kind")) for m in seen] == [
            ("bid", "max"),
            ("bid_result", None),
            ("bid", "bid"),
            ("bid", "proxy"),
            ("outbid", None),
        ]
        assert seen[-1] == {
            "type": "outbid",
            "auctionId": auction_id,
            "currentPrice": 3050,
            "minimumNextBid": 3100,
        }
        assert all(m["type"] != "outbid" for m in await barrier(wa))  # the leader kept it
        # A tie goes to the earlier max.
        tie = await ask(wb, {"type": "max_bid", "auctionId": auction_id, "maxAmount": 10_000})
        assert (tie["leading"], tie["currentPrice"]) == (False, 10_000)


@pytest.mark.parametrize("role", ["seller", "admin"])
async def test_seller_token_of_another_auction_may_bid(db: asyncpg.Pool, role: str) -> None:
    user = await make_user(db, role)
    auction_id, _ = await make_auction(db)
    async with (
        running_engine(db) as server,
        server.client(
            additional_headers={"Authorization": f"Bearer {token_for(user, role)}"}
        ) as ws,
    ):
        await accepted_bid(ws, auction_id, 1000)
