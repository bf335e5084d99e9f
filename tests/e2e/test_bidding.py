"""Bidding in a real browser: two people, two browser contexts, one auction, live."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta

from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.e2e.conftest import log_in, new_page, script_errors
from tests.e2e.site import Site

LIVE_S = 5_000  # CONTRACT §5's "within 5 s without a reload"


async def _bidder_on(
    browser: Browser, contexts: list[BrowserContext], site: Site, who: str, auction_id: int
) -> Page:
    page = await new_page(browser, contexts)
    await log_in(page, site, site.accounts[who])
    await page.goto(f"{site.base}/auctions/{auction_id}")
    await expect(page.get_by_test_id("current-price")).to_be_visible()
    return page


async def test_the_origin_flow_two_bidders_outbid_live(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(ends_in=timedelta(minutes=3), antiSnipeSeconds=0)
    a = await new_page(browser, contexts)
    await log_in(a, site, site.accounts["bidder"])
    await expect(a).to_have_url(f"{site.base}/auctions/active")
    first = a.get_by_test_id("auction-item").first
    await expect(first).to_have_attribute("href", f"/auctions/{auction_id}")
    await first.click()
    await a.get_by_test_id("bid-amount").fill("25000")
    await a.get_by_test_id("place-bid-button").click()
    await expect(a.get_by_test_id("bid-success-message")).to_be_visible()
    await expect(a.get_by_test_id("bid-error-message")).to_be_hidden()
    await expect(a.get_by_test_id("current-price")).to_have_text("$25,000")
    await expect(a.get_by_test_id("bid-success-message")).to_be_visible()
    await expect(a.get_by_test_id("leading-indicator")).to_be_visible()

    b = await _bidder_on(browser, contexts, site, "bidder2", auction_id)
    await expect(b.get_by_test_id("current-price")).to_have_text("$25,000")
    await b.get_by_test_id("bid-amount").fill("26000")
    await b.get_by_test_id("place-bid-button").click()
    await expect(b.get_by_test_id("bid-success-message")).to_be_visible()

    await expect(a.get_by_test_id("current-price")).to_have_text("$26,000", timeout=LIVE_S)
    await expect(a.get_by_test_id("outbid-notification")).to_be_visible(timeout=LIVE_S)
    await expect(a.get_by_test_id("leading-indicator")).to_be_hidden()
    await expect(a.get_by_test_id("bid-count")).to_have_text("2 bids")
    await expect(a.get_by_test_id("bid-history").locator("li")).to_have_count(2)
    assert script_errors(a) == []
    assert script_errors(b) == []


async def test_an_amount_typed_before_the_scripts_ran_is_the_one_bid(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    """A slow network: the page is there, its module not yet; what the bidder typed stays."""
    auction_id = await site.auction(starting_price=20_000)
    page = await new_page(browser, contexts)
    await log_in(page, site, site.accounts["bidder"])
    release = asyncio.Event()

    async def hold(route: Route) -> None:
        await release.wait()
        await route.continue_()

    await page.route("**/static/js/auction.js", hold)
    await page.goto(f"{site.base}/auctions/{auction_id}", wait_until="commit")
    await expect(page.get_by_test_id("bid-amount")).to_be_visible()  # parsed, module held
    await page.get_by_test_id("bid-amount").fill("23000")
    await expect(page.get_by_test_id("place-bid-button")).to_be_disabled()
    release.set()
    await page.get_by_test_id("place-bid-button").click()  # waits until the module enables it
    await expect(page.get_by_test_id("current-price")).to_have_text("$23,000")


async def test_a_max_bid_answers_a_plain_bid_with_a_proxy_record_in_both_pages(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(starting_price=20_000)
    a = await _bidder_on(browser, contexts, site, "bidder", auction_id)
    b = await _bidder_on(browser, contexts, site, "bidder2", auction_id)
    await a.get_by_label("Your maximum bid, in dollars").fill("30,000")
    await a.get_by_role("button", name="Set max bid").click()
    await expect(a.get_by_test_id("bid-success-message")).to_contain_text("$30,000")
    await expect(a.get_by_test_id("leading-indicator")).to_be_visible()
    await expect(b.get_by_test_id("current-price")).to_have_text("$20,000")

    await b.get_by_label("Your bid, in dollars").fill("25000")
    await b.get_by_role("button", name="Place bid").click()
    # The leader's max answers at once: 25,000 plus its increment (500 from 25,000 up).
    for page in (a, b):
        await expect(page.get_by_test_id("current-price")).to_have_text("$25,500")
        history = page.get_by_test_id("bid-history").locator("li")
        await expect(history).to_have_count(3)
        await expect(history.first).to_contain_text("automatic bid")
        await expect(history.first).to_contain_text("$25,500")
    await expect(b.get_by_test_id("outbid-notification")).to_be_visible()
    await expect(a.get_by_test_id("leading-indicator")).to_be_visible()
    # Nobody else sees the hidden maximum.
    await expect(b.locator("body")).not_to_contain_text("30,000")


async def test_buy_now_closes_the_auction_in_both_pages(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(starting_price=20_000, buyNowPrice=31_000)
    a = await _bidder_on(browser, contexts, site, "bidder", auction_id)
    b = await _bidder_on(browser, contexts, site, "bidder2", auction_id)
    await expect(b.get_by_test_id("buy-now-button")).to_have_text("Buy now for $31,000")
    await a.get_by_test_id("buy-now-button").click()
    for page in (a, b):
        await expect(page.get_by_test_id("auction-result")).to_have_text("Sold for $31,000")
        await expect(page.get_by_test_id("buy-now-button")).to_be_hidden()
        await expect(page.get_by_test_id("place-bid-button")).to_be_hidden()
    await expect(a.get_by_test_id("won-notification")).to_be_visible()
    await expect(b.get_by_test_id("won-notification")).to_be_hidden()


async def test_a_late_bid_extends_both_countdowns(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(ends_in=timedelta(seconds=60), antiSnipeSeconds=300)
    try:
        a = await _bidder_on(browser, contexts, site, "bidder", auction_id)
        b = await _bidder_on(browser, contexts, site, "bidder2", auction_id)
        before = await a.get_by_test_id("ends-at").get_attribute("data-ends-at")
        assert before is not None
        await expect(a.locator("[data-nudge]")).to_be_visible()  # under two minutes: max bid
        await a.get_by_test_id("place-bid-button").click()  # pre-filled with the minimum
        await expect(a.get_by_test_id("bid-success-message")).to_be_visible()
        for page in (a, b):
            clock = page.get_by_test_id("ends-at")
            await expect(clock).not_to_have_attribute("data-ends-at", before, timeout=LIVE_S)
            await expect(clock).to_have_text(re.compile(r"^[45]m \d\ds$"))
            await expect(page.locator("[data-nudge]")).to_be_hidden()
    finally:
        await site.call("POST", f"/auctions/{auction_id}/cancel", site.accounts["admin"])


async def test_a_refused_bid_is_told_in_words(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(starting_price=20_000)
    await site.bid(site.accounts["bidder2"], auction_id, 24_000)
    a = await _bidder_on(browser, contexts, site, "bidder", auction_id)
    await expect(a.get_by_test_id("bid-amount")).to_have_value("24250")
    await a.get_by_test_id("bid-amount").fill("24100")
    await a.get_by_test_id("place-bid-button").click()
    await expect(a.get_by_test_id("bid-error-message")).to_have_text("The minimum bid is $24,250.")
    await expect(a.get_by_test_id("bid-success-message")).to_be_hidden()
    await a.get_by_test_id("bid-amount").fill("25.5")
    await a.get_by_test_id("place-bid-button").click()
    await expect(a.get_by_test_id("bid-error-message")).to_contain_text("whole number of dollars")
    seller = await new_page(browser, contexts)
    await log_in(seller, site, site.accounts["seller"])
    await seller.goto(f"{site.base}/auctions/{auction_id}")
    await seller.get_by_test_id("place-bid-button").click()
    await expect(seller.get_by_test_id("bid-error-message")).to_have_text(
        "Sellers cannot bid on their own auctions."
    )


async def test_a_dropped_connection_shows_and_catches_up_by_itself(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    auction_id = await site.auction(starting_price=20_000)
    page = await new_page(browser, contexts)
    await page.goto(f"{site.base}/auctions/{auction_id}")
    status = page.get_by_test_id("connection-status")
    await expect(page.get_by_test_id("current-price")).to_have_text("$20,000")
    await expect(status).to_be_hidden()
    await site.stop()
    try:
        await expect(status).to_be_visible()
        await expect(status).to_have_text("Reconnecting…")
    finally:
        await site.start()
    await site.bid(site.accounts["bidder2"], auction_id, 21_000)  # while the page is away
    await expect(page.get_by_test_id("current-price")).to_have_text("$21,000", timeout=15_000)
    await expect(status).to_be_hidden()
    await site.bid(site.accounts["bidder"], auction_id, 22_000)  # and live again afterwards
    await expect(page.get_by_test_id("current-price")).to_have_text("$22,000", timeout=LIVE_S)
    await expect(page.get_by_test_id("bid-history").locator("li")).to_have_count(2)
