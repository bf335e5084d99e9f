"""REST vehicles (CONTRACT §4): search, read, create, change, delete, and what is refused."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from storage import catalog_search
from tests.integration.rest import Rest, bearer, expired_token, forged_token, vehicle_body
from tests.support import make_user, running_api

NEXT_YEAR = datetime.now(UTC).year + 1


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    """The sidecar on the shared database: tests see only the rows they make."""
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


@pytest_asyncio.fixture
async def clean_rest(clean_db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    """The sidecar on empty tables, for tests that count everything."""
    async with running_api(clean_db, pg_dsn) as api:
        yield Rest(api)


async def create(rest: Rest, seller: int, role: str = "seller", **overrides: Any) -> Any:
    reply = await rest.post(
        "/vehicles", json=vehicle_body(**overrides), headers=rest.auth(seller, role)
    )
    assert reply.status == 201, reply.body
    return reply.body


async def vehicle_count(pool: asyncpg.Pool, seller: int) -> int:
    count: int = await pool.fetchval("SELECT count(*) FROM vehicles WHERE seller_id = $1", seller)
    return count


# --- create and read ----------------------------------------------------------------------


async def test_seller_creates_a_vehicle_and_anyone_reads_it(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    body = vehicle_body()
    body["vin"] = body["vin"].lower()
    reply = await rest.post("/vehicles", json=body, headers=rest.auth(seller, "seller"))
    assert reply.status == 201
    created = reply.body
    assert created["sellerId"] == seller
    assert created["vin"] == body["vin"].upper()
    for name in ("make", "model", "year", "mileage", "color", "description", "photos"):
        assert created[name] == body[name]
    assert created["createdAt"].endswith("Z")
    got = await rest.get(f"/vehicles/{created['id']}")
    assert (got.status, got.body) == (200, created)


async def test_admin_creates_a_vehicle_as_its_own_seller(rest: Rest) -> None:
    admin = await make_user(rest.pool, "admin")
    created = await create(rest, admin, "admin")
    assert created["sellerId"] == admin


async def test_optional_fields_default_to_empty(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    body = {k: v for k, v in vehicle_body().items() if k not in ("color", "description", "photos")}
    reply = await rest.post("/vehicles", json=body, headers=rest.auth(seller, "seller"))
    assert reply.status == 201
    assert (reply.body["color"], reply.body["description"], reply.body["photos"]) == ("", "", [])


async def test_missing_vehicle_is_404(rest: Rest) -> None:
    assert (await rest.get("/vehicles/999999")).code == "not_found"
    assert (await rest.get("/vehicles/abc")).status == 404
    assert (await rest.get("/vehicles/0")).status == 404


# --- who may create ------------------------------------------------------------------------


async def test_bidder_cannot_create_vehicles(rest: Rest) -> None:
    bidder = await make_user(rest.pool)
    reply = await rest.post("/vehicles", json=vehicle_body(), headers=rest.auth(bidder))
    assert (reply.status, reply.code) == (403, "forbidden")
    assert await vehicle_count(rest.pool, bidder) == 0


@pytest.mark.parametrize("token", ["none", "forged", "expired", "garbage", "basic"])
async def test_bad_credentials_are_401(rest: Rest, token: str) -> None:
    seller = await make_user(rest.pool, "seller")
    headers = {
        "none": {},
        "forged": bearer(forged_token(seller, "seller")),
        "expired": bearer(expired_token(seller, "seller")),
        "garbage": bearer("not.a.jwt"),
        "basic": {"Authorization": "Basic dXNlcjpwYXNz"},
    }[token]
    reply = await rest.post("/vehicles", json=vehicle_body(), headers=headers)
    assert (reply.status, reply.code) == (401, "unauthenticated")
    assert await vehicle_count(rest.pool, seller) == 0


# --- bad input -----------------------------------------------------------------------------


async def test_malformed_json_is_400(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    for raw in ('{"vin": ', "[1, 2]", '"text"', "NaN", "{'vin': 1}"):
        reply = await rest.post("/vehicles", data=raw, headers=rest.auth(seller, "seller"))
        assert (reply.status, reply.code) == (400, "bad_request"), raw
    assert await vehicle_count(rest.pool, seller) == 0


@pytest.mark.parametrize("field", ["sellerId", "id", "createdAt", "status", "role", "seller_id"])
async def test_unknown_fields_are_422_and_nothing_is_stored(rest: Rest, field: str) -> None:
    seller = await make_user(rest.pool, "seller")
    other = await make_user(rest.pool, "seller")
    body = vehicle_body(**{field: other})
    reply = await rest.post("/vehicles", json=body, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.code) == (422, "bad_request")
    assert reply.body["error"]["field"] == field
    assert await vehicle_count(rest.pool, seller) + await vehicle_count(rest.pool, other) == 0


BAD_FIELDS: list[tuple[str, Any]] = [
    ("vin", "1HGCM82633A004353"),  # wrong check digit
    ("vin", "1HGCM82633A00435"),  # 16 characters
    ("vin", "1HGCM82633A0043520"),  # 18 characters
    ("vin", "IHGCM82633A004352"),  # I is not a VIN character
    ("vin", 12345678901234567),
    ("vin", None),
    ("make", ""),
    ("make", "   "),
    ("make", "x" * 101),
    ("make", "Hon\x00da"),
    ("make", 7),
    ("model", ["Accord"]),
    ("year", 1885),
    ("year", NEXT_YEAR + 1),
    ("year", "2003"),
    ("year", 2003.0),
    ("year", True),
    ("mileage", -1),
    ("mileage", 2**31),
    ("mileage", 1.5),
    ("color", "c" * 51),
    ("description", 42),
    ("photos", "https://img.example.com/1.jpg"),
    ("photos", ["ftp://img.example.com/1.jpg"]),
    ("photos", ["javascript:alert(1)"]),
    ("photos", ["https://"]),
    ("photos", ["https://img.example.com/a b.jpg"]),
    ("photos", [1]),
    ("photos", [f"https://img.example.com/{i}.jpg" for i in range(21)]),
]


@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
async def test_invalid_fields_are_422(rest: Rest, field: str, value: Any) -> None:
    seller = await make_user(rest.pool, "seller")
    reply = await rest.post(
        "/vehicles", json=vehicle_body(**{field: value}), headers=rest.auth(seller, "seller")
    )
    assert (reply.status, reply.code) == (422, "bad_request")
    assert reply.body["error"]["field"] == field
    assert await vehicle_count(rest.pool, seller) == 0


@pytest.mark.parametrize("field", ["vin", "make", "model", "year", "mileage"])
async def test_required_fields(rest: Rest, field: str) -> None:
    seller = await make_user(rest.pool, "seller")
    body = vehicle_body()
    del body[field]
    reply = await rest.post("/vehicles", json=body, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.body["error"]["field"]) == (422, field)


async def test_year_bounds_are_inclusive(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    for year in (1886, NEXT_YEAR):
        assert (await create(rest, seller, year=year))["year"] == year


# --- change --------------------------------------------------------------------------------


async def test_seller_patches_some_fields(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    created = await create(rest, seller)
    reply = await rest.patch(
        f"/vehicles/{created['id']}",
        json={"mileage": 120_500, "description": "", "photos": []},
        headers=rest.auth(seller, "seller"),
    )
    assert reply.status == 200
    assert reply.body == {**created, "mileage": 120_500, "description": "", "photos": []}
    assert (await rest.get(f"/vehicles/{created['id']}")).body == reply.body
    empty = await rest.patch(
        f"/vehicles/{created['id']}", json={}, headers=rest.auth(seller, "seller")
    )
    assert (empty.status, empty.body) == (200, reply.body)


async def test_admin_patches_anyones_vehicle(rest: Rest) -> None:
    seller, admin = await make_user(rest.pool, "seller"), await make_user(rest.pool, "admin")
    created = await create(rest, seller)
    reply = await rest.patch(
        f"/vehicles/{created['id']}", json={"color": "red"}, headers=rest.auth(admin, "admin")
    )
    assert (reply.status, reply.body["color"], reply.body["sellerId"]) == (200, "red", seller)


async def test_patch_refusals(rest: Rest) -> None:
    seller, other = await make_user(rest.pool, "seller"), await make_user(rest.pool, "seller")
    bidder = await make_user(rest.pool)
    created = await create(rest, seller)
    path = f"/vehicles/{created['id']}"
    mine = rest.auth(seller, "seller")
    assert (
        await rest.patch(path, json={"color": "red"}, headers=rest.auth(other, "seller"))
    ).code == ("forbidden")
    assert (await rest.patch(path, json={"color": "red"}, headers=rest.auth(bidder))).status == 403
    assert (await rest.patch(path, json={"color": "red"})).status == 401
    for body in ({"sellerId": other}, {"id": 5}, {"createdAt": "2020-01-01T00:00:00.000Z"}):
        reply = await rest.patch(path, json=body, headers=mine)
        assert (reply.status, reply.code) == (422, "bad_request")
    assert (await rest.patch(path, json={"color": None}, headers=mine)).status == 422
    assert (await rest.patch(path, json={"vin": "1HGCM82633A004353"}, headers=mine)).status == 422
    assert (await rest.patch(path, data="{", headers=mine)).status == 400
    assert (await rest.patch("/vehicles/999999", json={}, headers=mine)).status == 404
    assert (await rest.get(path)).body == created  # nothing changed


# --- delete --------------------------------------------------------------------------------


async def test_delete(rest: Rest) -> None:
    seller, other = await make_user(rest.pool, "seller"), await make_user(rest.pool, "seller")
    admin = await make_user(rest.pool, "admin")
    first, second = await create(rest, seller), await create(rest, seller)
    assert (
        await rest.delete(f"/vehicles/{first['id']}", headers=rest.auth(other, "seller"))
    ).status == 403
    assert (await rest.delete(f"/vehicles/{first['id']}")).status == 401
    reply = await rest.delete(f"/vehicles/{first['id']}", headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.body) == (204, None)
    assert (await rest.get(f"/vehicles/{first['id']}")).status == 404
    assert (
        await rest.delete(f"/vehicles/{first['id']}", headers=rest.auth(seller, "seller"))
    ).status == 404
    assert (
        await rest.delete(f"/vehicles/{second['id']}", headers=rest.auth(admin, "admin"))
    ).status == 204


async def test_vehicle_with_an_auction_is_not_deleted(rest: Rest) -> None:
    seller = await make_user(rest.pool, "seller")
    vehicle = await create(rest, seller)
    now = datetime.now(UTC)
    await rest.pool.execute(
        "INSERT INTO auctions (vehicle_id, seller_id, starts_at, ends_at, starting_price)"
        " VALUES ($1, $2, $3, $4, 1000)",
        vehicle["id"],
        seller,
        now - timedelta(hours=1),
        now + timedelta(hours=1),
    )
    path = f"/vehicles/{vehicle['id']}"
    reply = await rest.delete(path, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.code) == (409, "vehicle_in_auction")
    await rest.pool.execute("UPDATE auctions SET status = 'closed'")
    reply = await rest.delete(path, headers=rest.auth(seller, "seller"))
    assert (reply.status, reply.code) == (409, "vehicle_has_auctions")
    assert (await rest.get(path)).status == 200


# --- search --------------------------------------------------------------------------------


@pytest.fixture(params=["sort", "walk", "cap2", "gin"])
def strategy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every search answers the same whichever plan `catalog_search.search_vehicles` picks:
    sorting the matches, walking the sort order, either by the count, and free text through
    `vehicle_terms` or (`gin`) through the GIN index and the table."""
    cap = {"sort": None, "walk": 0, "cap2": 2, "gin": None}[request.param]
    if cap is not None:
        monkeypatch.setattr(catalog_search, "SORT_MATCHES_MAX", cap)
        monkeypatch.setattr(catalog_search, "SORT_TEXT_MATCHES_MAX", cap)
        monkeypatch.setattr(catalog_search, "SORT_TERMS_MATCHES_MAX", cap)
    if request.param == "gin":
        monkeypatch.setattr(catalog_search, "TERMS_MAX", 0)
    return str(request.param)


