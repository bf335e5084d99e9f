"""Content negotiation where a page and a JSON endpoint share a path (CONTRACT §5).

A GET whose `Accept` prefers `text/html` (a browser navigating) gets the page; any other
(curl's `*/*`, `application/json`, none at all, a tie) gets the JSON of §4 unchanged. The
JSON routes stay as they are: this middleware answers before them only for such a request.
Both answers say `Vary: Accept`, so no cache hands one to a client that asked for the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

PageHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_HTML = ("text/html", "application/xhtml+xml")


def _quality(params: list[str]) -> float:
    for param in params:
        key, _, value = param.strip().partition("=")
        if key.strip().lower() == "q":
            try:
                return min(max(float(value), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def prefers_html(accept: str | None) -> bool:
    """True when `text/html` is acceptable and more wanted than JSON."""
    if not accept:
        return False
    html = json = 0.0
    html_exact = json_exact = False
    for item in accept.split(",")[:50]:
        media, *params = item.split(";")
        media = media.strip().lower()
        q = _quality(params)
        if media in _HTML:
            html, html_exact = max(html, q) if html_exact else q, True
        elif media == "application/json":
            json, json_exact = max(json, q) if json_exact else q, True
        elif media == "text/*" and not html_exact:
            html = max(html, q)
        elif media in ("*/*", "application/*") and not json_exact:
            json = max(json, q)
    return html > 0 and html > json


def negotiation_middleware(pages: Mapping[str, PageHandler]) -> Middleware:
    """Answer GET/HEAD on the shared route templates in `pages` with the page when wanted."""

    @web.middleware
    async def negotiate(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        page = None if resource is None else pages.get(resource.canonical)
        if page is None or request.method not in ("GET", "HEAD"):
            return await handler(request)
        if prefers_html(request.headers.get("Accept")):
            response = await page(request)
        else:
            response = await handler(request)
        response.headers.add("Vary", "Accept")
        return response

    return negotiate
