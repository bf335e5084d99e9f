"""CONTRACT §2 buy now: when it is offered, and how it ends the auction at once.

It stands while open, priced, and no bid has met the reserve (with no reserve: no bid at
all). Buy-now is 20,000 here, whose step is 250, so the outbid notice's minimum is 20,250.
"""

from __future__ import annotations

from typing import Literal

import pytest

from bidserver.auction import (
    BidKind,
    BidPlaced,
    BidReply,
    BuyNow,
    CancelAuction,
    Closed,
    Outbid,
    PlaceBid,
    Status,
    Won,
    snapshot,
)
from bidserver.errors import (
    AuctionClosed,
    AuctionNotOpen,
    BuyNowUnavailable,
    SellerCannotBid,
)
from tests.unit.factories import (
    ALICE,
    BOB,
    CAROL,
    DURING,
    ENDS,
    SELLER,
    STARTS,
    Rec,
    bid,
    buy_now,
    cancel,
    expect_rejection,
    make_auction,
    max_bid,
    public_seqs,
    records,
)

Step = tuple[Literal["bid", "max"], int, int]

AVAILABILITY = [
    # buyNowPrice, reserve, bids so far, offered
    pytest.param(None, None, [], False, id="no buy-now price"),
    pytest.param(None, 8_000, [], False, id="no buy-now price, reserve"),
    pytest.param(20_000, None, [], True, id="no reserve, no bid"),
    pytest.param(20_000, None, [("bid", ALICE, 1_000)], False, id="no reserve, a bid"),
    pytest.param(20_000, None, [("max", ALICE, 9_000)], False, id="no reserve, a max"),
    pytest.param(20_000, 8_000, [], True, id="reserve, no bid"),
    pytest.param(20_000, 8_000, [("bid", ALICE, 5_000)], True, id="bid below reserve"),
    pytest.param(20_000, 8_000, [("bid", ALICE, 7_999)], True, id="bid one below reserve"),
    pytest.param(20_000, 8_000, [("bid", ALICE, 8_000)], False, id="bid meets reserve"),
    pytest.param(20_000, 8_000, [("max", ALICE, 7_000)], True, id="max below reserve"),
    pytest.param(20_000, 8_000, [("max", ALICE, 9_000)], False, id="max jumps to reserve"),
    pytest.param(
        20_000,
        8_000,
        [("max", ALICE, 3_000), ("max", ALICE, 7_000)],
        True,
        id="leader raise below reserve",
    ),
    pytest.param(
        20_000,
        8_000,
        [("max", ALICE, 3_000), ("max", ALICE, 8_000)],
        False,
        id="leader raise reaches reserve",
    ),
    pytest.param(
        20_000,
        8_000,
        [("max", ALICE, 7_500), ("bid", BOB, 7_400)],
        True,
        id="proxy below reserve",
    ),
]


@pytest.mark.parametrize(("buy_now_price", "reserve", "steps", "offered"), AVAILABILITY)
def test_buy_now_availability(
    buy_now_price: int | None, reserve: int | None, steps: list[Step], offered: bool
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=reserve, buy_now_price=buy_now_price)
    for kind, bidder, value in steps:
        (bid if kind == "bid" else max_bid)(state, bidder, value)
    assert snapshot(state, DURING).buy_now_available is offered
    if offered:
        outcome = buy_now(state, CAROL)
        assert records(outcome.events) == [Rec(BidKind.BUY_NOW, CAROL, 20_000)]
    else:
        expect_rejection(state, BuyNow(CAROL), DURING, BuyNowUnavailable)


def test_buy_now_on_a_fresh_auction_closes_it_with_the_buyer_as_winner() -> None:
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    outcome = buy_now(state, CAROL)
    assert records(outcome.events) == [Rec(BidKind.BUY_NOW, CAROL, 20_000)]
    closed = outcome.events[1]
    assert isinstance(closed, Closed)
    assert (closed.seq, closed.at, closed.winner_id, closed.final_price, closed.reserve_met) == (
        2,
        DURING,
        CAROL,
        20_000,
        True,
    )
    assert public_seqs(outcome.events) == [1, 2]
    assert outcome.notices == (Won(CAROL, 20_000),)
    assert outcome.reply == BidReply(
        amount=20_000,
        leading=True,
        current_price=20_000,
        bid_count=1,
        bidder_alias="bidder-1",
        seq=2,
        ends_at=ENDS,
    )
    assert (state.ended, state.winner_id, state.current_price) == (Status.CLOSED, CAROL, 20_000)
    view = snapshot(state, DURING)
    assert (view.status, view.buy_now_available, view.leader_alias, view.bid_count) == (
        Status.CLOSED,
        False,
        "bidder-1",
        1,
    )


