"""CONTRACT §2 cancel: allowed from scheduled or open; its bids stay recorded.

A cancelled auction answers every later bid with `auction_not_open` (not `auction_closed`),
even once its original end has passed, because the contract names the cancelled case there.
"""

from __future__ import annotations

import pytest

from bidserver.auction import (
    BuyNow,
    CancelAuction,
    Cancelled,
    PlaceBid,
    PlaceMaxBid,
    Status,
    snapshot,
)
from bidserver.errors import AuctionClosed, AuctionNotOpen
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


def test_cancel_a_scheduled_auction() -> None:
    state = make_auction(starting_price=1_000)
    outcome = cancel(state, STARTS - 1)
    assert outcome.events == (Cancelled(seq=1, at=STARTS - 1),)
    assert (outcome.notices, outcome.reply) == ((), None)
    assert snapshot(state, STARTS - 1).status is Status.CANCELLED
    assert snapshot(state, DURING).status is Status.CANCELLED


def test_cancel_an_open_auction_keeps_its_bids() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    bid(state, BOB, 2_000)  # records 2 and 3 (proxy)
    outcome = cancel(state, DURING + 1)
    assert outcome.events == (Cancelled(seq=4, at=DURING + 1),)
    assert outcome.notices == ()
    view = snapshot(state, DURING + 1)
    assert (view.status, view.bid_count, view.current_price, view.leader_alias, view.seq) == (
        Status.CANCELLED,
        3,
        2_050,
        "bidder-1",
        4,
    )
    assert state.winner_id is None


def test_cancel_twice_is_not_open() -> None:
    state = make_auction(starting_price=1_000)
    cancel(state)
    expect_rejection(state, CancelAuction(), DURING, AuctionNotOpen)


@pytest.mark.parametrize("now", [ENDS, ENDS + 1])
def test_cancel_after_the_end_is_closed_even_unannounced(now: int) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    expect_rejection(state, CancelAuction(), now, AuctionClosed)


def test_cancel_after_the_announced_close_is_closed() -> None:
    state = make_auction(starting_price=1_000)
    close_if_due(state, ENDS)
    expect_rejection(state, CancelAuction(), ENDS, AuctionClosed)


@pytest.mark.parametrize(
    "command",
    [PlaceBid(BOB, 5_000), PlaceMaxBid(BOB, 5_000), PlaceMaxBid(ALICE, 9_000), BuyNow(BOB)],
    ids=["bid", "max", "leader raise", "buy now"],
)
@pytest.mark.parametrize("now", [DURING, ENDS + 1], ids=["before the end", "after the end"])
def test_every_bid_after_cancel_is_not_open(
    command: PlaceBid | PlaceMaxBid | BuyNow, now: int
) -> None:
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    bid(state, ALICE, 1_000)
    cancel(state)
    expect_rejection(state, command, now, AuctionNotOpen)
