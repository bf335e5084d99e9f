"""REST bids (CONTRACT §4): bid, max-bid, buy-now through the engine, and the bid history."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from tests.integration.rest import Rest, bearer, expired_token, forged_token
from tests.support import make_auction, make_user, running_api

BID_RESULT_FIELDS = {
    "auctionId", "accepted", "amount", "leading", "currentPrice", "bidCount", "bidderAlias",
    "seq", "endsAt",
}  # fmt: skip


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


async def bid(rest: Rest, auction_id: int, user: int, amount: Any, **extra: Any) -> Any:
    return await rest.post(
        f"/auctions/{auction_id}/bid", json={"amount": amount, **extra}, headers=rest.auth(user)
    )


async def max_bid(rest: Rest, auction_id: int, user: int, amount: int, **extra: Any) -> Any:
    return await rest.post(
        f"/auctions/{auction_id}/max-bid",
        json={"maxAmount": amount, **extra},
        headers=rest.auth(user),
    )


async def bid_rows(pool: asyncpg.Pool, auction_id: int) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM auction_events WHERE auction_id = $1 AND type = 'bid'", auction_id
    )
    return count


async def test_the_origin_test_a_first_bid_of_25000(rest: Rest) -> None:
    """CONTRACT's own example: {"amount": 25000} on a fresh open auction."""
    auction_id, _ = await make_auction(rest.pool, starting_price=1000)
    bidder = await make_user(rest.pool)
    reply = await rest.post(
        f"/auctions/{auction_id}/bid", json={"amount": 25000}, headers=rest.auth(bidder)
    )
    assert reply.status == 201
    assert set(reply.body) == BID_RESULT_FIELDS
    assert (reply.body["currentPrice"], reply.body["bidCount"]) == (25000, 1)
    assert reply.body["auctionId"] == auction_id
    assert reply.body["accepted"] is True
    assert (reply.body["amount"], reply.body["leading"], reply.body["seq"]) == (25000, True, 1)
    assert reply.body["bidderAlias"] == "bidder-1"
    shown = (await rest.get(f"/auctions/{auction_id}")).body
    assert (shown["currentPrice"], shown["bidCount"], shown["leaderAlias"]) == (
        25000,
        1,
        "bidder-1",
    )
    assert shown["minimumNextBid"] == 25500  # at 25,000 the step is 500
    listed = (await rest.get("/auctions", params={"status": "open", "limit": "100"})).body
    mine = [a for a in listed["items"] if a["id"] == auction_id]
    assert [(a["currentPrice"], a["leaderAlias"]) for a in mine] == [(25000, "bidder-1")]


async def test_rule_rejections_are_409_with_the_rule_code(rest: Rest) -> None:
    auction_id, seller = await make_auction(rest.pool, starting_price=1000)
    alice, bob = await make_user(rest.pool), await make_user(rest.pool)
    low = await bid(rest, auction_id, alice, 999)
    assert (low.status, low.code, low.body["error"]["minimumNextBid"]) == (409, "bid_too_low", 1000)
    own = await rest.post(
        f"/auctions/{auction_id}/bid",
        json={"amount": 5000},
        headers=rest.auth(seller, "seller"),
    )
    assert (own.status, own.code) == (409, "seller_cannot_bid")
    assert (await bid(rest, auction_id, alice, 1000)).status == 201
    leading = await bid(rest, auction_id, alice, 2000)
    assert (leading.status, leading.code) == (409, "already_leading")
    under = await bid(rest, auction_id, bob, 1010)
    assert (under.status, under.body["error"]["minimumNextBid"]) == (409, 1050)
    assert await bid_rows(rest.pool, auction_id) == 1


