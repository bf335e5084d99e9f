"""CONTRACT conventions: money is a whole number of units in 1..10^12, nothing else.

JSON and msgpack decoders hand the core floats, strings and booleans as readily as ints,
and `True == 1` in Python, so each of these must be refused by type, not by value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from decimal import Decimal
from typing import cast

import pytest

from bidserver.auction import MAX_MONEY, Command, PlaceBid, PlaceMaxBid, handle, parse_money
from bidserver.errors import BadRequest
from tests.unit.factories import ALICE, BOB, DURING, bid, make_auction, max_bid

INVALID_MONEY: list[object] = [
    0,
    -1,
    -25_000,
    10**12 + 1,
    10**15,
    12.5,
    1e3,
    25_000.0,
    "25000",
    "",
    True,
    False,
    None,
    Decimal(25_000),
    [25_000],
]
VALID_MONEY = [1, 25, 25_000, 10**12 - 1, 10**12]


def test_the_ceiling_is_ten_to_the_twelfth() -> None:
    assert MAX_MONEY == 1_000_000_000_000


@pytest.mark.parametrize("value", VALID_MONEY)
def test_parse_money_accepts_whole_units_up_to_the_ceiling(value: int) -> None:
    assert parse_money(value, "amount") == value


@pytest.mark.parametrize("value", INVALID_MONEY, ids=repr)
@pytest.mark.parametrize("field", ["amount", "maxAmount"])
def test_parse_money_refuses(value: object, field: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_money(value, field)
    assert caught.value.code == "bad_request"
    assert caught.value.details == {"field": field}


@pytest.mark.parametrize("value", INVALID_MONEY, ids=repr)
@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda v: PlaceBid(BOB, cast(int, v)), "amount"),
        (lambda v: PlaceMaxBid(BOB, cast(int, v)), "maxAmount"),
        (lambda v: PlaceMaxBid(ALICE, cast(int, v)), "maxAmount"),  # the leader raising
    ],
    ids=["bid", "max_bid", "leader_raise"],
)
def test_bad_money_in_a_command_is_bad_request_and_changes_nothing(
    value: object, make: Callable[[object], Command], field: str
) -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 3_000)
    before = copy.deepcopy(state)
    with pytest.raises(BadRequest) as caught:
        handle(state, make(value), DURING)
    assert caught.value.code == "bad_request"
    assert caught.value.details == {"field": field}
    assert state == before


def test_a_bid_of_exactly_the_ceiling_is_accepted() -> None:
    state = make_auction(starting_price=1_000)
    outcome = bid(state, ALICE, 10**12)
    assert outcome.reply is not None
    assert outcome.reply.current_price == 10**12


def test_a_max_bid_of_exactly_the_ceiling_is_accepted() -> None:
    state = make_auction(starting_price=1_000)
    outcome = max_bid(state, ALICE, 10**12)
    assert outcome.reply is not None
    assert outcome.reply.amount == 10**12
    assert outcome.reply.current_price == 1_000
