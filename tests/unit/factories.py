"""Builders shared by the rule tests, so every table states only what its rule is about.

Expected values in the tests are worked out by hand from CONTRACT §2; these helpers only
build auctions and send commands, they never compute an expected price.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest

from bidserver.auction import (
    AuctionConfig,
    AuctionState,
    BidKind,
    BidPlaced,
    BuyNow,
    CancelAuction,
    CloseIfDue,
    Command,
    Event,
    MaxRaised,
    Outcome,
    PlaceBid,
    PlaceMaxBid,
    handle,
    new_state,
)
from bidserver.errors import Rejection

AUCTION_ID = 7
SELLER = 900
ALICE = 1
BOB = 2
CAROL = 3
DAVE = 4

# 2027-01-15T08:00:00.000Z; the auction runs one hour.
STARTS = 1_800_000_000_000
ENDS = STARTS + 3_600_000
DURING = STARTS + 60_000
ANTI_SNIPE_MS = 120_000


def make_config(
    *,
    starting_price: int = 1_000,
    reserve_price: int | None = None,
    buy_now_price: int | None = None,
    anti_snipe_ms: int = ANTI_SNIPE_MS,
    max_extensions: int | None = None,
    starts_at: int = STARTS,
    ends_at: int = ENDS,
) -> AuctionConfig:
    return AuctionConfig(
        auction_id=AUCTION_ID,
        seller_id=SELLER,
        starts_at=starts_at,
        ends_at=ends_at,
        starting_price=starting_price,
        reserve_price=reserve_price,
        buy_now_price=buy_now_price,
        anti_snipe_ms=anti_snipe_ms,
        max_extensions=max_extensions,
    )


def make_auction(
    *,
    starting_price: int = 1_000,
    reserve_price: int | None = None,
    buy_now_price: int | None = None,
    anti_snipe_ms: int = ANTI_SNIPE_MS,
    max_extensions: int | None = None,
) -> AuctionState:
    return new_state(
        make_config(
            starting_price=starting_price,
            reserve_price=reserve_price,
            buy_now_price=buy_now_price,
            anti_snipe_ms=anti_snipe_ms,
            max_extensions=max_extensions,
        )
    )


def bid(
    state: AuctionState, bidder: int, amount: int, now: int = DURING, bid_id: str | None = None
) -> Outcome:
    return handle(state, PlaceBid(bidder, amount, bid_id), now)


def max_bid(
    state: AuctionState,
    bidder: int,
    max_amount: int,
    now: int = DURING,
    bid_id: str | None = None,
) -> Outcome:
    return handle(state, PlaceMaxBid(bidder, max_amount, bid_id), now)


def buy_now(state: AuctionState, buyer: int, now: int = DURING) -> Outcome:
    return handle(state, BuyNow(buyer), now)


def cancel(state: AuctionState, now: int = DURING) -> Outcome:
    return handle(state, CancelAuction(), now)


def close_if_due(state: AuctionState, now: int = ENDS) -> Outcome:
    return handle(state, CloseIfDue(), now)


@dataclass(frozen=True)
class Rec:
    """A bid record as the public sees it: kind, who placed it, the price it sets."""

    kind: BidKind
    bidder: int
    amount: int


def records(events: tuple[Event, ...] | list[Event]) -> list[Rec]:
    return [Rec(e.kind, e.bidder_id, e.amount) for e in events if isinstance(e, BidPlaced)]


def public_seqs(events: tuple[Event, ...] | list[Event]) -> list[int]:
    return [e.seq for e in events if not isinstance(e, MaxRaised)]


def expect_rejection(
    state: AuctionState, command: Command, now: int, error: type[Rejection]
) -> Rejection:
    """Check the refusal and that it left no trace: a rejected command changes no state."""
    before = copy.deepcopy(state)
    with pytest.raises(error) as caught:
        handle(state, command, now)
    assert type(caught.value) is error
    assert caught.value.code == error.code
    assert state == before
    return caught.value
