"""REST routes: vehicles (CONTRACT §4).

`GET /vehicles` and `GET /vehicles/{id}` are public. Sellers and admins create vehicles (a
vehicle's seller is whoever created it); its seller or an admin changes or deletes it. A
vehicle with a scheduled or open auction cannot be deleted (409 `vehicle_in_auction`), nor
one whose past auctions keep it on record (409 `vehicle_has_auctions`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

from aiohttp import web

from bidserver.errors import NotFound
from bidserver.media.store import MEDIA_PATH
from bidserver.media.store import NAME as MEDIA_NAME
from bidserver.timefmt import now_ms
from bidserver.vin import is_valid_vin
from httpapi import views
from httpapi.errors import Invalid
from httpapi.keys import POOL
from httpapi.security import require_role
from httpapi.validation import page_params, path_id, query_int, read_object, storable
from storage import catalog, catalog_search
from storage.catalog import VehicleQuery

FIRST_YEAR: Final = 1886  # the Benz Patent-Motorwagen
MAX_NAME: Final = 100  # make, model
MAX_COLOR: Final = 50
MAX_DESCRIPTION: Final = 5000
MAX_PHOTOS: Final = 20
MAX_URL: Final = 2048
MAX_MILEAGE: Final = 2_000_000_000  # fits the INTEGER column with room to spare
MAX_QUERY_TEXT: Final = 200
QUERY_YEAR_MIN, QUERY_YEAR_MAX = 0, 9999
MAX_SELLER_QUERY: Final = 999_999_999_999  # query_int reads at most 12 digits

EDITORS: Final = ("seller", "admin")


def latest_model_year(now: int | None = None) -> int:
    """Next year's models are on sale already; nothing later is a real vehicle."""
    return datetime.fromtimestamp((now_ms() if now is None else now) / 1000, UTC).year + 1


# --- field parsers ---------------------------------------------------------------------------


def clean_text(value: object, name: str, *, max_len: int, allow_empty: bool = False) -> str:
    """A string PostgreSQL can store: no NUL, no lone surrogate; trimmed; bounded."""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be a string", field=name)
    text = value.strip()
    if (not text and not allow_empty) or len(value) > max_len:
        raise Invalid(f"{name} must be a non-empty string of at most {max_len}", field=name)
    if not storable(text):
        raise Invalid(f"{name} contains characters that cannot be stored", field=name)
    return text


