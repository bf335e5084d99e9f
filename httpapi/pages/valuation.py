"""The valuation block of the vehicle and auction pages (CONTRACT §5, §8), in words.

Rendered on the server like the rest of a page's public data: the estimate, its 80 % range
and what it rests on (how many comparable sales, or the outside price guide); or plainly
that there are too few sales to say; or, if the valuation could not be had in time, that
it is not available now. The page never fails for it. The back office's module
(`static/js/valuation.js`) says the same words for the vehicle a seller chooses.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiohttp import web

from bidserver.errors import BidserverError
from bidserver.pricing import MIN_COMPARABLES, Subject
from bidserver.valuation.service import Valuation
from httpapi.keys import VALUER
from httpapi.pages.render import money
from storage.catalog import Vehicle

log = logging.getLogger("httpapi.pages")

# The provider's second, and the sales basis after it; past this the page goes without.
PAGE_BUDGET_S: Final = 2.0
UNAVAILABLE: Final = "Estimated value: not available right now."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def valuation_words(v: Valuation | None) -> str:
    """What the page says of a valuation (None: it could not be had)."""
    if v is None:
        return UNAVAILABLE
    if v.basis == "none" or v.estimate is None:
        return (
            f"No estimate yet: too few comparable sales ({v.comparables:,} found,"
            f" {MIN_COMPARABLES} needed)."
        )
    found = ""
    if v.low is not None and v.high is not None:
        found = f"; 80 % likely between {money(v.low)} and {money(v.high)}"
    if v.basis == "provider":
        rests = "from an outside price guide"
    elif v.scope == "make":
        sales = _plural(v.comparables, "comparable sale")
        rests = f"from {sales} of other models of this make (too few of this model: less sure)"
    else:
        rests = f"from {_plural(v.comparables, 'comparable sale')} on this marketplace"
    return f"Estimated value: {money(v.estimate)}{found}; {rests}."


async def vehicle_valuation(request: web.Request, vehicle: Vehicle) -> tuple[str, str]:
    """(words, state) for a page: state is the basis, or `unavailable`."""
    subject = Subject(vehicle.make, vehicle.model, vehicle.year, vehicle.mileage)
    try:
        async with asyncio.timeout(PAGE_BUDGET_S):
            found = await request.app[VALUER].value(subject, vehicle.vin)
    except (BidserverError, TimeoutError) as exc:
        log.warning("valuation unavailable for a page", extra={"error": str(exc)})
        return UNAVAILABLE, "unavailable"
    return valuation_words(found), found.basis
