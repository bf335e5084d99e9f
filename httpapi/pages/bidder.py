"""The bidder's pages (CONTRACT §5): login, register, live auctions, catalogue, one vehicle,
one auction. Public data is rendered on the server; what depends on who is logged in
(their bids, leading, the log-out button) and everything live is the ES modules' work.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from bidserver.errors import BidserverError, NotFound, Unavailable
from bidserver.timefmt import now_ms
from httpapi import views
from httpapi.errors import Invalid
from httpapi.keys import POOL, ROUTER
from httpapi.pages.render import render
from httpapi.pages.valuation import vehicle_valuation
from httpapi.validation import page_params, path_id
from httpapi.vehicles import vehicle_query
from storage import catalog, catalog_search, listings, showcase
from storage.catalog import VehicleQuery

HISTORY_SHOWN: Final = 50
ACTIVE_PAGE: Final = 60


async def root(request: web.Request) -> web.Response:
    raise web.HTTPFound("/auctions/active")


async def login_page(request: web.Request) -> web.Response:
    return render(request, "login.html", {})


async def register_page(request: web.Request) -> web.Response:
    return render(request, "register.html", {})


def not_found(request: web.Request, what: str) -> web.Response:
    return render(request, "notfound.html", {"what": what}, status=404)


def _page_args(request: web.Request, default_limit: int) -> tuple[int, int]:
    try:
        page, limit = page_params(request)
    except BidserverError:
        return 1, default_limit
    return page, limit if "limit" in request.query else default_limit


async def active_page(request: web.Request) -> web.Response:
    page, limit = _page_args(request, ACTIVE_PAGE)
    found, total = await listings.active_auctions(request.app[POOL], now_ms(), page, limit)
    vehicles = await catalog.get_vehicles(request.app[POOL], [a.vehicle_id for a in found])
    items = [
        views.auction(
            a,
            views.stored_snapshot(a, now_ms()),
            show_reserve=False,
            with_vehicle=vehicles[a.vehicle_id],
        )
        for a in found
        if a.vehicle_id in vehicles
    ]
    pages = _pager(page, limit, total)
    return render(request, "active.html", {"items": items, "total": total, "pager": pages})


def _pager(page: int, limit: int, total: int) -> dict[str, int | None]:
    last = max(1, -(-total // limit))
    return {
        "page": page,
        "last": last,
        "previous": page - 1 if page > 1 else None,
        "next": page + 1 if page < last else None,
    }


async def catalogue_page(request: web.Request) -> web.Response:
    problem = None
    try:
        query = vehicle_query(request)
    except Invalid as exc:
        problem = exc.message
        query = VehicleQuery()
    found = await catalog_search.search_vehicles(request.app[POOL], query)
    total = found.total
    context: dict[str, Any] = {
        "vehicles": [views.vehicle(v) for v in found.vehicles],
        "total": total,
        "about": "" if found.exact else "about ",
        "query": query,
        "problem": problem,
        "sorts": SORT_WORDS,
        "pager": _pager(query.page, query.limit, total),
        "args": {k: v for k, v in request.query.items() if k != "page"},
    }
    return render(request, "catalogue.html", context)


SORT_WORDS: Final = {
    "newest": "Newest listed",
    "year": "Year, oldest first",
    "-year": "Year, newest first",
    "mileage": "Mileage, lowest first",
    "-mileage": "Mileage, highest first",
}


async def vehicle_page(request: web.Request) -> web.Response:
    try:
        vehicle_id = path_id(request)
    except NotFound:
        return not_found(request, "vehicle")
    found = await catalog.get_vehicle(request.app[POOL], vehicle_id)
    if found is None:
        return not_found(request, "vehicle")
    auction_id = await showcase.latest_auction_of(request.app[POOL], vehicle_id)
    words, state = await vehicle_valuation(request, found)
    context = {
        "vehicle": views.vehicle(found),
        "auction_id": auction_id,
        "valuation": {"words": words, "state": state},
    }
    return render(request, "vehicle.html", context)


async def auction_page(request: web.Request) -> web.Response:
    try:
        auction_id = path_id(request)
    except NotFound:
        return not_found(request, "auction")
    pool = request.app[POOL]
    listing = await listings.get_listing(pool, auction_id)
    if listing is None:
        return not_found(request, "auction")
    snapshot = None
    if not listing.ended:
        try:
            snapshot = await request.app[ROUTER].snapshot(auction_id)
        except Unavailable:
            snapshot = None
    vehicle = await catalog.get_vehicle(pool, listing.vehicle_id)
    snap = snapshot or views.stored_snapshot(listing, now_ms())
    auction = views.auction(listing, snap, show_reserve=False, with_vehicle=vehicle)
    records = await listings.bid_history(pool, auction_id, None, HISTORY_SHOWN) or []
    words, state = (
        await vehicle_valuation(request, vehicle)
        if vehicle is not None
        else ("Estimated value: not available right now.", "unavailable")
    )
    context = {
        "auction": auction,
        "valuation": {"words": words, "state": state},
        "has_reserve": listing.reserve_price is not None,
        "history": [views.bid_record(r, admin=False) for r in records],
    }
    return render(request, "auction.html", context)
