"""CONTRACT §2 "Which error": the first refusing rule of a fixed order answers.

Order: auction_not_open, auction_closed, seller_cannot_bid, already_leading,
max_below_current, buy_now_unavailable, bid_too_low. Each row breaks several rules at once
(listed in its id) so a check done in the wrong order shows up as the wrong code. Some
pairs cannot meet in one command by the contract's own definitions (already_leading is for
plain bids and max_below_current for max bids; the leader's max ignores the minimum next
bid; buy-now has no amount), so those pairs are absent.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bidserver.auction import (
    AuctionState,
    BuyNow,
    Command,
    PlaceBid,
    PlaceMaxBid,
)
from bidserver.errors import (
    AlreadyLeading,
    AuctionClosed,
    AuctionNotOpen,
    BidTooLow,
    BuyNowUnavailable,
    MaxBelowCurrent,
    Rejection,
    SellerCannotBid,
)
from tests.unit.factories import (
    ALICE,
    BOB,
    DURING,
    ENDS,
    SELLER,
    STARTS,
    bid,
    cancel,
    close_if_due,
    expect_rejection,
    make_auction,
)


def fresh() -> AuctionState:
    """No buy-now price, so every buy-now sent here also breaks `buy_now_unavailable`."""
    return make_auction(starting_price=1_000)


def led_by_alice() -> AuctionState:
    """Alice's max is her 1,000 bid, so a max of 1 from her breaks two rules at once."""
    state = fresh()
    bid(state, ALICE, 1_000)
    return state


def cancelled() -> AuctionState:
    state = led_by_alice()
    cancel(state)
    return state


def closed() -> AuctionState:
    state = led_by_alice()
    close_if_due(state, ENDS)
    return state


PRECEDENCE: list[tuple[str, Callable[[], AuctionState], Command, int, type[Rejection]]] = [
    # --- auction_not_open wins over everything
    ("cancelled+seller+too_low", cancelled, PlaceBid(SELLER, 1), DURING, AuctionNotOpen),
    ("cancelled+past_end+seller", cancelled, PlaceBid(SELLER, 1), ENDS + 1, AuctionNotOpen),
    ("cancelled+past_end+leading", cancelled, PlaceBid(ALICE, 1), ENDS + 1, AuctionNotOpen),
    ("cancelled+past_end+max_below", cancelled, PlaceMaxBid(ALICE, 1), ENDS + 1, AuctionNotOpen),
    ("cancelled+seller+no_buy_now", cancelled, BuyNow(SELLER), ENDS + 1, AuctionNotOpen),
    ("scheduled+seller+too_low", fresh, PlaceBid(SELLER, 1), STARTS - 1, AuctionNotOpen),
    ("scheduled+seller+no_buy_now", fresh, BuyNow(SELLER), STARTS - 1, AuctionNotOpen),
    ("scheduled+too_low", fresh, PlaceMaxBid(BOB, 1), STARTS - 1, AuctionNotOpen),
    # --- then auction_closed
    ("past_end+seller+too_low", led_by_alice, PlaceBid(SELLER, 1), ENDS, AuctionClosed),
    ("past_end+leading+too_low", led_by_alice, PlaceBid(ALICE, 1), ENDS, AuctionClosed),
    ("past_end+max_below", led_by_alice, PlaceMaxBid(ALICE, 1), ENDS, AuctionClosed),
    ("past_end+seller+no_buy_now", led_by_alice, BuyNow(SELLER), ENDS, AuctionClosed),
    ("past_end+too_low", led_by_alice, PlaceMaxBid(BOB, 1), ENDS + 1, AuctionClosed),
    ("closed+seller+too_low", closed, PlaceBid(SELLER, 1), DURING, AuctionClosed),
    ("closed+leading", closed, PlaceBid(ALICE, 1), ENDS + 1, AuctionClosed),
    ("closed+no_buy_now", closed, BuyNow(BOB), ENDS + 1, AuctionClosed),
    # --- then seller_cannot_bid
    ("seller+too_low", led_by_alice, PlaceBid(SELLER, 1), DURING, SellerCannotBid),
    ("seller+max_too_low", led_by_alice, PlaceMaxBid(SELLER, 1), DURING, SellerCannotBid),
    ("seller+no_buy_now", led_by_alice, BuyNow(SELLER), DURING, SellerCannotBid),
    ("seller+first_bid_too_low", fresh, PlaceBid(SELLER, 1), DURING, SellerCannotBid),
    # --- then already_leading, max_below_current, buy_now_unavailable, bid_too_low
    ("leading+too_low", led_by_alice, PlaceBid(ALICE, 1), DURING, AlreadyLeading),
    ("max_below+under_minimum", led_by_alice, PlaceMaxBid(ALICE, 1), DURING, MaxBelowCurrent),
    ("leader_buy_now_unavailable", led_by_alice, BuyNow(ALICE), DURING, BuyNowUnavailable),
    ("buy_now_unavailable", led_by_alice, BuyNow(BOB), DURING, BuyNowUnavailable),
    ("too_low", led_by_alice, PlaceBid(BOB, 1_049), DURING, BidTooLow),
]


@pytest.mark.parametrize(
    ("setup", "command", "now", "error"),
    [row[1:] for row in PRECEDENCE],
    ids=[row[0] for row in PRECEDENCE],
)
def test_first_rule_in_contract_order_answers(
    setup: Callable[[], AuctionState], command: Command, now: int, error: type[Rejection]
) -> None:
    expect_rejection(setup(), command, now, error)


def test_the_codes_are_the_contracts() -> None:
    assert [
        AuctionNotOpen.code,
        AuctionClosed.code,
        SellerCannotBid.code,
        AlreadyLeading.code,
        MaxBelowCurrent.code,
        BuyNowUnavailable.code,
        BidTooLow.code,
    ] == [
        "auction_not_open",
        "auction_closed",
        "seller_cannot_bid",
        "already_leading",
        "max_below_current",
        "buy_now_unavailable",
        "bid_too_low",
    ]
