"""REST routes: valuations (CONTRACT §8).

`GET /vehicles/{id}/valuation` values a catalogue vehicle; `GET /valuations` any make,
model, year and mileage (a seller pricing a car before listing it). Both are public and
answer {`estimate`, `low`, `high`, `currency`, `comparables`, `basis`, `asOf`} plus
`scope` (`model`, or `make` when too few sales of the model made the answer widen to its
make); `basis: none` carries no numbers. The service behind them
(`bidserver.valuation`) lives for the app's lifetime (`valuer_ctx`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
from aiohttp import web

from bidserver import timefmt
from bidserver.config import Settings
from bidserver.errors import NotFound
from bidserver.pricing import Subject
from bidserver.valuation.provider import Provider
from bidserver.valuation.service import Valuation, Valuer
from httpapi.errors import Invalid
from httpapi.keys import POOL, VALUER
from httpapi.validation import path_id, query_int
from httpapi.vehicles import FIRST_YEAR, MAX_MILEAGE, MAX_NAME, clean_text, latest_model_year
from storage import catalog
from storage.sales import PgSales

Json = dict[str, Any]


def valuation(v: Valuation) -> Json:
    return {
        "estimate": v.estimate,
        "low": v.low,
        "high": v.high,
        "currency": v.currency,
        "comparables": v.comparables,
        "basis": v.basis,
        "asOf": timefmt.to_iso(v.as_of),
        "scope": v.scope,
    }


async def vehicle_valuation(request: web.Request) -> web.Response:
    vehicle_id = path_id(request)
    found = await catalog.get_vehicle(request.app[POOL], vehicle_id)
    if found is None:
        raise NotFound(f"vehicle {vehicle_id} does not exist")
    subject = Subject(found.make, found.model, found.year, found.mileage)
    return web.json_response(valuation(await request.app[VALUER].value(subject, found.vin)))


def _required_text(request: web.Request, name: str) -> str:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        raise Invalid(f"{name} is required", field=name)
    return clean_text(raw, name, max_len=MAX_NAME)


def _required_int(request: web.Request, name: str, low: int, high: int) -> int:
    found = query_int(request, name, None, low=low, high=high)
    if found is None:
        raise Invalid(f"{name} is required", field=name)
    return found


async def any_valuation(request: web.Request) -> web.Response:
    subject = Subject(
        make=_required_text(request, "make"),
        model=_required_text(request, "model"),
        year=_required_int(request, "year", FIRST_YEAR, latest_model_year()),
        mileage=_required_int(request, "mileage", 0, MAX_MILEAGE),
    )
    return web.json_response(valuation(await request.app[VALUER].value(subject)))


def valuer_ctx(settings: Settings, dsn: str) -> Callable[[web.Application], AsyncIterator[None]]:
    async def valuer(app: web.Application) -> AsyncIterator[None]:
        """The valuation service, its sales feed and (if configured) the provider's client."""
        session = aiohttp.ClientSession() if settings.pricing_url else None
        provider = None
        if settings.pricing_url is not None and session is not None:
            provider = Provider(settings.pricing_url, session, clock_ms=_now_ms)
        app[VALUER] = Valuer(PgSales(app[POOL], dsn), provider, clock_ms=_now_ms)
        app[VALUER].start()
        yield
        await app[VALUER].close()
        if session is not None:
            await session.close()

    return valuer


def _now_ms() -> int:
    return timefmt.now_ms()  # looked up per call, so a test may replace the server clock


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_get("/vehicles/{id}/valuation", vehicle_valuation)
    app.router.add_get("/valuations", any_valuation)
