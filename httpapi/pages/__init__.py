"""The web pages of CONTRACT §5: the bidder app and the back office, served by the sidecar.

Server-rendered HTML (Jinja2 through aiohttp-jinja2, autoescaping on) plus small native ES
modules (`static/js/`) for what is live or depends on the user: no build step, no CDN, no
inline script, so every page passes a strict Content-Security-Policy. Where a page shares a
path with a JSON endpoint, `negotiate` picks by `Accept`, leaving the JSON routes as they are.

May import what `httpapi` may; nothing imports it but the application factory.
"""

from __future__ import annotations

from aiohttp import web

from httpapi.pages import backoffice, bidder, render
from httpapi.pages.negotiate import PageHandler, negotiation_middleware
from httpapi.pages.static import static_file

# Shared with a JSON route of §4: the page only for a request that prefers text/html.
SHARED: dict[str, PageHandler] = {
    "/auctions/active": bidder.active_page,
    "/auctions/{id}": bidder.auction_page,
    "/vehicles": bidder.catalogue_page,
    "/vehicles/{id}": bidder.vehicle_page,
}


def add_routes(app: web.Application) -> None:
    """Registered by the application factory after the JSON routes."""
    render.setup(app)
    app.middlewares.append(negotiation_middleware(SHARED))
    app.router.add_get("/", bidder.root)
    app.router.add_get("/login", bidder.login_page)
    app.router.add_get("/register", bidder.register_page)
    app.router.add_get("/backoffice", backoffice.backoffice_page)
    app.router.add_get("/static/{path:.+}", static_file)
