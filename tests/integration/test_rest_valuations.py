"""`GET /vehicles/{id}/valuation` and `GET /valuations` (CONTRACT §8), checked against the
OpenAPI document on every answer (`tests.integration.rest.Rest`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from bidserver.timefmt import from_iso
from httpapi.openapi import document
from tests.integration.rest import Rest
from tests.pricing_support import eventually, live_auction, load_history, new_make, sold_auction
from tests.support import running_api

FIELDS = {"estimate", "low", "high", "currency", "comparables", "basis", "asOf"}


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


def query(
    make: str, model: str = "Camry", year: Any = 2018, mileage: Any = 60_000
) -> dict[str, str]:
    return {"make": make, "model": model, "year": str(year), "mileage": str(mileage)}


def test_the_pricing_rows_of_the_contract_are_documented() -> None:
    paths = document()["paths"]
    assert "get" in paths["/vehicles/{id}/valuation"]
    assert "get" in paths["/valuations"]


async def test_a_valuation_from_the_marketplace_s_sales(rest: Rest) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Camry", 200)
    before = datetime.now(UTC)
    reply = await rest.get("/valuations", params=query(make))
    assert reply.status == 200
    body = reply.body
    assert set(body) >= FIELDS
    assert (body["basis"], body["currency"], body["scope"]) == ("sales", "USD", "model")
    assert all(type(body[k]) is int for k in ("estimate", "low", "high", "comparables"))
    assert 0 < body["low"] <= body["estimate"] <= body["high"]
    assert body["comparables"] >= 30
    assert from_iso(body["asOf"]) >= int(before.timestamp() * 1000) - 1


async def test_a_vehicle_s_valuation_is_that_of_its_make_model_year_and_mileage(
    rest: Rest,
) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Accord", 200)
    auction = await live_auction(rest.pool, make, "Accord", year=2016, mileage=97_000)
    vehicle = await rest.pool.fetchval("SELECT vehicle_id FROM auctions WHERE id = $1", auction)
    by_vehicle = await rest.get(f"/vehicles/{vehicle}/valuation")
    by_query = await rest.get("/valuations", params=query(make, "Accord", 2016, 97_000))
    assert by_vehicle.status == by_query.status == 200
    same = {k: v for k, v in by_vehicle.body.items() if k != "asOf"}  # read at its own time
    assert same == {k: v for k, v in by_query.body.items() if k != "asOf"}


async def test_too_few_sales_say_so_and_give_no_numbers(rest: Rest) -> None:
    make = new_make()
    for _ in range(4):
        await sold_auction(rest.pool, make, "Niva")
    reply = await rest.get("/valuations", params=query(make, "Niva"))
    assert reply.status == 200
    body = reply.body
    assert body["basis"] == "none"
    assert (body["estimate"], body["low"], body["high"], body["scope"]) == (None,) * 4
    assert body["comparables"] == 4


async def test_a_model_without_sales_is_valued_from_its_make_with_a_wider_range(
    rest: Rest,
) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Camry", 150)
    await load_history(rest.pool, make, "RAV4", 150, seed=2, base=34_000)
    camry = (await rest.get("/valuations", params=query(make, "Camry"))).body
    supra = (await rest.get("/valuations", params=query(make, "Supra"))).body
    assert (camry["scope"], supra["scope"]) == ("model", "make")
    assert supra["basis"] == "sales"
    width = (supra["high"] - supra["low"]) / supra["estimate"]
    assert width > 1.5 * (camry["high"] - camry["low"]) / camry["estimate"]


async def test_a_missing_vehicle_is_404(rest: Rest) -> None:
    for path in ("/vehicles/999999999/valuation", "/vehicles/abc/valuation"):
        reply = await rest.get(path)
        assert (reply.status, reply.code) == (404, "not_found")


@pytest.mark.parametrize(
    "params",
    [
        {"model": "Camry", "year": "2018", "mileage": "1"},
        {"make": "Toyota", "year": "2018", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "year": "2018"},
        {"make": "   ", "model": "Camry", "year": "2018", "mileage": "1"},
        {"make": "x" * 101, "model": "Camry", "year": "2018", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "year": "1885", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "year": "3000", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "year": "2018.5", "mileage": "1"},
        {"make": "Toyota", "model": "Camry", "year": "2018", "mileage": "-1"},
        {"make": "Toyota", "model": "Camry", "year": "2018", "mileage": "1e5"},
    ],
    ids=["no-make", "no-model", "no-year", "no-mileage", "blank-make", "long-make", "too-old",
         "future", "fraction", "negative", "exponent"],
)  # fmt: skip
async def test_bad_queries_are_422_naming_the_field(rest: Rest, params: dict[str, str]) -> None:
    reply = await rest.get("/valuations", params=params)
    assert (reply.status, reply.code) == (422, "bad_request")
    assert reply.body["error"]["field"] in ("make", "model", "year", "mileage")


async def test_valuations_are_counted_by_basis_and_cache_use(rest: Rest) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Camry", 60)
    await rest.get("/valuations", params=query(make, "Nothing"))
    hits = _counter(await _metrics(rest), "bidserver_valuation_cache_total", 'result="hit"')

    async def a_cache_hit() -> bool:  # books are cached once the node follows the sales
        await rest.get("/valuations", params=query(make))
        text = await _metrics(rest)
        return _counter(text, "bidserver_valuation_cache_total", 'result="hit"') > hits

    await eventually(a_cache_hit, what="a cached valuation")
    text = await _metrics(rest)
    assert _counter(text, "bidserver_valuations_total", 'basis="sales"') >= 2
    assert _counter(text, "bidserver_valuations_total", 'basis="none"') >= 1
    assert _counter(text, "bidserver_valuation_build_seconds_count", "") >= 2
    assert _counter(text, "bidserver_valuation_following_sales", "") == 1


async def _metrics(rest: Rest) -> str:
    async with rest.api.http.get(rest.api.base + "/metrics") as response:
        return await response.text()


def _counter(text: str, name: str, label: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and label in line and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total
