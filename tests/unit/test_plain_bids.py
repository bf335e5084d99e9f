"""CONTRACT §2 plain bids: who may bid, when, and at what amount.

Every expected price below is worked out by hand from the contract's sentences; the
auction starts at 1,000 (step 50 from 1,000 up to 4,999), without reserve or buy-now.
"""

from __future__ import annotations

import pytest

from bidserver.auction import (
    BidKind,
    BidPlaced,
    BidReply,
    Cause,
    Outbid,
    PlaceBid,
    PlaceMaxBid,
    snapshot,
)
from bidserver.errors import (
    AlreadyLeading,
    AuctionClosed,
    AuctionNotOpen,
    BidTooLow,
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
    cancel,
    close_if_due,
    expect_rejection,
    make_auction,
    max_bid,
    records,
)


@pytest.mark.parametrize("amount", [1_000, 1_001, 1_500, 40_000])
def test_first_bid_at_or_above_the_starting_price_leads_at_its_amount(amount: int) -> None:
    state = make_auction(starting_price=1_000)
    outcome = bid(state, ALICE, amount)
    assert outcome.events == (
        BidPlaced(
            seq=1,
            at=DURING,
            kind=BidKind.BID,
            bidder_id=ALICE,
            amount=amount,
            leader_id=ALICE,
            leader_max=amount,
            cause=Cause(bidder_id=ALICE, bid_id=None, sent=amount),
        ),
    )
    assert outcome.notices == ()
    assert outcome.reply == BidReply(
        amount=amount,
        leading=True,
        current_price=amount,
        bid_count=1,
        bidder_alias="bidder-1",
        seq=1,
        ends_at=ENDS,
    )


@pytest.mark.parametrize("amount", [1, 500, 999])
def test_first_bid_below_the_starting_price_is_too_low(amount: int) -> None:
    state = make_auction(starting_price=1_000)
    error = expect_rejection(state, PlaceBid(ALICE, amount), DURING, BidTooLow)
    assert error.details == {"minimumNextBid": 1_000}


@pytest.mark.parametrize(
    ("amount", "accepted"),
    [(1_049, False), (1_050, True), (1_051, True)],
)
def test_second_bid_must_reach_price_plus_increment(amount: int, accepted: bool) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    if accepted:
        assert records(bid(state, BOB, amount).events) == [Rec(BidKind.BID, BOB, amount)]
    else:
        error = expect_rejection(state, PlaceBid(BOB, amount), DURING, BidTooLow)
        assert error.details == {"minimumNextBid": 1_050}


def test_a_higher_plain_bid_takes_the_lead_at_its_amount_and_outbids_the_leader() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_200)
    outcome = bid(state, BOB, 2_000)
    assert records(outcome.events) == [Rec(BidKind.BID, BOB, 2_000)]
    assert outcome.notices == (Outbid(user_id=ALICE, current_price=2_000, minimum_next_bid=2_050),)
    assert outcome.reply == BidReply(
        amount=2_000,
        leading=True,
        current_price=2_000,
        bid_count=2,
        bidder_alias="bidder-2",
        seq=2,
        ends_at=ENDS,
    )
    assert state.leader_id == BOB


def test_a_third_bidder_outbids_only_the_current_leader() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    bid(state, BOB, 1_050)
    outcome = bid(state, CAROL, 1_100)
    assert outcome.notices == (Outbid(user_id=BOB, current_price=1_100, minimum_next_bid=1_150),)


@pytest.mark.parametrize("amount", [1_050, 5_000, 10**12])
def test_the_leader_cannot_place_a_plain_bid(amount: int) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    expect_rejection(state, PlaceBid(ALICE, amount), DURING, AlreadyLeading)


def test_a_leader_by_proxy_cannot_place_a_plain_bid_either() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    bid(state, BOB, 2_000)  # Alice keeps the lead by proxy
    expect_rejection(state, PlaceBid(ALICE, 3_000), DURING, AlreadyLeading)


@pytest.mark.parametrize("amount", [999, 1_000, 5_000])
def test_the_seller_cannot_bid(amount: int) -> None:
    state = make_auction(starting_price=1_000)
    expect_rejection(state, PlaceBid(SELLER, amount), DURING, SellerCannotBid)
    expect_rejection(state, PlaceMaxBid(SELLER, amount), DURING, SellerCannotBid)


@pytest.mark.parametrize("now", [STARTS - 3_600_000, STARTS - 1])
def test_a_bid_before_starts_at_is_not_open(now: int) -> None:
    state = make_auction(starting_price=1_000)
    expect_rejection(state, PlaceBid(ALICE, 1_000), now, AuctionNotOpen)
    expect_rejection(state, PlaceMaxBid(ALICE, 1_000), now, AuctionNotOpen)


def test_a_bid_exactly_at_starts_at_is_accepted() -> None:
    state = make_auction(starting_price=1_000)
    assert bid(state, ALICE, 1_000, now=STARTS).reply is not None


def test_a_bid_on_a_cancelled_auction_is_not_open() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    cancel(state)
    expect_rejection(state, PlaceBid(BOB, 2_000), DURING, AuctionNotOpen)
    expect_rejection(state, PlaceMaxBid(BOB, 2_000), DURING, AuctionNotOpen)


@pytest.mark.parametrize("now", [ENDS, ENDS + 1, ENDS + 86_400_000])
def test_a_bid_at_or_after_ends_at_is_closed_before_the_close_is_announced(now: int) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    assert state.ended is None  # nobody has announced the close yet
    expect_rejection(state, PlaceBid(BOB, 2_000), now, AuctionClosed)
    expect_rejection(state, PlaceMaxBid(BOB, 2_000), now, AuctionClosed)


def test_a_bid_one_millisecond_before_ends_at_is_accepted() -> None:
    state = make_auction(starting_price=1_000, anti_snipe_ms=0)
    assert bid(state, ALICE, 1_000, now=ENDS - 1).reply is not None


def test_a_bid_after_the_announced_close_is_closed() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    close_if_due(state, ENDS)
    expect_rejection(state, PlaceBid(BOB, 2_000), ENDS + 1, AuctionClosed)


def test_accepted_bids_are_counted_and_shown() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    bid(state, BOB, 1_100)
    bid(state, ALICE, 1_200)
    view = snapshot(state, DURING)
    assert (view.current_price, view.bid_count, view.leader_alias) == (1_200, 3, "bidder-1")
