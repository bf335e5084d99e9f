"""REST routes: auctions and their bid endpoints (CONTRACT §4).

Lists and closed or cancelled auctions are answered from the stored projection, so they
never wake an actor; a live auction's page asks its actor (`Router.snapshot`), and bids,
max bids, buy-now and cancel go through the same router as WebSocket bids, so both paths
obey one set of rules and one sequence. `reservePrice` is shown only to the auction's seller
and to admins.
"""

from __future__ import annotations

import re
from typing import Final

from aiohttp import web

from bidserver.accounts.tokens import Claims
from bidserver.auction import BidCommand, BuyNow, PlaceBid, PlaceMaxBid, Snapshot
from bidserver.errors import NotFound, Unavailable
from bidserver.timefmt import now_ms
from bidserver.wire import bid_result_fields
from httpapi import views
from httpapi.errors import Invalid
from httpapi.keys import POOL, ROUTER
from httpapi.security import current_user, optional_user, require_role
from httpapi.validation import (
    integer,
    money,
    page_params,
    path_id,
    query_int,
    read_object,
    timestamp,
)
from storage import catalog, listings
from storage.listings import AuctionTerms, Listing

DEFAULT_ANTI_SNIPE_S: Final = 120
MAX_ANTI_SNIPE_S: Final = 3600
MAX_EXTENSIONS: Final = 1_000_000
# Auction times further than this from the server clock are surely a mistake.
MAX_DISTANCE_MS: Final = 10 * 366 * 24 * 3600 * 1000
MAX_BIDS_PAGE: Final = 100
MAX_SEQ: Final = 999_999_999_999  # query_int reads at most 12 digits
MAX_ID: Final = 999_999_999_999_999_999  # the largest id a path accepts (18 digits)
MAX_ID_QUERY: Final = 999_999_999_999  # query_int reads at most 12 digits

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CREATE_FIELDS: Final = (
    "vehicleId",
    "startsAt",
    "endsAt",
    "startingPrice",
    "reservePrice",
    "buyNowPrice",
    "antiSnipeSeconds",
    "maxExtensions",
)


def _sees_reserve(claims: Claims | None, listing: Listing) -> bool:
    return claims is not None and (claims.role == "admin" or claims.user_id == listing.seller_id)


async def _shown(
    request: web.Request,
    listing: Listing,
    claims: Claims | None,
    *,
    snapshot: Snapshot | None = None,
    detail: bool = False,
) -> views.Json:
    """One auction as `claims` may see it; `detail` adds its vehicle."""
    snap = snapshot or views.stored_snapshot(listing, now_ms())
    vehicle = None
    if detail:
        vehicle = await catalog.get_vehicle(request.app[POOL], listing.vehicle_id)
    body = views.auction(
        listing, snap, show_reserve=_sees_reserve(claims, listing), with_vehicle=vehicle
    )
    body["watchers"] = request.app[ROUTER].watchers(listing.id)
    return body


# --- creation --------------------------------------------------------------------------------


def auction_terms(body: dict[str, object], now: int) -> AuctionTerms:
    vehicle_id = integer(body, "vehicleId", low=1, high=MAX_ID)
    starts_at = _time(body, "startsAt", now)
    ends_at = _time(body, "endsAt", now)
    if ends_at <= now:
        raise Invalid("endsAt must be in the future", field="endsAt")
    if ends_at <= starts_at:
        raise Invalid("endsAt must be after startsAt", field="endsAt")
    starting = money(body, "startingPrice")
    reserve = money(body, "reservePrice", required=False)
    buy_now = money(body, "buyNowPrice", required=False)
    assert vehicle_id is not None
    assert starting is not None
    if reserve is not None and reserve < starting:
        raise Invalid("reservePrice must be at least startingPrice", field="reservePrice")
    if buy_now is not None and buy_now < max(starting, reserve or 0):
        raise Invalid(
            "buyNowPrice must be at least startingPrice and reservePrice", field="buyNowPrice"
        )
    anti_snipe = integer(body, "antiSnipeSeconds", required=False, low=0, high=MAX_ANTI_SNIPE_S)
    max_ext = integer(body, "maxExtensions", required=False, low=0, high=MAX_EXTENSIONS)
    return AuctionTerms(
        vehicle_id=vehicle_id,
        starts_at=starts_at,
        ends_at=ends_at,
        starting_price=starting,
        reserve_price=reserve,
        buy_now_price=buy_now,
        anti_snipe_seconds=DEFAULT_ANTI_SNIPE_S if anti_snipe is None else anti_snipe,
        max_extensions=max_ext,
    )


def _time(body: dict[str, object], name: str, now: int) -> int:
    if body.get(name) is None:
        raise Invalid(f"{name} is required", field=name)
    value = timestamp(body, name)
    if abs(value - now) > MAX_DISTANCE_MS:
        raise Invalid(f"{name} must be within 10 years of now", field=name)
    return value


async def create_auction(request: web.Request) -> web.Response:
    claims = require_role(request, "seller", "admin")
    body = await read_object(request, _CREATE_FIELDS)
    now = now_ms()
    terms = auction_terms(body, now)
    owner = None if claims.role == "admin" else claims.user_id
    try:
        listing = await listings.create_auction(request.app[POOL], terms, owner, now)
    except NotFound:
        raise Invalid(f"vehicle {terms.vehicle_id} does not exist", field="vehicleId") from None
    return web.json_response(await _shown(request, listing, claims), status=201)