def _vin(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise Invalid("vin must be a string", field=name)
    vin = value.strip().upper()
    if not is_valid_vin(vin):
        raise Invalid(
            "vin must be 17 characters (0-9, A-Z without I, O, Q) with a valid check digit",
            field=name,
        )
    return vin


def _int_in(low: int, high: Callable[[], int]) -> Callable[[object, str], int]:
    def parse(value: object, name: str) -> int:
        top = high()
        if type(value) is not int or not low <= value <= top:
            raise Invalid(f"{name} must be an integer from {low} to {top}", field=name)
        return value

    return parse


def _text_of(max_len: int, *, allow_empty: bool) -> Callable[[object, str], str]:
    def parse(value: object, name: str) -> str:
        return clean_text(value, name, max_len=max_len, allow_empty=allow_empty)

    return parse


def _photos(value: object, name: str) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_PHOTOS:
        raise Invalid(f"photos must be a list of at most {MAX_PHOTOS} URLs", field=name)
    return [_url(item, name) for item in value]


def _url(value: object, name: str) -> str:
    url = clean_text(value, name, max_len=MAX_URL)
    if url.startswith(MEDIA_PATH) and MEDIA_NAME.fullmatch(url.removeprefix(MEDIA_PATH)):
        return url  # a photo this server stored (POST /vehicles/{id}/photos)
    try:
        parts = urlsplit(url)
        valid = parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unclosed IPv6 bracket or a bad port
        valid = False
    if not valid or any(c.isspace() or ord(c) < 0x20 for c in url):
        raise Invalid(
            "each photo must be an http(s) URL with a host or a /media/ path of this server",
            field=name,
        )
    return url


_PARSERS: Final[Mapping[str, Callable[[object, str], object]]] = {
    "vin": _vin,
    "make": _text_of(MAX_NAME, allow_empty=False),
    "model": _text_of(MAX_NAME, allow_empty=False),
    "year": _int_in(FIRST_YEAR, latest_model_year),
    "mileage": _int_in(0, lambda: MAX_MILEAGE),
    "color": _text_of(MAX_COLOR, allow_empty=True),
    "description": _text_of(MAX_DESCRIPTION, allow_empty=True),
    "photos": _photos,
}
REQUIRED: Final = ("vin", "make", "model", "year", "mileage")


def vehicle_fields(body: Mapping[str, Any], *, partial: bool) -> dict[str, object]:
    """The writable fields of a create (all required ones) or a patch (any subset)."""
    fields: dict[str, object] = {}
    for name, parse in _PARSERS.items():
        if name not in body:
            if not partial and name in REQUIRED:
                raise Invalid(f"{name} is required", field=name)
            continue
        if body[name] is None:
            raise Invalid(f"{name} must not be null", field=name)
        fields[name] = parse(body[name], name)
    return fields


# --- handlers --------------------------------------------------------------------------------


def _query_text(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is None or (not raw.strip() and len(raw) <= MAX_QUERY_TEXT):
        return None
    return clean_text(raw, name, max_len=MAX_QUERY_TEXT)


def vehicle_query(request: web.Request) -> VehicleQuery:
    page, limit = page_params(request)
    sort = request.query.get("sort") or catalog.DEFAULT_SORT
    if sort not in catalog.SORTS:
        raise Invalid(f"sort must be one of {', '.join(catalog.SORTS)}", field="sort")
    return VehicleQuery(
        page=page,
        limit=limit,
        make=_query_text(request, "make"),
        model=_query_text(request, "model"),
        year_min=query_int(request, "yearMin", None, low=QUERY_YEAR_MIN, high=QUERY_YEAR_MAX),
        year_max=query_int(request, "yearMax", None, low=QUERY_YEAR_MIN, high=QUERY_YEAR_MAX),
        q=_query_text(request, "q"),
        sort=sort,
        seller_id=query_int(request, "sellerId", None, high=MAX_SELLER_QUERY),
    )


async def list_vehicles(request: web.Request) -> web.Response:
    query = vehicle_query(request)
    found = await catalog_search.search_vehicles(request.app[POOL], query)
    items = [views.vehicle(v) for v in found.vehicles]
    return web.json_response(
        views.page(items, query.page, query.limit, found.total, exact=found.exact)
    )


async def get_vehicle(request: web.Request) -> web.Response:
    vehicle_id = path_id(request)
    found = await catalog.get_vehicle(request.app[POOL], vehicle_id)
    if found is None:
        raise NotFound(f"vehicle {vehicle_id} does not exist")
    return web.json_response(views.vehicle(found))


async def create_vehicle(request: web.Request) -> web.Response:
    claims = require_role(request, *EDITORS)
    body = await read_object(request, _PARSERS.keys())
    fields = vehicle_fields(body, partial=False)
    created = await catalog.create_vehicle(request.app[POOL], claims.user_id, fields)
    return web.json_response(views.vehicle(created), status=201)


async def update_vehicle(request: web.Request) -> web.Response:
    claims = require_role(request, *EDITORS)
    vehicle_id = path_id(request)
    body = await read_object(request, _PARSERS.keys())
    fields = vehicle_fields(body, partial=True)
    owner = None if claims.role == "admin" else claims.user_id
    updated = await catalog.update_vehicle(request.app[POOL], vehicle_id, owner, fields)
    return web.json_response(views.vehicle(updated))


async def delete_vehicle(request: web.Request) -> web.Response:
    claims = require_role(request, *EDITORS)
    vehicle_id = path_id(request)
    owner = None if claims.role == "admin" else claims.user_id
    await catalog.delete_vehicle(request.app[POOL], vehicle_id, owner, now_ms())
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_get("/vehicles", list_vehicles)
    app.router.add_post("/vehicles", create_vehicle)
    app.router.add_get("/vehicles/{id}", get_vehicle)
    app.router.add_patch("/vehicles/{id}", update_vehicle)
    app.router.add_delete("/vehicles/{id}", delete_vehicle)
