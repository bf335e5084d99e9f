"""Documents for people and tools on the REST port: `/docs`, `/asyncapi.json`.

`/docs` renders `/openapi.json` with RapiDoc, vendored in `httpapi/static/vendor/` with its
licence and version (no CDN: the page works offline). The page has no inline script and is
served with a strict Content-Security-Policy (`CSP`), which a browser test holds it to.
`/asyncapi.json` is the AsyncAPI 3.0 document of the WebSocket protocol
(`httpapi/asyncapi.json`, edited by hand and kept true by `tests/integration/test_asyncapi.py`).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from aiohttp import web

RAPIDOC = "rapidoc-9.3.8"
# Scripts only from this node, nothing inline, no eval. RapiDoc styles its components with
# inline style attributes, so styles alone may be inline (they cannot run code).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self';"
    " img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none';"
    " frame-ancestors 'none'"
)
_ASSETS = {"rapidoc-min.js": "text/javascript", "LICENSE.txt": "text/plain"}

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bidserver API</title>
<link rel="icon" href="data:,">
<script type="module" src="/docs/vendor/{rapidoc}/rapidoc-min.js"></script>
</head>
<body>
<rapi-doc spec-url="/openapi.json" render-style="read" show-header="false" load-fonts="false"
  allow-spec-url-load="false" allow-spec-file-load="false" allow-server-selection="false"
  regular-font="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"
  mono-font="ui-monospace, SFMono-Regular, Menlo, Consolas, monospace">
<div slot="overview">
<p>The REST API of this node. Money is an integer number of whole currency units
(<code>25000</code> is $25,000). Log in with <code>POST /auth/login</code> and send the
<code>accessToken</code> as <code>Authorization: Bearer …</code>.</p>
<p>Live bidding uses the WebSocket protocol: its AsyncAPI document is
<a href="/asyncapi.json">/asyncapi.json</a>, and <code>docs/protocol.md</code> in the
repository walks through a session. Machine-readable REST:
<a href="/openapi.json">/openapi.json</a>.</p>
</div>
</rapi-doc>
</body>
</html>
"""


@lru_cache(maxsize=1)
def _stored_asyncapi() -> str:
    return resources.files("httpapi").joinpath("asyncapi.json").read_text(encoding="utf-8")


def asyncapi_document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_stored_asyncapi())
    return loaded


@lru_cache(maxsize=4)
def _asset(name: str) -> bytes:
    path = resources.files("httpapi").joinpath("static", "vendor", RAPIDOC, name)
    return path.read_bytes()


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(
        text=_PAGE.format(rapidoc=RAPIDOC),
        content_type="text/html",
        headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
    )


async def docs_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if request.match_info["version"] != RAPIDOC or name not in _ASSETS:
        raise web.HTTPNotFound()
    return web.Response(
        body=_asset(name),
        content_type=_ASSETS[name],
        charset="utf-8",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",  # the path names the version
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
        },
    )


async def asyncapi_json(request: web.Request) -> web.Response:
    return web.Response(text=_stored_asyncapi(), content_type="application/json")


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_get("/docs", docs_page)
    app.router.add_get("/docs/vendor/{version}/{name}", docs_asset)
    app.router.add_get("/asyncapi.json", asyncapi_json)
