"""The back office in a real browser: a seller lists a car with a photo and starts its
auction; an admin cancels it and a bidder's open page says so; bidders are kept out."""

from __future__ import annotations

import re

from playwright.async_api import Browser, BrowserContext, Page, expect

from bidserver.media.store import local_store
from tests.e2e.conftest import log_in, new_page
from tests.e2e.images import NOT_AN_IMAGE, bomb_png, photo_png
from tests.e2e.site import Site, new_vin

MEDIA = re.compile(r"^/media/[0-9a-f]{32}(-thumb)?\.jpg$")


async def _seller_adds_vehicle(page: Page, vin: str, description: str = "Clean title.") -> None:
    await page.get_by_label("VIN (17 characters)").fill(vin)
    await page.get_by_label("Make").fill("Subaru")
    await page.get_by_label("Model").fill("Outback")
    await page.get_by_label("Year").fill("2018")
    await page.get_by_label("Mileage (miles)").fill("61,000")
    await page.get_by_label("Colour").fill("Green")
    await page.get_by_label("Description").fill(description)
    await page.get_by_test_id("save-vehicle-button").click()


async def test_a_seller_lists_a_car_and_an_admin_cancels_its_auction_live(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    seller = await new_page(browser, contexts)
    await log_in(seller, site, site.accounts["seller"], next_path="?next=/backoffice")
    await expect(seller).to_have_url(f"{site.base}/backoffice")
    await expect(seller.get_by_role("heading", name="Back office")).to_be_visible()

    good = new_vin()
    bad = good[:8] + ("0" if good[8] != "0" else "1") + good[9:]
    vin = seller.get_by_label("VIN (17 characters)")
    await vin.fill(bad)
    await expect(seller.get_by_test_id("vin-status")).to_contain_text("check digit")
    await expect(vin).to_have_attribute("aria-invalid", "true")
    await vin.fill(good[:10])
    await expect(seller.get_by_test_id("vin-status")).to_contain_text("17 characters")
    await _seller_adds_vehicle(seller, bad)
    await expect(seller.get_by_test_id("vehicle-error")).to_contain_text("check digit")
    await _seller_adds_vehicle(seller, good)
    await expect(seller.get_by_test_id("vehicle-saved")).to_contain_text("2018 Subaru Outback")
    row = seller.get_by_test_id("vehicle-row").filter(has_text=good)
    await expect(row).to_have_count(1)

    await row.get_by_label("Add a photo").set_input_files(
        {"name": "car.png", "mimeType": "image/png", "buffer": photo_png()}
    )
    await expect(row).to_contain_text("1 photo")
    await expect(row.locator("img")).to_have_attribute("src", MEDIA)

    await seller.get_by_label("Starting price, dollars").fill("15000")
    await seller.get_by_label("Reserve price, dollars (optional)").fill("14000")
    await seller.get_by_test_id("create-auction-button").click()
    await expect(seller.get_by_test_id("auction-error")).to_contain_text("reserve")
    await seller.get_by_label("Reserve price, dollars (optional)").fill("18000")
    await seller.get_by_test_id("create-auction-button").click()
    created = seller.get_by_test_id("auction-created")
    await expect(created).to_contain_text("Started auction")
    href = await created.locator("a").get_attribute("href")
    assert href is not None
    auction_id = int(href.rsplit("/", 1)[1])
    live_row = seller.locator(f'[data-testid="live-auction-row"][data-auction-id="{auction_id}"]')
    await expect(live_row).to_contain_text("2018 Subaru Outback")
    await expect(live_row).to_contain_text("$15,000")

    bidder = await new_page(browser, contexts)
    await log_in(bidder, site, site.accounts["bidder"])
    await bidder.goto(f"{site.base}{href}")
    await expect(bidder.get_by_test_id("reserve-status")).to_have_text("Reserve not met")
    await expect(bidder.locator(".gallery img")).to_have_attribute("src", MEDIA)
    await bidder.get_by_test_id("place-bid-button").click()
    await expect(live_row).to_contain_text("1 bid")  # the seller's table, live
    await expect(live_row.locator('[data-cell="watchers"]')).not_to_have_text("0")

    admin = await new_page(browser, contexts)
    await log_in(admin, site, site.accounts["admin"], next_path="?next=/backoffice")
    admin_row = admin.locator(f'[data-testid="live-auction-row"][data-auction-id="{auction_id}"]')
    await admin_row.get_by_role("button", name="History").click()
    history = admin.get_by_test_id("backoffice-bid-history")
    await expect(history).to_contain_text(str(site.accounts["bidder"].id))
    await admin_row.get_by_test_id("cancel-auction-button").click()
    await admin_row.get_by_role("button", name="Confirm cancel").click()
    await expect(bidder.get_by_test_id("auction-result")).to_have_text("Cancelled")
    await expect(bidder.get_by_test_id("place-bid-button")).to_be_hidden()


async def test_a_bidder_is_refused_the_back_office(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    page = await new_page(browser, contexts)
    await page.goto(f"{site.base}/backoffice")
    await expect(page).to_have_url(f"{site.base}/login?next=/backoffice")
    await log_in(page, site, site.accounts["bidder"])
    await page.goto(f"{site.base}/backoffice")
    await expect(page.get_by_test_id("login-button")).to_be_visible()
    await expect(page.get_by_text("The back office is for sellers and admins")).to_be_visible()
    await expect(page.get_by_test_id("create-auction-button")).to_have_count(0)


async def test_bad_uploads_are_refused_and_nothing_is_stored(
    browser: Browser, contexts: list[BrowserContext], site: Site
) -> None:
    marker = f"uploadtarget{new_vin().lower()}"
    vehicle = await site.vehicle(site.accounts["seller"], description=f"Photos: {marker}")
    store = local_store(site.data_dir)
    before = store.names()
    page = await new_page(browser, contexts)
    await log_in(page, site, site.accounts["seller"], next_path="?next=/backoffice")
    await page.get_by_label("Search vehicles").fill(marker)
    await page.get_by_label("Search vehicles").press("Enter")
    await expect(page.get_by_test_id("vehicle-row")).to_have_count(1)  # the search answered
    row = page.get_by_test_id("vehicle-row").filter(has_text=vehicle["vin"])
    await expect(row).to_have_count(1)
    upload = row.get_by_label("Add a photo")
    problem = row.get_by_test_id("photo-error")
    await upload.set_input_files(
        {"name": "car.jpg", "mimeType": "image/jpeg", "buffer": NOT_AN_IMAGE}
    )
    await expect(problem).to_have_text(
        "That file is not an image: choose a JPEG, PNG or WebP photo."
    )
    await upload.set_input_files(
        {"name": "huge.png", "mimeType": "image/png", "buffer": bomb_png()}
    )
    await expect(problem).to_contain_text("pixels")
    await expect(row).to_contain_text("0 photos")
    assert store.names() == before
    status, found = await site.call("GET", f"/vehicles/{vehicle['id']}")
    assert (status, found["photos"]) == (200, [])
