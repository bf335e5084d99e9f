"""CONTRACT §3 snapshot fields as the §2 rules define them, for each auction status.

The reserve itself is never shown, so `reserveMet` must be exact at the boundary; and
buy-now is shown as available only while the auction is actually open.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bidserver.auction import AuctionState, Snapshot, Status, snapshot
from tests.unit.factories import (
    ALICE,
    AUCTION_ID,
    BOB,
    DURING,
    ENDS,
    STARTS,
    bid,
    buy_now,
    cancel,
    close_if_due,
    make_auction,
    max_bid,
)


def plain() -> AuctionState:
    return make_auction(starting_price=1_000, reserve_price=5_000, buy_now_price=20_000)


def one_bid() -> AuctionState:
    state = plain()
    bid(state, ALICE, 2_000)
    return state


def reserve_met() -> AuctionState:
    state = plain()
    bid(state, ALICE, 4_000)
    bid(state, BOB, 5_000)
    return state


def cancelled() -> AuctionState:
    state = one_bid()
    cancel(state)
    return state


def closed() -> AuctionState:
    state = reserve_met()
    close_if_due(state, ENDS)
    return state


def bought() -> AuctionState:
    state = plain()
    buy_now(state, BOB)
    return state


def snap(
    status: Status,
    *,
    seq: int = 0,
    price: int | None = None,
    count: int = 0,
    leader: str | None = None,
    minimum: int = 1_000,
    met: bool = False,
    buy_now_available: bool = False,
) -> Snapshot:
    return Snapshot(
        auction_id=AUCTION_ID,
        seq=seq,
        status=status,
        current_price=price,
        bid_count=count,
        leader_alias=leader,
        minimum_next_bid=minimum,
        reserve_met=met,
        buy_now_available=buy_now_available,
        starts_at=STARTS,
        ends_at=ENDS,
    )


SNAPSHOTS: list[tuple[str, Callable[[], AuctionState], int, Snapshot]] = [
    ("scheduled", plain, STARTS - 1, snap(Status.SCHEDULED)),
    ("open, no bid", plain, DURING, snap(Status.OPEN, buy_now_available=True)),
    (
        "open, below reserve",
        one_bid,
        DURING,
        snap(
            Status.OPEN,
            seq=1,
            price=2_000,
            count=1,
            leader="bidder-1",
            minimum=2_050,
            buy_now_available=True,
        ),
    ),
    (
        "open, reserve met by one unit",
        reserve_met,
        DURING,
        snap(Status.OPEN, seq=2, price=5_000, count=2, leader="bidder-2", minimum=5_100, met=True),
    ),
    (
        "past the end, close not announced",
        one_bid,
        ENDS,
        snap(Status.CLOSED, seq=1, price=2_000, count=1, leader="bidder-1", minimum=2_050),
    ),
    (
        "cancelled",
        cancelled,
        DURING,
        snap(Status.CANCELLED, seq=2, price=2_000, count=1, leader="bidder-1", minimum=2_050),
    ),
    (
        "closed",
        closed,
        ENDS,
        snap(
            Status.CLOSED, seq=3, price=5_000, count=2, leader="bidder-2", minimum=5_100, met=True
        ),
    ),
    (
        "bought",
        bought,
        DURING,
        snap(
            Status.CLOSED,
            seq=2,
            price=20_000,
            count=1,
            leader="bidder-1",
            minimum=20_250,
            met=True,
        ),
    ),
]


@pytest.mark.parametrize(
    ("setup", "now", "expected"),
    [row[1:] for row in SNAPSHOTS],
    ids=[row[0] for row in SNAPSHOTS],
)
def test_snapshot(setup: Callable[[], AuctionState], now: int, expected: Snapshot) -> None:
    assert snapshot(setup(), now) == expected


@pytest.mark.parametrize(
    ("reserve", "price", "met"),
    [(None, None, True), (None, 1_000, True), (5_000, None, False), (5_000, 4_999, False)],
)
def test_reserve_met_without_reserve_or_below_it(
    reserve: int | None, price: int | None, met: bool
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=reserve)
    if price is not None:
        bid(state, ALICE, price)
    assert snapshot(state, DURING).reserve_met is met


def test_the_snapshot_shows_the_price_not_the_hidden_max() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 9_000)
    view = snapshot(state, DURING)
    assert (view.current_price, view.minimum_next_bid) == (1_000, 1_050)
