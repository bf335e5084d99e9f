"""Rendering a page: the Jinja2 environment (autoescaping on), its filters, and the headers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import urlsplit

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bidserver.media.store import MEDIA_PATH
from bidserver.media.store import NAME as MEDIA_NAME
from bidserver.timefmt import to_iso
from httpapi.keys import MEDIA, SETTINGS
from httpapi.pages.headers import page_headers

KIND_WORDS: Final = {"bid": "bid", "max": "max bid", "proxy": "automatic bid", "buy_now": "buy now"}


def money(value: int | None) -> str:
    """`$25,000`: whole currency units with thousands separators."""
    return "" if value is None else f"${value:,}"


def thumb(url: str) -> str:
    """The thumbnail of a photo this server stored; any other URL as it is."""
    name = url.removeprefix(MEDIA_PATH)
    if url.startswith(MEDIA_PATH) and MEDIA_NAME.fullmatch(name) and "-thumb." not in name:
        stem, _, suffix = name.rpartition(".")
        return f"{MEDIA_PATH}{stem}-thumb.{suffix}"
    return url


def shown_photos(photos: list[str]) -> list[str]:
    """The photos a page can show under its `img-src` policy: this server's own."""
    return [url for url in photos if url.startswith(MEDIA_PATH)]


def public(app: web.Application) -> Callable[[str], str]:
    """A filter: where a browser fetches a stored photo (`/media/{name}`) today, which is the
    CDN's address when one fronts the photo bucket; any other URL as it is."""
    store = app[MEDIA]

    def where(url: str) -> str:
        name = url.removeprefix(MEDIA_PATH)
        if url.startswith(MEDIA_PATH) and MEDIA_NAME.fullmatch(name):
            return store.url(name)
        return url

    return where


def media_origin(media_url: str | None) -> str | None:
    """The origin pages may load images from besides their own (`BIDSERVER_MEDIA_URL`'s)."""
    if media_url is None:
        return None
    parts = urlsplit(media_url)
    return f"{parts.scheme}://{parts.netloc}"


def result_words(auction: dict[str, Any]) -> str | None:
    """How an ended auction is told (CONTRACT §5): "Sold for $26,000", "Cancelled", …"""
    status = auction["status"]
    if status == "cancelled":
        return "Cancelled"
    if status != "closed":
        return None
    if auction["currentPrice"] is None:
        return "Ended with no bids"
    if not auction["reserveMet"]:
        return "Ended: reserve not met"
    return f"Sold for {money(auction['currentPrice'])}"


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("httpapi.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        money=money,
        thumb=thumb,
        photos=shown_photos,
        public=public(app),
        kind=KIND_WORDS.get,
        iso=to_iso,
    )
    env.globals.update(result_words=result_words)


def render(
    request: web.Request, template: str, context: dict[str, Any], *, status: int = 200
) -> web.Response:
    settings = request.app[SETTINGS]
    ws_port = settings.ws_port
    response = aiohttp_jinja2.render_template(
        template, request, {**context, "ws_port": ws_port}, status=status
    )
    response.headers.update(page_headers(request, ws_port, media_origin(settings.media_url)))
    return response
