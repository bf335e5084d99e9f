"""`/docs` (issue 10, deliverable 2): the OpenAPI document rendered for people, from a
vendored asset that keeps its licence and version, with no CDN and no inline script, under a
strict Content-Security-Policy that a real browser enforces while it renders."""

from __future__ import annotations

import hashlib
import re
from importlib import resources

import asyncpg

from httpapi.apidocs import CSP, RAPIDOC
from tests.browser import browser_page
from tests.support import running_api

SHA256 = "affbd173a65e870e18f392cca963113bcdafb6e50e88cd2f6a834a65b22db94d"
RENDER_TIMEOUT_S = 20.0


def test_the_vendored_asset_keeps_its_licence_version_and_bytes() -> None:
    folder = resources.files("httpapi").joinpath("static", "vendor", RAPIDOC)
    assert RAPIDOC.endswith("9.3.8")
    assert "MIT License" in folder.joinpath("LICENSE.txt").read_text()
    assert folder.joinpath("rapidoc-min.js.LICENSE.txt").is_file()
    readme = folder.joinpath("README.md").read_text()
    assert "rapidoc@9.3.8" in readme
    assert SHA256 in readme
    assert hashlib.sha256(folder.joinpath("rapidoc-min.js").read_bytes()).hexdigest() == SHA256


def test_the_policy_is_strict() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CSP.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["style-src"] == "'self' 'unsafe-inline'"  # styles cannot run code
    assert CSP.count("unsafe") == 1
    assert "http" not in CSP  # nothing from elsewhere


async def test_the_page_is_served_from_the_node_alone(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with running_api(db, pg_dsn) as api:
        async with api.http.get(f"{api.base}/docs") as page:
            assert page.status == 200
            assert page.content_type == "text/html"
            assert page.headers["Content-Security-Policy"] == CSP
            html = await page.text()
        assert "<title>" in html
        # No inline script, and every script and link comes from this node.
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert re.findall(r"""(?:src|href|spec-url)="(?!/|data:)""", html) == []
        asset = re.search(r'<script type="module" src="([^"]+)"', html)
        assert asset is not None
        async with api.http.get(api.base + asset.group(1)) as js:
            assert js.status == 200
            assert js.content_type == "text/javascript"
            assert "immutable" in js.headers["Cache-Control"]
        async with api.http.get(f"{api.base}/docs/vendor/{RAPIDOC}/../openapi.json") as bad:
            assert bad.status == 404
        async with api.http.get(f"{api.base}/docs/vendor/{RAPIDOC}/README.md") as unlisted:
            assert unlisted.status == 404


async def test_a_browser_renders_it_under_the_policy(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with running_api(db, pg_dsn) as api, browser_page() as page:
        await page.open(f"{api.base}/docs")
        root = "document.querySelector('rapi-doc').shadowRoot"
        await page.wait_for(
            f"{root} && {root}.textContent.includes('Place a plain bid')", RENDER_TIMEOUT_S
        )
        text = await page.evaluate("document.querySelector('rapi-doc').shadowRoot.textContent")
        for words in ("Create a bidder account", "/auctions/{id}/max-bid", "/asyncapi.json"):
            assert words in text or words in await page.evaluate("document.body.textContent")
        assert await page.refused() == []
