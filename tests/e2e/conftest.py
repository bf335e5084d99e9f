"""Browser tests: Python Playwright driving Debian's Chromium (`.ci/setup-chromium`).

Playwright never downloads a browser here: it launches `/usr/bin/chromium`. Without it the
tests skip with what to install, unless `BIDSERVER_TEST_REQUIRE_ALL=1` (CI), where a missing
browser is a failure. One node serves the whole package (`site`, torn down after it);
every test makes its own auctions, so tests never share a price. Waits are Playwright's
auto-waiting expectations with deadlines, never sleeps.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.conftest import create_database, drop_database
from tests.e2e.site import Account, Site, running_site

CHROMIUM = Path(os.environ.get("BIDSERVER_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 375, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
expect.set_options(timeout=10_000)


def _need_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: install Debian's chromium (bash .ci/setup-chromium)"
    if os.environ.get("BIDSERVER_TEST_REQUIRE_ALL", "") not in ("", "0"):
        pytest.fail(message)
    pytest.skip(message)


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    _need_chromium()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest_asyncio.fixture(scope="package", loop_scope="session")
async def site(pg_server_dsn: str) -> AsyncIterator[Site]:
    _need_chromium()
    dsn = await create_database(pg_server_dsn)
    data_dir = Path(tempfile.mkdtemp(prefix="bidserver-e2e-"))
    try:
        async with running_site(dsn, data_dir) as running:
            yield running
    finally:
        await drop_database(pg_server_dsn, dsn)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest_asyncio.fixture(loop_scope="session")
async def contexts(browser: Browser) -> AsyncIterator[list[BrowserContext]]:
    """Browser contexts a test opens (each a separate person); closed after it."""
    made: list[BrowserContext] = []
    try:
        yield made
    finally:
        for context in made:
            await context.close()


async def new_page(
    browser: Browser, contexts: list[BrowserContext], viewport: dict[str, int] = DESKTOP
) -> Page:
    context = await browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    contexts.append(context)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(10_000)
    setattr(page, "script_errors", errors)  # noqa: B010
    return page


def script_errors(page: Page) -> list[str]:
    """The uncaught script errors of a page opened by `new_page`."""
    errors: list[str] = getattr(page, "script_errors")  # noqa: B009
    return errors


async def log_in(page: Page, site: Site, who: Account, *, next_path: str = "") -> None:
    await page.goto(f"{site.base}/login{next_path}")
    await page.get_by_label("Email").fill(who.email)
    await page.get_by_label("Password").fill(who.password)
    await page.get_by_role("button", name="Log in").click()
    await page.wait_for_url(lambda url: "/login" not in url)
