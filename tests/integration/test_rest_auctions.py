"""REST auctions (CONTRACT §4): creation, lists by status, the active list, one auction, cancel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from bidserver.timefmt import now_ms, to_iso
from tests.integration.rest import Rest, bearer, expired_token, forged_token, vehicle_body
from tests.support import make_auction, make_user, running_api

HOUR_MS = 3_600_000


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    """The sidecar on the shared database: tests see only the rows they make."""
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


@pytest_asyncio.fixture
async def clean_rest(clean_db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    """The sidecar on empty tables, for tests that list everything."""
    async with running_api(clean_db, pg_dsn) as api:
        yield Rest(api)


async def new_vehicle(rest: Rest, seller: int) -> int:
    reply = await rest.post("/vehicles", json=vehicle_body(), headers=rest.auth(seller, "seller"))
    assert reply.status == 201
    vehicle_id: int = reply.body["id"]
    return vehicle_id


def terms(vehicle_id: int, **overrides: Any) -> dict[str, Any]:
    now = now_ms()
    body: dict[str, Any] = {
        "vehicleId": vehicle_id,
        "startsAt": to_iso(now - HOUR_MS),
        "endsAt": to_iso(now + HOUR_MS),
        "startingPrice": 1000,
        "reservePrice": 5000,
        "buyNowPrice": 9000,
        "antiSnipeSeconds": 60,
        "maxExtensions": 3,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


async def auction_count(pool: asyncpg.Pool, vehicle_id: int) -> int:
    count: int = await pool.fetchval(
        "SELECT count(*) FROM auctions WHERE vehicle_id = $1", vehicle_id
    )
    return count


# --- creation ------------------------------------------------------------------------------


async def test_seller_creates_an_auction(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    body = terms(vehicle)
    reply = await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    assert reply.status == 201
    created = reply.body
    assert created["vehicleId"] == vehicle
    assert created["sellerId"] == seller
    assert created["status"] == "open"  # startsAt in the past: open at once
    for name in ("startsAt", "endsAt", "startingPrice", "reservePrice", "buyNowPrice"):
        assert created[name] == body[name]
    assert (created["antiSnipeSeconds"], created["maxExtensions"]) == (60, 3)
    assert created["currentPrice"] is None
    assert (created["bidCount"], created["seq"], created["leaderAlias"]) == (0, 0, None)
    assert (created["minimumNextBid"], created["reserveMet"], created["buyNowAvailable"]) == (
        1000,
        False,
        True,
    )


async def test_defaults_and_optional_terms(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    body = terms(
        vehicle,
        reservePrice=...,
        buyNowPrice=...,
        antiSnipeSeconds=...,
        maxExtensions=...,
        startsAt=to_iso(now_ms() + HOUR_MS),
        endsAt=to_iso(now_ms() + 2 * HOUR_MS),
    )
    reply = await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    assert reply.status == 201
    created = reply.body
    assert created["status"] == "scheduled"
    assert (created["antiSnipeSeconds"], created["maxExtensions"]) == (120, None)
    assert (created["reservePrice"], created["buyNowPrice"]) == (None, None)
    assert (created["reserveMet"], created["buyNowAvailable"]) == (True, False)


async def test_times_with_an_offset_are_accepted(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    ends = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)
    local = ends.astimezone(UTC).replace(tzinfo=None).isoformat() + "+00:00"
    reply = await rest.post(
        "/auctions", json=terms(vehicle, endsAt=local), headers=rest.auth(seller, "seller")
    )
    assert reply.status == 201
    assert reply.body["endsAt"] == ends.strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_who_may_create(rest: Rest) -> None:
    seller, other = await make_user(rest.pool, "seller"), await make_user(rest.pool, "seller")
    bidder, admin = await make_user(rest.pool), await make_user(rest.pool, "admin")
    vehicle = await new_vehicle(rest, seller)
    other_seller = await rest.post(
        "/auctions", json=terms(vehicle), headers=rest.auth(other, "seller")
    )
    assert (other_seller.status, other_seller.code) == (403, "forbidden")
    assert (
        await rest.post("/auctions", json=terms(vehicle), headers=rest.auth(bidder))
    ).status == 403
    assert (await rest.post("/auctions", json=terms(vehicle))).status == 401
    forged = bearer(forged_token(seller, "seller"))
    assert (await rest.post("/auctions", json=terms(vehicle), headers=forged)).status == 401
    expired = bearer(expired_token(seller, "seller"))
    assert (await rest.post("/auctions", json=terms(vehicle), headers=expired)).status == 401
    assert await auction_count(rest.pool, vehicle) == 0
    by_admin = await rest.post("/auctions", json=terms(vehicle), headers=rest.auth(admin, "admin"))
    assert (by_admin.status, by_admin.body["sellerId"]) == (201, seller)


async def test_one_live_auction_per_vehicle(rest: Rest) -> None:
    seller, admin = await make_user(rest.pool, "seller"), await make_user(rest.pool, "admin")
    vehicle = await new_vehicle(rest, seller)
    mine = rest.auth(seller, "seller")
    first = await rest.post("/auctions", json=terms(vehicle), headers=mine)
    assert first.status == 201
    again = await rest.post("/auctions", json=terms(vehicle), headers=mine)
    assert (again.status, again.code) == (409, "vehicle_in_auction")
    cancel = await rest.post(
        f"/auctions/{first.body['id']}/cancel", headers=rest.auth(admin, "admin")
    )
    assert cancel.status == 200
    assert (await rest.post("/auctions", json=terms(vehicle), headers=mine)).status == 201


BAD_TERMS: list[tuple[str, Any, str]] = [
    ("startingPrice", 1000.0, "startingPrice"),
    ("startingPrice", 1e3, "startingPrice"),
    ("startingPrice", "1000", "startingPrice"),
    ("startingPrice", True, "startingPrice"),
    ("startingPrice", 0, "startingPrice"),
    ("startingPrice", -5, "startingPrice"),
    ("startingPrice", 10**12 + 1, "startingPrice"),
    ("startingPrice", None, "startingPrice"),
    ("reservePrice", 999, "reservePrice"),  # below startingPrice
    ("reservePrice", "5000", "reservePrice"),
    ("buyNowPrice", 4999, "buyNowPrice"),  # below reservePrice
    ("buyNowPrice", 12.5, "buyNowPrice"),
    ("antiSnipeSeconds", 3601, "antiSnipeSeconds"),
    ("antiSnipeSeconds", -1, "antiSnipeSeconds"),
    ("antiSnipeSeconds", "60", "antiSnipeSeconds"),
    ("maxExtensions", -1, "maxExtensions"),
    ("maxExtensions", 1.0, "maxExtensions"),
    ("vehicleId", "1", "vehicleId"),
    ("vehicleId", 0, "vehicleId"),
    ("vehicleId", 999_999, "vehicleId"),  # no such vehicle
    ("startsAt", "yesterday", "startsAt"),
    ("startsAt", "2026-11-28T10:00:00", "startsAt"),  # no time zone
    ("startsAt", 1795860000000, "startsAt"),
    ("endsAt", "2000-01-01T00:00:00.000Z", "endsAt"),  # in the past
    ("endsAt", None, "endsAt"),
]


@pytest.mark.parametrize(("name", "value", "field"), BAD_TERMS)
async def test_invalid_terms_are_422(rest: Rest, name: str, value: Any, field: str) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    body = terms(vehicle, **{name: value})
    reply = await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.code) == (422, "bad_request"), reply.body
    assert reply.body["error"]["field"] == field
    assert await auction_count(rest.pool, vehicle) == 0


async def test_ends_must_follow_starts(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    now = now_ms()
    body = terms(vehicle, startsAt=to_iso(now + 2 * HOUR_MS), endsAt=to_iso(now + HOUR_MS))
    reply = await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.body["error"]["field"]) == (422, "endsAt")


async def test_buy_now_may_equal_the_reserve(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    body = terms(vehicle, startingPrice=5000, reservePrice=5000, buyNowPrice=5000)
    assert (
        await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    ).status == 201


@pytest.mark.parametrize(
    "field", ["status", "currentPrice", "sellerId", "bidCount", "id", "winnerId", "role"]
)
async def test_unknown_fields_are_422_and_nothing_is_stored(rest: Rest, field: str) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    body = terms(vehicle, **{field: 1})
    reply = await rest.post("/auctions", json=body, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.body["error"]["field"]) == (422, field)
    assert await auction_count(rest.pool, vehicle) == 0


async def test_malformed_json_is_400(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    for raw in ("{", "[]", "null", "1"):
        reply = await rest.post("/auctions", data=raw, headers=rest.auth(seller, "seller"))
        assert (reply.status, reply.code) == (400, "bad_request")


# --- reading -------------------------------------------------------------------------------


async def test_reserve_price_is_shown_to_its_seller_and_admins_only(clean_rest: Rest) -> None:
    rest = clean_rest
    seller, other = await make_user(rest.pool, "seller"), await make_user(rest.pool, "seller")
    bidder, admin = await make_user(rest.pool), await make_user(rest.pool, "admin")
    vehicle = await new_vehicle(rest, seller)
    created = await rest.post("/auctions", json=terms(vehicle), headers=rest.auth(seller, "seller"))
    path = f"/auctions/{created.body['id']}"
    for headers in ({}, rest.auth(bidder), rest.auth(other, "seller")):
        for page in (path, "/auctions", "/auctions/active"):
            body = (await rest.get(page, headers=headers)).body
            shown = body["items"][0] if "items" in body else body
            assert "reservePrice" not in shown, (page, headers)
            assert shown["reserveMet"] is False
    for headers in (rest.auth(seller, "seller"), rest.auth(admin, "admin")):
        for page in (path, "/auctions", "/auctions/active"):
            body = (await rest.get(page, headers=headers)).body
            shown = body["items"][0] if "items" in body else body
            assert shown["reservePrice"] == 5000


async def test_one_auction_with_its_snapshot_and_vehicle(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await new_vehicle(rest, seller)
    created = (
        await rest.post("/auctions", json=terms(vehicle), headers=rest.auth(seller, "seller"))
    ).body
    reply = await rest.get(f"/auctions/{created['id']}")
    assert reply.status == 200
    got = reply.body
    assert got["vehicle"] == (await rest.get(f"/vehicles/{vehicle}")).body
    snapshot_fields = (
        "auctionId", "seq", "status", "currentPrice", "bidCount", "leaderAlias",
        "minimumNextBid", "reserveMet", "buyNowAvailable", "startsAt", "endsAt",
    )  # fmt: skip
    for name in snapshot_fields:
        assert name in got
    assert got["auctionId"] == created["id"]
    assert {k: v for k, v in got.items() if k not in ("vehicle", "reservePrice")} == {
        k: v for k, v in created.items() if k != "reservePrice"
    }


async def test_missing_auction_is_404(rest: Rest) -> None:
    for path in ("/auctions/999999", "/auctions/abc", "/auctions/0", "/auctions/-1"):
        reply = await rest.get(path)
        assert (reply.status, reply.code) == (404, "not_found"), path


async def test_a_forged_token_is_401_even_where_anonymous_is_fine(rest: Rest) -> None:
    admin = await make_user(rest.pool, "admin")
    reply = await rest.get("/auctions", headers=bearer(forged_token(admin)))
    assert (reply.status, reply.code) == (401, "unauthenticated")


async def test_ended_auction_is_read_without_waking_its_actor(rest: Rest) -> None:
    auction_id, _ = await make_auction(rest.pool)
    await rest.pool.execute("UPDATE auctions SET status = 'closed' WHERE id = $1", auction_id)
    reply = await rest.get(f"/auctions/{auction_id}")
    assert (reply.status, reply.body["status"]) == (200, "closed")
    assert rest.api.engine.registry.live(auction_id) is None


async def test_an_auction_past_its_end_reads_closed(clean_rest: Rest) -> None:
    rest = clean_rest
    auction_id, _ = await make_auction(
        rest.pool, starts_in=timedelta(hours=-2), ends_in=timedelta(seconds=-1)
    )
    listed = (await rest.get("/auctions", params={"status": "closed"})).body
    assert [a["id"] for a in listed["items"]] == [auction_id]
    reply = await rest.get(f"/auctions/{auction_id}")
    assert (reply.status, reply.body["status"], reply.body["buyNowAvailable"]) == (
        200,
        "closed",
        False,
    )


@pytest_asyncio.fixture
async def by_status(clean_rest: Rest) -> dict[str, list[int]]:
    """Auctions in each public status; ids in creation order."""
    rest = clean_rest
    admin = await make_user(rest.pool, "admin")
    hours = timedelta(hours=1)
    made: dict[str, list[int]] = {"scheduled": [], "open": [], "closed": [], "cancelled": []}
    windows = {
        "scheduled": [(hours, 3 * hours)],
        "open": [(-hours, 5 * hours), (-hours, 2 * hours), (-hours, 9 * hours)],
        "closed": [(-3 * hours, -hours)],
        "cancelled": [(-hours, 4 * hours)],
    }
    for status, spans in windows.items():
        for starts_in, ends_in in spans:
            auction_id, _ = await make_auction(rest.pool, starts_in=starts_in, ends_in=ends_in)
            made[status].append(auction_id)
    for auction_id in made["cancelled"]:
        reply = await rest.post(f"/auctions/{auction_id}/cancel", headers=rest.auth(admin, "admin"))
        assert reply.status == 200
    return made


async def test_list_by_status(clean_rest: Rest, by_status: dict[str, list[int]]) -> None:
    rest = clean_rest
    everything = await rest.get("/auctions")
    every_id = [a["id"] for a in everything.body["items"]]
    assert every_id == sorted(every_id, reverse=True)  # newest created first
    assert everything.body["total"] == 6
    for status, expected in by_status.items():
        page = (await rest.get("/auctions", params={"status": status})).body
        assert sorted(a["id"] for a in page["items"]) == sorted(expected), status
        assert {a["status"] for a in page["items"]} == {status}
        assert page["total"] == len(expected)
    paged = (await rest.get("/auctions", params={"limit": "2", "page": "2"})).body
    assert ([a["id"] for a in paged["items"]], paged["total"]) == (every_id[2:4], 6)


async def test_active_is_open_auctions_soonest_end_first(
    clean_rest: Rest, by_status: dict[str, list[int]]
) -> None:
    rest = clean_rest
    page = (await rest.get("/auctions/active")).body
    first, second, third = by_status["open"]
    assert [a["id"] for a in page["items"]] == [second, first, third]
    assert (page["total"], page["page"], page["limit"]) == (3, 1, 20)
    rest_of = (await rest.get("/auctions/active", params={"limit": "2", "page": "2"})).body
    assert ([a["id"] for a in rest_of["items"]], rest_of["total"]) == ([third], 3)


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/auctions", {"status": "live"}),
        ("/auctions", {"limit": "101"}),
        ("/auctions", {"page": "0"}),
        ("/auctions/active", {"limit": "1000"}),
        ("/auctions/active", {"page": "x"}),
    ],
)
async def test_bad_list_queries_are_422(rest: Rest, path: str, params: dict[str, str]) -> None:
    reply = await rest.get(path, params=params)
    assert (reply.status, reply.code) == (422, "bad_request")


# --- cancel --------------------------------------------------------------------------------


async def test_admin_cancels_an_open_auction(rest: Rest) -> None:
    admin = await make_user(rest.pool, "admin")
    auction_id, seller = await make_auction(rest.pool)
    bidder = await make_user(rest.pool)
    bid = await rest.post(
        f"/auctions/{auction_id}/bid", json={"amount": 1500}, headers=rest.auth(bidder)
    )
    assert bid.status == 201
    reply = await rest.post(f"/auctions/{auction_id}/cancel", headers=rest.auth(admin, "admin"))
    assert reply.status == 200
    cancelled = reply.body
    assert (cancelled["status"], cancelled["id"], cancelled["sellerId"]) == (
        "cancelled",
        auction_id,
        seller,
    )
    assert (cancelled["bidCount"], cancelled["seq"], cancelled["currentPrice"]) == (1, 2, 1500)
    stored = await rest.pool.fetchval("SELECT status FROM auctions WHERE id = $1", auction_id)
    assert stored == "cancelled"
    again = await rest.post(f"/auctions/{auction_id}/cancel", headers=rest.auth(admin, "admin"))
    assert (again.status, again.code) == (409, "auction_not_open")
    history = (await rest.get(f"/auctions/{auction_id}/bids")).body["items"]
    assert len(history) == 1  # bids stay recorded
    late = await rest.post(
        f"/auctions/{auction_id}/bid", json={"amount": 5000}, headers=rest.auth(bidder)
    )
    assert (late.status, late.code) == (409, "auction_not_open")


async def test_cancel_refusals(rest: Rest) -> None:
    admin, bidder = await make_user(rest.pool, "admin"), await make_user(rest.pool)
    auction_id, seller = await make_auction(rest.pool)
    path = f"/auctions/{auction_id}/cancel"
    assert (await rest.post(path, headers=rest.auth(bidder))).code == "forbidden"
    assert (await rest.post(path, headers=rest.auth(seller, "seller"))).status == 403
    assert (await rest.post(path)).status == 401
    assert (await rest.post(path, headers=bearer(forged_token(admin)))).status == 401
    assert (await rest.post(path, headers=bearer(expired_token(admin, "admin")))).status == 401
    unknown = await rest.post(path, json={"reason": "x"}, headers=rest.auth(admin, "admin"))
    assert (unknown.status, unknown.code) == (422, "bad_request")
    assert (
        await rest.post("/auctions/999999/cancel", headers=rest.auth(admin, "admin"))
    ).status == 404
    assert (await rest.get(f"/auctions/{auction_id}")).body["status"] == "open"
    ended, _ = await make_auction(
        rest.pool, starts_in=timedelta(hours=-2), ends_in=timedelta(seconds=-1)
    )
    late = await rest.post(f"/auctions/{ended}/cancel", headers=rest.auth(admin, "admin"))
    assert (late.status, late.code) == (409, "auction_closed")


async def test_cancel_a_scheduled_auction(rest: Rest) -> None:
    admin = await make_user(rest.pool, "admin")
    auction_id, _ = await make_auction(
        rest.pool, starts_in=timedelta(hours=1), ends_in=timedelta(hours=2)
    )
    reply = await rest.post(
        f"/auctions/{auction_id}/cancel", json={}, headers=rest.auth(admin, "admin")
    )
    assert (reply.status, reply.body["status"]) == (200, "cancelled")