@pytest_asyncio.fixture
async def stock(clean_rest: Rest, strategy: str) -> list[dict[str, Any]]:
    """Six vehicles created in this order (so `newest` is the reverse)."""
    rest = clean_rest
    seller = await make_user(rest.pool, "seller")
    specs = [
        ("Toyota", "Corolla", 2015, 80_000, "reliable commuter, new tyres"),
        ("toyota", "Camry", 2019, 30_000, "hybrid, leather seats"),
        ("Honda", "Civic", 2015, 120_000, "manual gearbox, sunroof"),
        ("Ford", "Mustang", 1967, 95_000, "classic V8 convertible"),
        ("Ford", "Focus", 2021, 10_000, "hybrid hatchback"),
        ("TOYOTA", "corolla", 2020, 45_000, "family car with sunroof"),
    ]
    made = []
    for make, model, year, mileage, description in specs:
        made.append(
            await create(
                rest,
                seller,
                make=make,
                model=model,
                year=year,
                mileage=mileage,
                description=description,
            )
        )
    return made


async def search(rest: Rest, **params: str) -> Any:
    reply = await rest.get("/vehicles", params=params)
    assert reply.status == 200, reply.body
    return reply.body


def ids(page: Any) -> list[int]:
    return [item["id"] for item in page["items"]]


