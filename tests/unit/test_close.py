"""CONTRACT §2 open and close: the timer's CloseIfDue, winners and the reserve.

The winner is the leader only if the reserve is met (or there is none); `finalPrice` is
the last price even without a winner, and null only when nobody bid.
"""

from __future__ import annotations

from typing import Literal

import pytest

from bidserver.auction import (
    BuyNow,
    CancelAuction,
    Closed,
    Notice,
    PlaceBid,
    PlaceMaxBid,
    Status,
    Won,
    snapshot,
)
from bidserver.errors import AuctionClosed
from tests.unit.factories import (
    ALICE,
    BOB,
    DURING,
    ENDS,
    STARTS,
    bid,
    cancel,
    close_if_due,
    expect_rejection,
    make_auction,
    max_bid,
)


@pytest.mark.parametrize("now", [STARTS - 1, STARTS, DURING, ENDS - 1])
def test_close_if_due_before_the_end_does_nothing(now: int) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    version = state.version
    outcome = close_if_due(state, now)
    assert (outcome.events, outcome.notices, outcome.reply) == ((), (), None)
    assert state.ended is None
    assert state.version == version


CLOSE_TABLE = [
    # reserve, bids before the end, winner, finalPrice, reserveMet, notices
    pytest.param(None, [], None, None, True, (), id="no bids, no reserve"),
    pytest.param(5_000, [], None, None, False, (), id="no bids, reserve"),
    pytest.param(
        None, [("bid", ALICE, 2_000)], ALICE, 2_000, True, (Won(ALICE, 2_000),), id="no reserve"
    ),
    pytest.param(5_000, [("bid", ALICE, 2_000)], None, 2_000, False, (), id="reserve not met"),
    pytest.param(
        5_000, [("bid", ALICE, 4_999)], None, 4_999, False, (), id="reserve missed by one"
    ),
    pytest.param(
        5_000,
        [("bid", ALICE, 5_000)],
        ALICE,
        5_000,
        True,
        (Won(ALICE, 5_000),),
        id="reserve met exactly",
    ),
    pytest.param(
        5_000,
        [("max", ALICE, 9_000)],
        ALICE,
        5_000,
        True,
        (Won(ALICE, 5_000),),
        id="max jumped to the reserve",
    ),
    pytest.param(
        None,
        [("max", ALICE, 9_000), ("bid", BOB, 3_000)],
        ALICE,
        3_050,
        True,
        (Won(ALICE, 3_050),),
        id="proxy leader wins at the proxy price",
    ),
]


@pytest.mark.parametrize(
    ("reserve", "steps", "winner", "final_price", "met", "notices"), CLOSE_TABLE
)
def test_close_at_ends_at(
    reserve: int | None,
    steps: list[tuple[Literal["bid", "max"], int, int]],
    winner: int | None,
    final_price: int | None,
    met: bool,
    notices: tuple[Notice, ...],
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=reserve)
    for kind, bidder, value in steps:
        (bid if kind == "bid" else max_bid)(state, bidder, value)
    seq = state.seq
    outcome = close_if_due(state, ENDS)
    assert outcome.events == (
        Closed(seq=seq + 1, at=ENDS, winner_id=winner, final_price=final_price, reserve_met=met),
    )
    assert outcome.notices == notices
    assert outcome.reply is None
    assert (state.ended, state.winner_id, state.seq) == (Status.CLOSED, winner, seq + 1)
    view = snapshot(state, ENDS)
    assert (view.status, view.current_price, view.reserve_met) == (
        Status.CLOSED,
        final_price,
        met,
    )


def test_a_late_timer_closes_at_its_own_time() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    outcome = close_if_due(state, ENDS + 5_000)
    assert outcome.events == (Closed(2, ENDS + 5_000, ALICE, 1_000, True),)


def test_close_if_due_twice_closes_once() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    close_if_due(state, ENDS)
    again = close_if_due(state, ENDS + 1)
    assert (again.events, again.notices, again.reply) == ((), (), None)
    assert state.seq == 2


def test_close_if_due_on_a_cancelled_auction_does_nothing() -> None:
    state = make_auction(starting_price=1_000)
    cancel(state)
    outcome = close_if_due(state, ENDS)
    assert outcome.events == ()
    assert state.ended is Status.CANCELLED


@pytest.mark.parametrize(
    "command",
    [PlaceBid(BOB, 5_000), PlaceMaxBid(BOB, 5_000), PlaceMaxBid(ALICE, 9_000), BuyNow(BOB)],
    ids=["bid", "max", "leader raise", "buy now"],
)
@pytest.mark.parametrize("now", [ENDS, DURING], ids=["at the end", "clock before the end"])
def test_after_the_close_every_bid_is_closed(
    command: PlaceBid | PlaceMaxBid | BuyNow, now: int
) -> None:
    """Once Closed is applied the status is final, whatever clock a later caller passes."""
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    bid(state, ALICE, 1_000)
    close_if_due(state, ENDS)
    expect_rejection(state, command, now, AuctionClosed)


def test_cancel_after_the_close_is_closed() -> None:
    state = make_auction(starting_price=1_000)
    close_if_due(state, ENDS)
    expect_rejection(state, CancelAuction(), ENDS + 1, AuctionClosed)


@pytest.mark.parametrize(
    ("now", "status"),
    [
        (STARTS - 1, Status.SCHEDULED),
        (STARTS, Status.OPEN),
        (ENDS - 1, Status.OPEN),
        (ENDS, Status.CLOSED),
        (ENDS + 1, Status.CLOSED),
    ],
)
def test_status_follows_the_clock_before_any_event(now: int, status: Status) -> None:
    """Opening needs no event, and a passed end reads as closed before it is announced."""
    state = make_auction(starting_price=1_000)
    assert snapshot(state, now).status is status