def test_buy_now_outbids_the_previous_leader_and_wins_for_the_buyer() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    bid(state, ALICE, 5_000)
    outcome = buy_now(state, BOB)
    assert records(outcome.events) == [Rec(BidKind.BUY_NOW, BOB, 20_000)]
    closed = outcome.events[1]
    assert isinstance(closed, Closed)
    assert (closed.seq, closed.winner_id, closed.final_price, closed.reserve_met) == (
        3,
        BOB,
        20_000,
        True,
    )
    assert outcome.notices == (Outbid(ALICE, 20_000, 20_250), Won(BOB, 20_000))
    assert state.bid_count == 2


def test_only_the_leader_is_told_of_the_buy_now_not_earlier_losers() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    max_bid(state, ALICE, 7_500)
    bid(state, BOB, 3_000)  # Alice keeps the lead by proxy at 3,050
    outcome = buy_now(state, CAROL)
    assert outcome.notices == (Outbid(ALICE, 20_000, 20_250), Won(CAROL, 20_000))


def test_the_leader_may_buy_now_and_is_not_told_it_was_outbid() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    bid(state, ALICE, 5_000)
    outcome = buy_now(state, ALICE)
    assert outcome.notices == (Won(ALICE, 20_000),)
    assert state.winner_id == ALICE


def test_buy_now_inside_the_anti_snipe_window_closes_without_extending() -> None:
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    outcome = buy_now(state, ALICE, now=ENDS - 1_000)
    assert [type(e) for e in outcome.events] == [BidPlaced, Closed]
    assert state.ends_at == ENDS


def test_after_buy_now_everything_is_closed() -> None:
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    buy_now(state, ALICE)
    expect_rejection(state, BuyNow(BOB), DURING, AuctionClosed)
    expect_rejection(state, PlaceBid(BOB, 30_000), DURING, AuctionClosed)
    expect_rejection(state, CancelAuction(), DURING, AuctionClosed)


def test_a_buy_now_below_the_reserve_still_sells_to_the_buyer() -> None:
    """The buy-now rule names the buyer as winner outright; the reserve flag tells the truth."""
    state = make_auction(starting_price=1_000, reserve_price=30_000, buy_now_price=20_000)
    outcome = buy_now(state, ALICE)
    closed = outcome.events[1]
    assert isinstance(closed, Closed)
    assert (closed.winner_id, closed.final_price, closed.reserve_met) == (ALICE, 20_000, False)
    assert outcome.notices == (Won(ALICE, 20_000),)


@pytest.mark.parametrize(
    ("buy_now_price", "reserve", "steps"),
    [(20_000, None, []), (None, None, []), (20_000, None, [("bid", ALICE, 1_000)])],
    ids=["offered", "no price", "taken by a bid"],
)
def test_the_seller_cannot_buy_now(
    buy_now_price: int | None, reserve: int | None, steps: list[Step]
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=reserve, buy_now_price=buy_now_price)
    for kind, bidder, value in steps:
        (bid if kind == "bid" else max_bid)(state, bidder, value)
    expect_rejection(state, BuyNow(SELLER), DURING, SellerCannotBid)


@pytest.mark.parametrize("buy_now_price", [20_000, None])
def test_buy_now_before_the_start_is_not_open(buy_now_price: int | None) -> None:
    state = make_auction(starting_price=1_000, buy_now_price=buy_now_price)
    assert snapshot(state, STARTS - 1).buy_now_available is False
    expect_rejection(state, BuyNow(ALICE), STARTS - 1, AuctionNotOpen)


@pytest.mark.parametrize("buy_now_price", [20_000, None])
def test_buy_now_at_the_unannounced_end_is_closed(buy_now_price: int | None) -> None:
    state = make_auction(starting_price=1_000, buy_now_price=buy_now_price)
    assert snapshot(state, ENDS).buy_now_available is False
    expect_rejection(state, BuyNow(ALICE), ENDS, AuctionClosed)


def test_buy_now_on_a_cancelled_auction_is_not_open() -> None:
    state = make_auction(starting_price=1_000, buy_now_price=20_000)
    cancel(state)
    assert snapshot(state, DURING).buy_now_available is False
    expect_rejection(state, BuyNow(ALICE), DURING, AuctionNotOpen)