async def test_default_is_newest_first_with_a_page_envelope(
    clean_rest: Rest, stock: list[Any]
) -> None:
    rest = clean_rest
    page = await search(rest)
    assert (page["page"], page["limit"], page["total"]) == (1, 20, 6)
    assert ids(page) == [v["id"] for v in reversed(stock)]
    assert ids(await search(rest, sort="newest")) == ids(page)


async def test_pages(clean_rest: Rest, stock: list[Any]) -> None:
    rest = clean_rest
    newest = [v["id"] for v in reversed(stock)]
    first = await search(rest, limit="4")
    second = await search(rest, limit="4", page="2")
    beyond = await search(rest, limit="4", page="3")
    assert (ids(first), first["total"]) == (newest[:4], 6)
    assert (ids(second), second["total"], second["page"]) == (newest[4:], 6, 2)
    assert (ids(beyond), beyond["total"]) == ([], 6)


async def test_totals_are_exact_up_to_the_cap_and_flagged_above_it(
    clean_rest: Rest, stock: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CONTRACT §4: `total` is exact (`totalExact`) up to the cap; past it, an estimate that
    is never below what was counted. The cap is lowered to 3 so six vehicles pass it."""
    rest = clean_rest
    assert (await search(rest, limit="2"))["totalExact"] is True
    monkeypatch.setattr(catalog_search, "EXACT_TOTAL_MAX", 3)
    toyotas = await search(rest, make="toyota", limit="1")
    assert (toyotas["total"], toyotas["totalExact"]) == (3, True)
    everything = await search(rest, limit="2", sort="-mileage")
    assert everything["totalExact"] is False
    assert everything["total"] >= 4
    assert len(everything["items"]) == 2
    last = await search(rest, limit="4", page="2")  # a short last page counts itself
    assert (last["total"], last["totalExact"], len(last["items"])) == (6, True, 2)


async def test_filters(clean_rest: Rest, stock: list[Any]) -> None:
    rest = clean_rest
    by = {(v["make"], v["model"]): v["id"] for v in stock}
    toyotas = await search(rest, make="TOYOTA")
    assert sorted(ids(toyotas)) == sorted(
        [by[("Toyota", "Corolla")], by[("toyota", "Camry")], by[("TOYOTA", "corolla")]]
    )
    assert toyotas["total"] == 3
    second = await search(rest, make="toyota", limit="2", page="2", sort="year")
    assert ([v["year"] for v in second["items"]], second["total"]) == ([2020], 3)
    past = await search(rest, make="toyota", limit="2", page="5")
    assert (past["items"], past["total"]) == ([], 3)
    assert (await search(rest, make="Lada", page="3"))["total"] == 0
    corollas = await search(rest, make="toyota", model="COROLLA")
    assert sorted(ids(corollas)) == sorted([by[("Toyota", "Corolla")], by[("TOYOTA", "corolla")]])
    assert ids(await search(rest, make="Toyo")) == []  # exact, not a prefix
    years = await search(rest, yearMin="2015", yearMax="2019", sort="year")
    assert [v["year"] for v in years["items"]] == [2015, 2015, 2019]
    assert ids(await search(rest, yearMin="2021")) == [by[("Ford", "Focus")]]
    assert ids(await search(rest, yearMax="1967")) == [by[("Ford", "Mustang")]]
    hybrids = await search(rest, q="hybrid")
    assert sorted(ids(hybrids)) == sorted([by[("toyota", "Camry")], by[("Ford", "Focus")]])
    assert ids(await search(rest, q="Hybrid Hatchback")) == [by[("Ford", "Focus")]]
    assert ids(await search(rest, q="ford classic")) == [by[("Ford", "Mustang")]]
    sunroof_toyota = await search(rest, q="sunroof", make="toyota")
    assert ids(sunroof_toyota) == [by[("TOYOTA", "corolla")]]
    assert (await search(rest, q="!!!"))["total"] == 0
    assert (await search(rest, make="", q=" "))["total"] == 6  # blank means no filter


async def test_sorts(clean_rest: Rest, stock: list[Any]) -> None:
    rest = clean_rest
    years = await search(rest, sort="year")
    assert [v["year"] for v in years["items"]] == [1967, 2015, 2015, 2019, 2020, 2021]
    same_year = [v["id"] for v in years["items"] if v["year"] == 2015]
    assert same_year == sorted(same_year)  # ties by id
    down = await search(rest, sort="-year")
    assert [v["year"] for v in down["items"]] == [2021, 2020, 2019, 2015, 2015, 1967]
    miles = await search(rest, sort="mileage")
    assert [v["mileage"] for v in miles["items"]] == sorted(v["mileage"] for v in stock)
    miles_down = await search(rest, sort="-mileage")
    assert [v["mileage"] for v in miles_down["items"]] == sorted(
        (v["mileage"] for v in stock), reverse=True
    )


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "101"},
        {"limit": "0"},
        {"limit": "ten"},
        {"page": "0"},
        {"page": "-1"},
        {"page": "1.5"},
        {"yearMin": "abc"},
        {"yearMax": "10000"},
        {"sort": "price"},
        {"sort": "-newest"},
        {"make": "x" * 201},
        {"q": "a\x00b"},
    ],
)
async def test_bad_queries_are_422(rest: Rest, params: dict[str, str]) -> None:
    reply = await rest.get("/vehicles", params=params)
    assert (reply.status, reply.code) == (422, "bad_request")


async def test_free_text_follows_changes_and_deletes(clean_rest: Rest) -> None:
    """One-word searches are answered from `vehicle_terms` (migration 0008): its rows follow
    every write of their vehicle in the same transaction, so a changed description or a
    deleted vehicle is found, or not, at once, and the table holds exactly each vehicle's
    lexemes."""
    rest = clean_rest
    seller = await make_user(rest.pool, "seller")
    kept = await create(rest, seller, description="quokka alpha")
    changed = await create(rest, seller, description="quokka alpha")
    assert sorted(ids(await search(rest, q="Quokka"))) == sorted([kept["id"], changed["id"]])
    path = f"/vehicles/{changed['id']}"
    headers = rest.auth(seller, "seller")
    reply = await rest.patch(path, json={"description": "wombat", "year": 2001}, headers=headers)
    assert reply.status == 200, reply.body
    assert ids(await search(rest, q="quokka")) == [kept["id"]]
    assert ids(await search(rest, q="wombat", yearMin="2001", yearMax="2001")) == [changed["id"]]
    assert ids(await search(rest, q="wombat", yearMin="2002")) == []
    assert (await rest.delete(path, headers=headers)).status == 204
    assert (await search(rest, q="wombat"))["total"] == 0
    differ = await rest.pool.fetchval(
        "SELECT count(*) FROM ((SELECT word, vehicle_id, make, year, mileage, created_at"
        " FROM vehicle_terms) EXCEPT ALL (SELECT w, id, lower(make), year, mileage, created_at"
        " FROM vehicles, unnest(tsvector_to_array(search)) AS w)) AS d"
    )
    assert differ == 0
    assert await rest.pool.fetchval(
        "SELECT count(*) FROM vehicle_terms"
    ) == await rest.pool.fetchval("SELECT sum(length(search)) FROM vehicles")
