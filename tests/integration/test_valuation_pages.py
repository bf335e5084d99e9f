"""The valuation on the vehicle and auction pages (CONTRACT §5, §8), rendered on the server:
what the model computes (the same numbers as `GET /vehicles/{id}/valuation`), or plainly
that there are too few sales, or that it is not available now (a provider that stalls past
the page's budget); the page itself never fails for it.
"""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from bidserver.config import load_settings
from bidserver.valuation.service import Valuation
from httpapi.pages.valuation import UNAVAILABLE, valuation_words
from tests.integration.rest import Rest
from tests.pricing_support import StandIn, live_auction, load_history, new_make, stand_in
from tests.support import SECRET, running_api

SHOWN = re.compile(r'<p data-testid="valuation" data-state="([a-z]+)">([^<]*)</p>')


@pytest_asyncio.fixture
async def rest(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Rest]:
    async with running_api(db, pg_dsn) as api:
        yield Rest(api)


async def _shown(rest: Rest, path: str) -> tuple[str, str]:
    """(state, words) of the valuation block of a page."""
    headers = {"Accept": "text/html"}
    async with rest.api.http.get(rest.api.base + path, headers=headers) as response:
        assert response.status == 200
        found = SHOWN.search(await response.text())
    assert found is not None
    return found.group(1), html.unescape(found.group(2))


async def _vehicle_of(rest: Rest, auction: int) -> int:
    vehicle: int = await rest.pool.fetchval(
        "SELECT vehicle_id FROM auctions WHERE id = $1", auction
    )
    return vehicle


def _as_valuation(body: dict[str, Any]) -> Valuation:
    return Valuation(
        body["basis"], body["estimate"], body["low"], body["high"], body["comparables"], 0,
        body["scope"],
    )  # fmt: skip


async def test_pages_show_the_valuation_the_model_computes(rest: Rest) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Accord", 200)
    auction = await live_auction(rest.pool, make, "Accord", year=2016, mileage=97_000)
    vehicle = await _vehicle_of(rest, auction)
    answer = (await rest.get(f"/vehicles/{vehicle}/valuation")).body
    assert answer["basis"] == "sales"
    words = valuation_words(_as_valuation(answer))
    assert words == (
        f"Estimated value: ${answer['estimate']:,}; 80 % likely between ${answer['low']:,} and"
        f" ${answer['high']:,}; from {answer['comparables']:,} comparable sales on this"
        " marketplace."
    )
    assert await _shown(rest, f"/vehicles/{vehicle}") == ("sales", words)
    assert await _shown(rest, f"/auctions/{auction}") == ("sales", words)


async def test_pages_say_plainly_when_there_are_too_few_sales(rest: Rest) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Niva", 2, years=(2016, 2016))
    auction = await live_auction(rest.pool, make, "Niva", year=2016)
    assert await _shown(rest, f"/auctions/{auction}") == (
        "none",
        "No estimate yet: too few comparable sales (2 found, 5 needed).",
    )


async def test_a_model_valued_from_its_make_says_so(rest: Rest) -> None:
    make = new_make()
    await load_history(rest.pool, make, "Camry", 150)
    auction = await live_auction(rest.pool, make, "Supra", year=2018)
    state, words = await _shown(rest, f"/auctions/{auction}")
    assert state == "sales"
    assert "of other models of this make (too few of this model: less sure)." in words


@pytest_asyncio.fixture
async def stalled(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[tuple[Rest, StandIn]]:
    async with stand_in() as provider:
        provider.mode = "stall"
        settings = load_settings(
            {
                "BIDSERVER_DATABASE_URL": pg_dsn,
                "BIDSERVER_JWT_SECRET": SECRET.decode(),
                "BIDSERVER_PRICING_URL": provider.url,
            }
        )
        async with running_api(db, pg_dsn, settings=settings) as api:
            yield Rest(api), provider


async def test_a_valuation_past_the_page_s_budget_is_not_available_and_the_page_serves(
    stalled: tuple[Rest, StandIn], monkeypatch: pytest.MonkeyPatch
) -> None:
    rest, provider = stalled
    monkeypatch.setattr("httpapi.pages.valuation.PAGE_BUDGET_S", 0.05)
    auction = await live_auction(rest.pool, new_make(), "Outback")
    assert await _shown(rest, f"/auctions/{auction}") == ("unavailable", UNAVAILABLE)
    assert provider.calls  # it was asked, and did not answer in time


def test_the_words_of_each_kind_of_answer() -> None:
    provider = Valuation("provider", 25_000, 22_000, 28_000, 0, 0)
    assert valuation_words(provider) == (
        "Estimated value: $25,000; 80 % likely between $22,000 and $28,000;"
        " from an outside price guide."
    )
    one = Valuation("sales", 9_950, 9_000, 11_000, 1_234, 0, "model")
    assert valuation_words(one).endswith("from 1,234 comparable sales on this marketplace.")
    none = Valuation("none", None, None, None, 0, 0)
    assert valuation_words(none) == "No estimate yet: too few comparable sales (0 found, 5 needed)."
    assert valuation_words(None) == UNAVAILABLE