async def test_not_open_and_closed(rest: Rest) -> None:
    later, _ = await make_auction(
        rest.pool, starts_in=timedelta(hours=1), ends_in=timedelta(hours=2)
    )
    ended, _ = await make_auction(
        rest.pool, starts_in=timedelta(hours=-2), ends_in=timedelta(seconds=-1)
    )
    bidder = await make_user(rest.pool)
    assert (await bid(rest, later, bidder, 5000)).code == "auction_not_open"
    closed = await bid(rest, ended, bidder, 5000)
    assert (closed.status, closed.code) == (409, "auction_closed")


@pytest.mark.parametrize(
    "amount", [25000.0, 2.5e-1, "25000", True, 0, -1, 10**12 + 1, None, [25000], {"v": 1}]
)
async def test_money_must_be_an_integer(rest: Rest, amount: Any) -> None:
    auction_id, _ = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    reply = await bid(rest, auction_id, bidder, amount)
    assert (reply.status, reply.code, reply.body["error"]["field"]) == (
        422,
        "bad_request",
        "amount",
    )
    big = await max_bid(rest, auction_id, bidder, amount)
    assert (big.status, big.body["error"]["field"]) == (422, "maxAmount")
    assert await bid_rows(rest.pool, auction_id) == 0


async def test_bad_bodies(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    path = f"/auctions/{auction_id}/bid"
    me = rest.auth(bidder)
    assert (await rest.post(path, data="{amount: 1}", headers=me)).status == 400
    assert (await rest.post(path, data="[]", headers=me)).status == 400
    assert (await rest.post(path, json={}, headers=me)).status == 422
    for extra in ({"bidderId": bidder}, {"maxAmount": 5000}, {"currentPrice": 1}):
        reply = await rest.post(path, json={"amount": 5000, **extra}, headers=me)
        assert (reply.status, reply.code) == (422, "bad_request"), extra
    for bid_id in ("not-a-uuid", 12, "0f8fad5b-d9cb-469f-a165-70867728950", ""):
        reply = await bid(rest, auction_id, bidder, 5000, bidId=bid_id)
        assert (reply.status, reply.body["error"]["field"]) == (422, "bidId"), bid_id
    assert await bid_rows(rest.pool, auction_id) == 0


@pytest.mark.parametrize("credentials", ["none", "forged", "expired"])
async def test_bids_need_a_valid_token(rest: Rest, credentials: str) -> None:
    auction_id, _ = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    headers = {
        "none": {},
        "forged": bearer(forged_token(bidder, "bidder")),
        "expired": bearer(expired_token(bidder)),
    }[credentials]
    for suffix, body in (
        ("bid", {"amount": 5000}),
        ("max-bid", {"maxAmount": 5000}),
        ("buy-now", {}),
    ):
        reply = await rest.post(f"/auctions/{auction_id}/{suffix}", json=body, headers=headers)
        assert (reply.status, reply.code) == (401, "unauthenticated")
    assert await bid_rows(rest.pool, auction_id) == 0


async def test_missing_auction_is_404(rest: Rest) -> None:
    bidder = await make_user(rest.pool)
    assert (await bid(rest, 999_999, bidder, 5000)).code == "not_found"
    assert (await max_bid(rest, 999_999, bidder, 5000)).status == 404
    buy = await rest.post("/auctions/999999/buy-now", headers=rest.auth(bidder))
    assert buy.status == 404
    assert (await rest.get("/auctions/999999/bids")).status == 404
    assert (
        await rest.post("/auctions/x/bid", json={"amount": 1}, headers=rest.auth(bidder))
    ).status == 404


async def test_the_same_bid_id_gets_the_first_answer(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    bid_id = str(uuid.uuid4())
    first = await bid(rest, auction_id, bidder, 3000, bidId=bid_id)
    again = await bid(rest, auction_id, bidder, 3000, bidId=bid_id.upper())
    assert first.status == again.status == 201
    assert first.body == again.body
    assert await bid_rows(rest.pool, auction_id) == 1


async def test_max_bids_and_the_proxy_record(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool, starting_price=1000)
    alice, bob = await make_user(rest.pool), await make_user(rest.pool)
    first = await max_bid(rest, auction_id, alice, 5000)
    assert first.status == 201
    assert (first.body["amount"], first.body["currentPrice"], first.body["leading"]) == (
        5000,
        1000,
        True,
    )
    challenger = await bid(rest, auction_id, bob, 2000)
    assert challenger.status == 201
    assert (challenger.body["leading"], challenger.body["currentPrice"]) == (False, 2050)
    assert (challenger.body["bidCount"], challenger.body["seq"]) == (3, 3)
    raise_below = await max_bid(rest, auction_id, alice, 2050)
    assert (raise_below.status, raise_below.code) == (409, "max_below_current")
    history = (await rest.get(f"/auctions/{auction_id}/bids")).body["items"]
    assert [(r["seq"], r["kind"], r["amount"], r["bidderAlias"]) for r in history] == [
        (3, "proxy", 2050, "bidder-1"),
        (2, "bid", 2000, "bidder-2"),
        (1, "max", 1000, "bidder-1"),
    ]
    assert all("userId" not in r for r in history)
    assert all(r["at"].endswith("Z") for r in history)


async def test_buy_now(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool, buy_now_price=9000)
    buyer, late = await make_user(rest.pool), await make_user(rest.pool)
    path = f"/auctions/{auction_id}/buy-now"
    extra = await rest.post(path, json={"amount": 9000}, headers=rest.auth(buyer))
    assert (extra.status, extra.code) == (422, "bad_request")
    reply = await rest.post(path, headers=rest.auth(buyer))
    assert reply.status == 201
    assert (reply.body["currentPrice"], reply.body["leading"], reply.body["bidCount"]) == (
        9000,
        True,
        1,
    )
    shown = (await rest.get(f"/auctions/{auction_id}")).body
    assert (shown["status"], shown["buyNowAvailable"]) == ("closed", False)
    after = await rest.post(path, json={}, headers=rest.auth(late))
    assert (after.status, after.code) == (409, "auction_closed")
    kinds = [r["kind"] for r in (await rest.get(f"/auctions/{auction_id}/bids")).body["items"]]
    assert kinds == ["buy_now"]


async def test_buy_now_unavailable(rest: Rest) -> None:
    without, _ = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    reply = await rest.post(f"/auctions/{without}/buy-now", json={}, headers=rest.auth(bidder))
    assert (reply.status, reply.code) == (409, "buy_now_unavailable")


async def test_bid_history_pages_and_admin_user_ids(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool, starting_price=1000)
    alice, bob = await make_user(rest.pool), await make_user(rest.pool)
    admin = await make_user(rest.pool, "admin")
    amount = 1000
    for n in range(6):
        assert (await bid(rest, auction_id, (alice, bob)[n % 2], amount)).status == 201
        amount += 100
    path = f"/auctions/{auction_id}/bids"
    newest = (await rest.get(path, params={"limit": "4"})).body["items"]
    assert [r["seq"] for r in newest] == [6, 5, 4, 3]
    older = (await rest.get(path, params={"limit": "4", "before": "3"})).body["items"]
    assert [r["seq"] for r in older] == [2, 1]
    assert [r["bidderAlias"] for r in older] == ["bidder-2", "bidder-1"]
    assert [r["amount"] for r in older] == [1100, 1000]
    as_admin = (await rest.get(path, headers=rest.auth(admin, "admin"))).body["items"]
    assert [r["userId"] for r in as_admin] == [bob, alice] * 3
    as_bidder = (await rest.get(path, headers=rest.auth(alice))).body["items"]
    assert all("userId" not in r for r in as_bidder)
    for params in ({"limit": "101"}, {"limit": "0"}, {"before": "0"}, {"before": "x"}):
        reply = await rest.get(path, params=params)
        assert (reply.status, reply.code) == (422, "bad_request"), params
    forged = await rest.get(path, headers=bearer(forged_token(admin)))
    assert forged.status == 401