# --- reading ---------------------------------------------------------------------------------


def _status_filter(request: web.Request) -> str | None:
    status = request.query.get("status") or None
    if status is not None and status not in listings.STATUSES:
        raise Invalid(f"status must be one of {', '.join(listings.STATUSES)}", field="status")
    return status


def _seller_filter(request: web.Request) -> int | None:
    return query_int(request, "sellerId", None, high=MAX_ID_QUERY)


async def list_auctions(request: web.Request) -> web.Response:
    claims = optional_user(request)
    status = _status_filter(request)
    page, limit = page_params(request)
    seller = _seller_filter(request)
    found, total = await listings.list_auctions(
        request.app[POOL], status, now_ms(), page, limit, seller_id=seller
    )
    items = [await _shown(request, listing, claims) for listing in found]
    return web.json_response(views.page(items, page, limit, total))


async def active_auctions(request: web.Request) -> web.Response:
    claims = optional_user(request)
    page, limit = page_params(request)
    seller = _seller_filter(request)
    found, total = await listings.active_auctions(
        request.app[POOL], now_ms(), page, limit, seller_id=seller
    )
    items = [await _shown(request, listing, claims) for listing in found]
    return web.json_response(views.page(items, page, limit, total))


async def _listing(request: web.Request, auction_id: int) -> Listing:
    listing = await listings.get_listing(request.app[POOL], auction_id)
    if listing is None:
        raise NotFound(f"auction {auction_id} does not exist")
    return listing


async def get_auction(request: web.Request) -> web.Response:
    claims = optional_user(request)
    auction_id = path_id(request)
    listing = await _listing(request, auction_id)
    snapshot = None
    if not listing.ended:  # live: its actor knows best (and closes it if its end has passed)
        try:
            snapshot = await request.app[ROUTER].snapshot(auction_id)
        except Unavailable:
            snapshot = None  # no owner reachable now: show the committed projection
    body = await _shown(request, listing, claims, snapshot=snapshot, detail=True)
    return web.json_response(body)


async def bid_history(request: web.Request) -> web.Response:
    claims = optional_user(request)
    auction_id = path_id(request)
    limit = query_int(request, "limit", 20, high=MAX_BIDS_PAGE) or 20
    before = query_int(request, "before", None, high=MAX_SEQ)
    records = await listings.bid_history(request.app[POOL], auction_id, before, limit)
    if records is None:
        raise NotFound(f"auction {auction_id} does not exist")
    admin = claims is not None and claims.role == "admin"
    return web.json_response({"items": [views.bid_record(r, admin=admin) for r in records]})


# --- commands --------------------------------------------------------------------------------


def _bid_id(body: dict[str, object]) -> str | None:
    value = body.get("bidId")
    if value is None:
        return None
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise Invalid(
            "bidId must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e", field="bidId"
        )
    return value.lower()


async def _submit(request: web.Request, auction_id: int, command: BidCommand) -> web.Response:
    reply = await request.app[ROUTER].submit_bid(auction_id, command)
    return web.json_response(bid_result_fields(auction_id, reply), status=201)


async def place_bid(request: web.Request) -> web.Response:
    claims = current_user(request)
    auction_id = path_id(request)
    body = await read_object(request, ("amount", "bidId"))
    amount = money(body, "amount")
    assert amount is not None
    return await _submit(request, auction_id, PlaceBid(claims.user_id, amount, _bid_id(body)))


async def place_max_bid(request: web.Request) -> web.Response:
    claims = current_user(request)
    auction_id = path_id(request)
    body = await read_object(request, ("maxAmount", "bidId"))
    max_amount = money(body, "maxAmount")
    assert max_amount is not None
    command = PlaceMaxBid(claims.user_id, max_amount, _bid_id(body))
    return await _submit(request, auction_id, command)


async def buy_now(request: web.Request) -> web.Response:
    claims = current_user(request)
    auction_id = path_id(request)
    await read_object(request, ())
    return await _submit(request, auction_id, BuyNow(claims.user_id))


async def cancel_auction(request: web.Request) -> web.Response:
    claims = require_role(request, "admin")
    auction_id = path_id(request)
    await read_object(request, ())
    listing = await _listing(request, auction_id)  # terms never change; the rest comes live
    snapshot = await request.app[ROUTER].cancel(auction_id)
    return web.json_response(await _shown(request, listing, claims, snapshot=snapshot))


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_post("/auctions", create_auction)
    app.router.add_get("/auctions", list_auctions)
    app.router.add_get("/auctions/active", active_auctions)
    app.router.add_get("/auctions/{id}", get_auction)
    app.router.add_get("/auctions/{id}/bids", bid_history)
    app.router.add_post("/auctions/{id}/bid", place_bid)
    app.router.add_post("/auctions/{id}/max-bid", place_max_bid)
    app.router.add_post("/auctions/{id}/buy-now", buy_now)
    app.router.add_post("/auctions/{id}/cancel", cancel_auction)
