"""CONTRACT §2 minimum next bid and its default increment table.

The table reads "price below → step", so each bound belongs to the next row: 999 steps by
25 but 1,000 already steps by 50. Off-by-one at a bound is the classic bug here, hence a
row on each side of every bound.
"""

from __future__ import annotations

import pytest

from bidserver.auction import PlaceBid, PlaceMaxBid, increment, snapshot
from bidserver.errors import BidTooLow
from tests.unit.factories import (
    ALICE,
    BOB,
    DURING,
    bid,
    expect_rejection,
    make_auction,
    max_bid,
)

INCREMENT_TABLE = [
    (1, 25),
    (999, 25),
    (1_000, 50),
    (4_999, 50),
    (5_000, 100),
    (9_999, 100),
    (10_000, 250),
    (24_999, 250),
    (25_000, 500),
    (49_999, 500),
    (50_000, 1_000),
    (999_999, 1_000),
    (10**12, 1_000),
]


@pytest.mark.parametrize(("price", "step"), INCREMENT_TABLE)
def test_increment_table(price: int, step: int) -> None:
    assert increment(price) == step


@pytest.mark.parametrize("starting_price", [1, 1_000, 1_234, 25_000])
def test_minimum_next_bid_is_starting_price_before_any_bid(starting_price: int) -> None:
    state = make_auction(starting_price=starting_price)
    assert snapshot(state, DURING).minimum_next_bid == starting_price


@pytest.mark.parametrize(
    ("price", "expected_minimum"),
    [
        (999, 1_024),
        (1_000, 1_050),
        (4_999, 5_049),
        (5_000, 5_100),
        (9_999, 10_099),
        (10_000, 10_250),
        (24_999, 25_249),
        (25_000, 25_500),
        (49_999, 50_499),
        (50_000, 51_000),
    ],
)
def test_minimum_next_bid_after_a_bid(price: int, expected_minimum: int) -> None:
    state = make_auction(starting_price=1)
    bid(state, ALICE, price)
    assert snapshot(state, DURING).minimum_next_bid == expected_minimum

    # One below the minimum is refused and names the minimum; the minimum itself is taken.
    too_low = expect_rejection(state, PlaceBid(BOB, expected_minimum - 1), DURING, BidTooLow)
    assert too_low.details == {"minimumNextBid": expected_minimum}
    too_low_max = expect_rejection(state, PlaceMaxBid(BOB, expected_minimum - 1), DURING, BidTooLow)
    assert too_low_max.details == {"minimumNextBid": expected_minimum}
    outcome = bid(state, BOB, expected_minimum)
    assert outcome.reply is not None
    assert outcome.reply.current_price == expected_minimum


def test_minimum_next_bid_follows_the_proxy_price() -> None:
    """The minimum is computed from the current price, which a proxy record has just set."""
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 8_000)
    bid(state, BOB, 4_980)  # proxy: min(8000, 4980 + 50) = 5030
    assert state.current_price == 5_030
    assert snapshot(state, DURING).minimum_next_bid == 5_130


def test_minimum_next_bid_ignores_the_hidden_max() -> None:
    """A leader's max never shows: the minimum is price + step, not max + step."""
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 9_000)
    assert snapshot(state, DURING).minimum_next_bid == 1_050
