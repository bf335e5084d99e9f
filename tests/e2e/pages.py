"""Every page of CONTRACT §5, as (name, path, who is logged in), for the sweeping tests."""

from __future__ import annotations

from tests.e2e.images import photo_png
from tests.e2e.site import Site


async def every_page(site: Site) -> list[tuple[str, str, str | None]]:
    vehicle = await site.vehicle(site.accounts["seller"])
    await site.photo(vehicle["id"], photo_png())
    auction_id = await site.auction(photo=photo_png())
    await site.bid(site.accounts["bidder2"], auction_id, 21_000)  # a history to check too
    return [
        ("login", "/login", None),
        ("register", "/register", None),
        ("active", "/auctions/active", "bidder"),
        ("catalogue", "/vehicles", None),
        ("vehicle", f"/vehicles/{vehicle['id']}", None),
        ("auction", f"/auctions/{auction_id}", "bidder"),
        ("backoffice-seller", "/backoffice", "seller"),
        ("backoffice-admin", "/backoffice", "admin"),
        ("not-found", "/auctions/999999999", None),
    ]
