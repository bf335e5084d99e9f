"""The external pricing provider (CONTRACT §8, `BIDSERVER_PRICING_URL`) against a stand-in.

The stand-in is a real HTTP server (`tests/pricing_support.StandIn`) that answers, stalls,
fails, hangs up or returns garbage. Whatever it does, a valuation is answered (by the
sales when the provider gives nothing usable), each answer says its basis, a stalled
provider costs at most its one second, a failing one is left alone by the breaker, and
bids never wait for any of it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
import pytest_asyncio

from bidserver.config import load_settings
from bidserver.pricing import Breaker, Subject
from bidserver.timefmt import now_ms
from bidserver.valuation import metrics
from bidserver.valuation.provider import Provider
from bidserver.valuation.service import Valuer
from storage.sales import PgSales
from tests.integration.rest import Rest
from tests.pricing_support import StandIn, live_auction, load_history, new_make, stand_in
from tests.support import SECRET, make_user, running_api


class Clock:
    """A monotonic clock the test moves by hand (the breaker's cool-down, the cache's TTL)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


Setup = tuple[StandIn, Provider, Valuer, Clock, str]


@pytest_asyncio.fixture
async def setup(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Setup]:
    """A provider client on the stand-in, in front of a valuer whose make has 60 sales."""
    make = new_make()
    await load_history(db, make, "Camry", 60)
    clock = Clock()
    async with stand_in() as provider, aiohttp.ClientSession() as session:
        client = Provider(
            provider.url, session, clock_ms=now_ms, breaker=Breaker(5, 30.0), monotonic=clock
        )
        valuer = Valuer(PgSales(db, pg_dsn), client, clock_ms=now_ms)
        try:
            yield provider, client, valuer, clock, make
        finally:
            await valuer.close()


def failures(reason: str) -> float:
    found: float = metrics.PROVIDER_FAILURES.labels(reason)._value.get()
    return found


async def test_an_answer_is_used_first_and_says_provider(setup: Setup) -> None:
    provider, _, valuer, _, make = setup
    got = await valuer.value(Subject(make, "Camry", 2018, 61_000), "1HGCM82633A004352")
    assert got.basis == "provider"
    assert (got.estimate, got.low, got.high, got.comparables) == (25_000, 22_000, 28_000, 0)
    assert provider.calls == [
        {"vin": "1HGCM82633A004352", "make": make, "model": "Camry", "year": "2018",
         "mileage": "61000"},
    ]  # fmt: skip


async def test_answers_are_cached_and_shared(setup: Setup) -> None:
    provider, _, valuer, clock, make = setup
    subject = Subject(make, "Camry", 2018, 60_000)
    answers = await asyncio.gather(*(valuer.value(subject) for _ in range(10)))
    assert {a.basis for a in answers} == {"provider"}
    await valuer.value(subject)
    assert len(provider.calls) == 1  # ten at once shared one call; the next was a cache hit
    clock.now += 601  # past the cache's ten minutes
    await valuer.value(subject)
    assert len(provider.calls) == 2


async def test_the_provider_s_own_count_of_comparables_is_passed_on(setup: Setup) -> None:
    provider, _, valuer, _, make = setup
    provider.answer = {"estimate": 9_000, "low": 8_000, "high": 9_500, "comparables": 212,
                       "currency": "USD", "extra": [1, 2]}  # fmt: skip
    got = await valuer.value(Subject(make, "Camry", 2012, 150_000))
    assert (got.basis, got.estimate, got.comparables) == ("provider", 9_000, 212)


async def test_a_stalled_provider_costs_one_second_then_the_sales_answer(setup: Setup) -> None:
    provider, _, valuer, _, make = setup
    provider.mode = "stall"
    timeouts = failures("timeout")
    loop = asyncio.get_running_loop()
    started = loop.time()
    got = await valuer.value(Subject(make, "Camry", 2018, 60_000))
    waited = loop.time() - started
    assert got.basis == "sales"
    assert got.estimate is not None
    assert failures("timeout") == timeouts + 1
    assert 0.9 <= waited < 5.0  # the 1 s timeout (an upper bound for a crowded machine)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json at all", "text/plain"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[25000, 22000, 28000]", "application/json"),
        (b'{"estimate": "25000", "low": 22000, "high": 28000}', "application/json"),
        (b'{"estimate": 25000.0, "low": 22000, "high": 28000}', "application/json"),
        (b'{"estimate": 2.5e4, "low": 22000, "high": 28000}', "application/json"),
        (b'{"estimate": true, "low": 22000, "high": 28000}', "application/json"),
        (b'{"estimate": 25000, "low": 26000, "high": 28000}', "application/json"),
        (b'{"estimate": 0, "low": 0, "high": 28000}', "application/json"),
        (b'{"estimate": -5, "low": -6, "high": 28000}', "application/json"),
        (b'{"estimate": 25000, "low": 22000}', "application/json"),
        (b'{"estimate": 10000000000000, "low": 1, "high": 10000000000001}', "application/json"),
        (b'{"estimate": 25000, "low": 22000, "high": 28000, "pad": "' + b"x" * 70_000 + b'"}',
         "application/json"),
        (b"[" * 100_000, "application/json"),
    ],
    ids=["text", "bad-utf8", "array", "string", "float", "exponent", "bool", "disorder", "zero",
         "negative", "missing", "too-big", "huge-body", "deep"],
)  # fmt: skip
async def test_garbage_is_ignored_and_the_sales_answer(
    setup: Setup, body: bytes, content_type: str
) -> None:
    provider, _, valuer, _, make = setup
    provider.mode, provider.body, provider.content_type = "garbage", body, content_type
    got = await valuer.value(Subject(make, "Camry", 2018, 60_000))
    assert got.basis == "sales"
    assert got.estimate is not None
    assert len(provider.calls) == 1


