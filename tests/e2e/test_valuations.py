"""Valuations in a real browser (CONTRACT §5, §8): the vehicle and auction pages show what
the model computes from the sales on record (the estimate, its 80 % range, how many sales
it rests on) or say plainly that there are too few; the back office shows the valuation
of the vehicle being priced and warns while the reserve is above its range.

Each test records past sales of a make no other test uses, so no cached book is shared.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Browser, BrowserContext, expect

from bidserver.demo_history import HistoricalSale, history
from tests.e2e.conftest import log_in, new_page, script_errors
from tests.e2e.site import Site, new_vin


def _words(answer: dict[str, Any]) -> str:
    """What a page should say of a REST valuation with the sales basis."""
    return (
        f"Estimated value: ${answer['estimate']:,}; 80 % likely between ${answer['low']:,}"
        f" and ${answer['high']:,}; from {answer['comparables']:,} comparable sales on this"
        " marketplace."
    )


async def _valued(site: Site, vehicle_id: int) -> dict[str, Any]:
    status, answer = await site.call("GET", f"/vehicles/{vehicle_id}/valuation")
    assert status == 200, answer
    assert isinstance(answer, dict)
    return answer


def _sales(make: str, model: str, n: int, year: int | None = None) -> list[HistoricalSale]:
    """`n` past sales of a demo model, renamed to `make`/`model` (the demo's prices), all of
    model year `year` if given."""
    made = history(datetime.now(UTC), size=n, seed=14, only=("Mazda", "CX-5"))
    return [
        HistoricalSale(make, model, year or s.year, s.mileage, s.price, s.sold_at) for s in made
    ]


async def test_pages_show_the_estimate_or_say_there_are_too_few_sales(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    seller = site.accounts["seller"]
    rare_sales = _sales("Valrare", "One", 3, year=2019)
    await site.past_sales(_sales("Valmazda", "CX-5", 300) + rare_sales)
    known = await site.vehicle(seller, make="Valmazda", model="CX-5", year=2019, mileage=48_000)
    rare = await site.vehicle(seller, make="Valrare", model="One", year=2019, mileage=48_000)
    answer = await _valued(site, known["id"])
    assert (answer["basis"], answer["scope"]) == ("sales", "model")
    assert answer["low"] < answer["estimate"] < answer["high"]
    assert answer["comparables"] >= 5
    auction_id = await site.auction(vehicle=known)

    page = await new_page(browser, contexts)
    await page.goto(f"{site.base}/vehicles/{known['id']}")
    await expect(page.get_by_test_id("valuation")).to_have_text(_words(answer))
    await page.goto(f"{site.base}/auctions/{auction_id}")
    await expect(page.get_by_test_id("valuation")).to_have_text(_words(answer))

    assert (await _valued(site, rare["id"]))["basis"] == "none"
    await page.goto(f"{site.base}/vehicles/{rare['id']}")
    await expect(page.get_by_test_id("valuation")).to_have_text(
        "No estimate yet: too few comparable sales (3 found, 5 needed)."
    )
    assert script_errors(page) == []


async def test_the_back_office_shows_the_valuation_and_warns_of_a_reserve_above_it(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    marker = f"valuetarget{new_vin().lower()}"
    await site.past_sales(_sales("Valsubaru", "Forester", 300))
    vehicle = await site.vehicle(
        site.accounts["seller"],
        make="Valsubaru",
        model="Forester",
        year=2018,
        mileage=61_000,
        description=f"Priced: {marker}",
    )
    answer = await _valued(site, vehicle["id"])
    assert answer["basis"] == "sales"

    page = await new_page(browser, contexts)
    await log_in(page, site, site.accounts["seller"], next_path="?next=/backoffice")
    valuation = page.get_by_test_id("valuation")
    await expect(valuation).to_have_text("Estimated value: choose a vehicle to see it.")
    await page.get_by_label("Search vehicles").fill(marker)
    await page.get_by_label("Search vehicles").press("Enter")
    row = page.get_by_test_id("vehicle-row").filter(has_text=vehicle["vin"])
    await row.get_by_role("button", name="Start auction").click()
    await expect(valuation).to_have_text(_words(answer))

    warning = page.get_by_test_id("reserve-warning")
    reserve = page.get_by_label("Reserve price, dollars (optional)")
    await reserve.fill(str(answer["high"]))  # the top of the range: no warning
    await expect(warning).to_be_hidden()
    await reserve.fill(str(answer["high"] + 1))
    await expect(warning).to_be_visible()
    await expect(warning).to_contain_text(f"${answer['high'] + 1:,} is above")
    await expect(warning).to_contain_text(f"${answer['low']:,} to ${answer['high']:,}")
    await reserve.fill(str(answer["estimate"]))
    await expect(warning).to_be_hidden()
    assert script_errors(page) == []
