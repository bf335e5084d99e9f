"""Which demo auctions to open so that the demo never dies: pure planning, no I/O.

The demo keeps `len(LIFETIMES)` auctions open with staggered ends. The rule is a
staircase: for every i, at least i + 1 open demo auctions end within `LIFETIMES[i]`. So one
always ends within minutes (soft close and a close can be watched live), a few within the
hour, the rest over days. When auctions close, the steps they leave are filled again by new
auctions lasting exactly the missing lifetime, at fresh prices from the car's value, so
neither the shape of the demo nor its prices drift, however long it runs and however hard a
load test bids. A couple of scheduled auctions are kept too, to show that state.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from bidserver.demo import DemoAuction, DemoVehicle, prices

LIFETIMES: Final = (
    timedelta(minutes=4),
    timedelta(minutes=9),
    timedelta(minutes=15),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=4),
    timedelta(hours=8),
    timedelta(hours=16),
    timedelta(days=1),
    timedelta(days=2),
    timedelta(days=3),
)
OPEN_AUCTIONS: Final = len(LIFETIMES)

# Scheduled demo auctions: (starts in, lasts).
SCHEDULED: Final = (
    (timedelta(hours=2), timedelta(days=1)),
    (timedelta(days=1), timedelta(days=1)),
)
SHORT: Final = timedelta(minutes=15)  # auctions this short get a shorter anti-snipe window


@dataclass(frozen=True, slots=True)
class Wanted:
    """One auction to create: when it starts and how long it runs."""

    starts_in: timedelta
    lasts: timedelta


def plan_open(time_left: Sequence[timedelta]) -> list[Wanted]:
    """New open auctions that restore the staircase, given the time left on the open ones."""
    lefts = sorted(time_left)
    added: list[Wanted] = []
    for step, lifetime in enumerate(LIFETIMES):
        within = sum(1 for left in lefts if left <= lifetime)
        for _ in range(step + 1 - within):
            lefts.append(lifetime)
            added.append(Wanted(timedelta(0), lifetime))
    return added


def plan_scheduled(scheduled: int) -> list[Wanted]:
    """Scheduled auctions to add so that `len(SCHEDULED)` wait to start."""
    return [Wanted(start, lasts) for start, lasts in SCHEDULED[scheduled:]]


def auction(index: int, vehicle: DemoVehicle, wanted: Wanted, now: datetime) -> DemoAuction:
    """The auction of catalogue car `index`, priced from its value.

    Prices are drawn from a generator seeded by the car and the start, so they differ from
    one auction of the same car to the next but a given plan always prices the same.
    """
    starts_at = now + wanted.starts_in
    rng = random.Random(f"{vehicle.vin}/{starts_at.isoformat()}")
    starting, reserve, buy_now = prices(rng, vehicle.value)
    short = wanted.lasts <= SHORT
    return DemoAuction(
        vehicle=index,
        status="open" if wanted.starts_in <= timedelta(0) else "scheduled",
        starts_at=starts_at,
        ends_at=starts_at + wanted.lasts,
        starting_price=starting,
        reserve_price=reserve,
        buy_now_price=buy_now,
        anti_snipe_seconds=60 if short else 120,
        max_extensions=5 if short else None,
    )