@pytest.mark.parametrize(("mode", "reason"), [("fail", "status"), ("hangup", "unreachable")])
async def test_a_failing_provider_leaves_the_answer_to_the_sales(
    setup: Setup, mode: str, reason: str
) -> None:
    provider, _, valuer, _, make = setup
    provider.mode = mode
    before = failures(reason)
    got = await valuer.value(Subject(make, "Camry", 2018, 60_000))
    assert got.basis == "sales"
    assert failures(reason) == before + 1


async def test_an_unreachable_provider_leaves_the_answer_to_the_sales(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    make = new_make()
    await load_history(db, make, "Camry", 60)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with aiohttp.ClientSession() as session:
        client = Provider(f"http://127.0.0.1:{port}/value", session, clock_ms=now_ms)
        valuer = Valuer(PgSales(db, pg_dsn), client, clock_ms=now_ms)
        before = failures("unreachable")
        got = await valuer.value(Subject(make, "Camry", 2018, 60_000))
        await valuer.close()
    assert got.basis == "sales"
    assert failures("unreachable") == before + 1


async def test_the_breaker_stops_asking_a_failing_provider_then_tries_again(
    setup: Setup,
) -> None:
    provider, client, valuer, clock, make = setup
    provider.mode = "fail"
    for mileage in range(5):  # five different cars, five failures in a row
        assert (await valuer.value(Subject(make, "Camry", 2018, mileage))).basis == "sales"
    assert len(provider.calls) == 5
    skipped = failures("open")
    assert (await valuer.value(Subject(make, "Camry", 2018, 99))).basis == "sales"
    assert len(provider.calls) == 5  # open: not asked at all
    assert failures("open") == skipped + 1
    clock.now += 31  # after the cool-down, one trial
    provider.mode = "answer"
    assert (await valuer.value(Subject(make, "Camry", 2018, 100))).basis == "provider"
    assert len(provider.calls) == 6
    assert (await valuer.value(Subject(make, "Camry", 2018, 101))).basis == "provider"
    assert client.breaker.state(clock.now).value == "closed"


# --- through the REST sidecar -------------------------------------------------------------


@pytest_asyncio.fixture
async def api_with_provider(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[tuple[Rest, StandIn]]:
    async with stand_in() as provider:
        settings = load_settings(
            {
                "BIDSERVER_DATABASE_URL": pg_dsn,
                "BIDSERVER_JWT_SECRET": SECRET.decode(),
                "BIDSERVER_PRICING_URL": provider.url,
            }
        )
        async with running_api(db, pg_dsn, settings=settings) as api:
            yield Rest(api), provider


async def test_a_vehicle_page_s_valuation_asks_the_provider_with_its_vin(
    api_with_provider: tuple[Rest, StandIn],
) -> None:
    rest, provider = api_with_provider
    make = new_make()
    auction = await live_auction(rest.pool, make, "Outback", year=2016, mileage=98_000)
    vehicle = await rest.pool.fetchval("SELECT vehicle_id FROM auctions WHERE id = $1", auction)
    vin = await rest.pool.fetchval("SELECT vin FROM vehicles WHERE id = $1", vehicle)
    reply = await rest.get(f"/vehicles/{vehicle}/valuation")
    assert reply.status == 200
    assert reply.body["basis"] == "provider"
    assert reply.body["estimate"] == 25_000
    assert provider.calls[-1] == {"vin": vin, "make": make, "model": "Outback", "year": "2016",
                                  "mileage": "98000"}  # fmt: skip


async def test_a_stalled_provider_never_holds_up_a_bid(
    api_with_provider: tuple[Rest, StandIn],
) -> None:
    rest, provider = api_with_provider
    provider.mode = "stall"
    make = new_make()
    auction = await live_auction(rest.pool, make, "Outback", year=2016)
    vehicle = await rest.pool.fetchval("SELECT vehicle_id FROM auctions WHERE id = $1", auction)
    valuing = asyncio.create_task(rest.get(f"/vehicles/{vehicle}/valuation"))
    await provider.asked.wait()  # the valuation is now waiting on the stalled provider
    bidder = await make_user(rest.pool, "bidder")
    bid = await rest.post(f"/auctions/{auction}/bid", json={"amount": 1_000},
                          headers=rest.auth(bidder))  # fmt: skip
    assert bid.status == 201
    assert not valuing.done()  # the bid did not wait for the valuation
    valued = await valuing
    assert valued.status == 200
    assert valued.body["basis"] == "none"  # no sales of this make: no numbers, no failure


async def test_garbage_from_the_provider_never_fails_the_page(
    api_with_provider: tuple[Rest, StandIn],
) -> None:
    rest, provider = api_with_provider
    provider.mode, provider.body = "garbage", b"<html>oops</html>"
    make = new_make()
    await load_history(rest.pool, make, "Camry", 60)
    reply = await rest.get("/valuations", params={"make": make, "model": "Camry",
                                                   "year": "2018", "mileage": "60000"})  # fmt: skip
    assert reply.status == 200
    assert reply.body["basis"] == "sales"
