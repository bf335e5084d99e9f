"""CONTRACT §2 max (proxy) bids: resolution, records, the reserve jump and leader raises.

Each row's records, leader, price and notices are computed by hand from the contract's
resolution rules (challenger value V, leader max M), with the auction starting at 1,000:
- V > M: the challenger leads at V (plain) or min(V, M + increment(M)) (max);
- V <= M: the leader keeps the lead (the earlier max wins a tie), the challenger's record
  is at V and a `proxy` record follows at min(M, V + increment(V));
- a first max leads at the starting price; a max at or above an unmet reserve lifts the
  price to the reserve; a leader's raise moves the price only for that reserve rule.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import pytest

from bidserver.auction import (
    AuctionState,
    BidKind,
    BidPlaced,
    BidReply,
    Cause,
    MaxRaised,
    Notice,
    Outbid,
    Outcome,
    PlaceMaxBid,
    snapshot,
)
from bidserver.errors import BidTooLow, MaxBelowCurrent
from tests.unit.factories import (
    ALICE,
    BOB,
    CAROL,
    DURING,
    ENDS,
    Rec,
    bid,
    expect_rejection,
    make_auction,
    max_bid,
    records,
)

BID = BidKind.BID
MAX = BidKind.MAX
PROXY = BidKind.PROXY

Step = tuple[Literal["bid", "max"], int, int]


def send(state: AuctionState, step: Step) -> Outcome:
    kind, bidder, value = step
    return bid(state, bidder, value) if kind == "bid" else max_bid(state, bidder, value)


class Case(NamedTuple):
    reserve: int | None
    before: list[Step]
    command: Step
    records: list[Rec]
    leader: int
    price: int
    notices: tuple[Notice, ...]


RESOLUTION: dict[str, Case] = {
    "first max leads at the starting price": Case(
        None, [], ("max", ALICE, 5_000), [Rec(MAX, ALICE, 1_000)], ALICE, 1_000, ()
    ),
    "first max equal to the starting price": Case(
        None, [], ("max", ALICE, 1_000), [Rec(MAX, ALICE, 1_000)], ALICE, 1_000, ()
    ),
    "plain V < M: proxy at V + increment(V)": Case(
        None,
        [("max", ALICE, 5_000)],
        ("bid", BOB, 2_000),
        [Rec(BID, BOB, 2_000), Rec(PROXY, ALICE, 2_050)],
        ALICE,
        2_050,
        (Outbid(BOB, 2_050, 2_100),),
    ),
    "max V < M: proxy at V + increment(V)": Case(
        None,
        [("max", ALICE, 5_000)],
        ("max", BOB, 3_000),
        [Rec(MAX, BOB, 3_000), Rec(PROXY, ALICE, 3_050)],
        ALICE,
        3_050,
        (Outbid(BOB, 3_050, 3_100),),
    ),
    "V < M but V + increment(V) > M: proxy capped at M": Case(
        None,
        [("max", ALICE, 5_000)],
        ("max", BOB, 4_990),
        [Rec(MAX, BOB, 4_990), Rec(PROXY, ALICE, 5_000)],
        ALICE,
        5_000,
        (Outbid(BOB, 5_000, 5_100),),
    ),
    "max tie: the earlier max wins at M": Case(
        None,
        [("max", ALICE, 5_000)],
        ("max", BOB, 5_000),
        [Rec(MAX, BOB, 5_000), Rec(PROXY, ALICE, 5_000)],
        ALICE,
        5_000,
        (Outbid(BOB, 5_000, 5_100),),
    ),
    "plain bid equal to the max: the max holder keeps the lead": Case(
        None,
        [("max", ALICE, 5_000)],
        ("bid", BOB, 5_000),
        [Rec(BID, BOB, 5_000), Rec(PROXY, ALICE, 5_000)],
        ALICE,
        5_000,
        (Outbid(BOB, 5_000, 5_100),),
    ),
    "proxy step is taken at V's row of the table": Case(
        None,
        [("max", ALICE, 30_000)],
        ("bid", BOB, 24_900),
        [Rec(BID, BOB, 24_900), Rec(PROXY, ALICE, 25_150)],
        ALICE,
        25_150,
        (Outbid(BOB, 25_150, 25_650),),
    ),
    "plain V > M: challenger leads at V": Case(
        None,
        [("max", ALICE, 5_000)],
        ("bid", BOB, 6_000),
        [Rec(BID, BOB, 6_000)],
        BOB,
        6_000,
        (Outbid(ALICE, 6_000, 6_100),),
    ),
    "plain V = M + 1: challenger leads at V": Case(
        None,
        [("max", ALICE, 5_000)],
        ("bid", BOB, 5_001),
        [Rec(BID, BOB, 5_001)],
        BOB,
        5_001,
        (Outbid(ALICE, 5_001, 5_101),),
    ),
    "max V > M: challenger leads at M + increment(M)": Case(
        None,
        [("max", ALICE, 5_000)],
        ("max", BOB, 8_000),
        [Rec(MAX, BOB, 5_100)],
        BOB,
        5_100,
        (Outbid(ALICE, 5_100, 5_200),),
    ),
    "max V > M but V < M + increment(M): challenger leads at V": Case(
        None,
        [("max", ALICE, 5_000)],
        ("max", BOB, 5_050),
        [Rec(MAX, BOB, 5_050)],
        BOB,
        5_050,
        (Outbid(ALICE, 5_050, 5_150),),
    ),
    "max over a plain leader: M is the plain amount": Case(
        None,
        [("bid", ALICE, 2_400)],
        ("max", BOB, 9_000),
        [Rec(MAX, BOB, 2_450)],
        BOB,
        2_450,
        (Outbid(ALICE, 2_450, 2_500),),
    ),
    "max V > M steps from M's row, not the price's": Case(
        None,
        [("max", ALICE, 9_990)],
        ("max", BOB, 20_000),
        [Rec(MAX, BOB, 10_090)],
        BOB,
        10_090,
        (Outbid(ALICE, 10_090, 10_340),),
    ),
    "a third bidder beats the leader's max, not the loser's": Case(
        None,
        [("max", ALICE, 5_000), ("max", BOB, 3_000)],
        ("max", CAROL, 10_000),
        [Rec(MAX, CAROL, 5_100)],
        CAROL,
        5_100,
        (Outbid(ALICE, 5_100, 5_200),),
    ),
    "a displaced leader's plain bid loses to the new max": Case(
        None,
        [("max", ALICE, 5_000), ("max", CAROL, 10_000)],
        ("bid", ALICE, 6_000),
        [Rec(BID, ALICE, 6_000), Rec(PROXY, CAROL, 6_100)],
        CAROL,
        6_100,
        (Outbid(ALICE, 6_100, 6_200),),
    ),
    "reserve: first max at the reserve jumps to it": Case(
        8_000, [], ("max", ALICE, 8_000), [Rec(MAX, ALICE, 8_000)], ALICE, 8_000, ()
    ),
    "reserve: first max above the reserve jumps to the reserve only": Case(
        8_000, [], ("max", ALICE, 12_000), [Rec(MAX, ALICE, 8_000)], ALICE, 8_000, ()
    ),
    "reserve: first max just below the reserve stays at the start": Case(
        8_000, [], ("max", ALICE, 7_999), [Rec(MAX, ALICE, 1_000)], ALICE, 1_000, ()
    ),
    "reserve below the starting price never lowers the price": Case(
        500, [], ("max", ALICE, 2_000), [Rec(MAX, ALICE, 1_000)], ALICE, 1_000, ()
    ),
    "reserve: challenger's max jumps past M + increment(M) to the reserve": Case(
        8_000,
        [("max", ALICE, 3_000)],
        ("max", BOB, 9_000),
        [Rec(MAX, BOB, 8_000)],
        BOB,
        8_000,
        (Outbid(ALICE, 8_000, 8_100),),
    ),
    "reserve: challenger's max below the reserve does not jump": Case(
        8_000,
        [("max", ALICE, 3_000)],
        ("max", BOB, 7_000),
        [Rec(MAX, BOB, 3_050)],
        BOB,
        3_050,
        (Outbid(ALICE, 3_050, 3_100),),
    ),
    "reserve: a plain bid never jumps": Case(
        8_000,
        [("max", ALICE, 3_000)],
        ("bid", BOB, 4_000),
        [Rec(BID, BOB, 4_000)],
        BOB,
        4_000,
        (Outbid(ALICE, 4_000, 4_050),),
    ),
    "reserve already met: challenger's max resolves as usual": Case(
        8_000,
        [("max", ALICE, 9_000)],
        ("max", BOB, 12_000),
        [Rec(MAX, BOB, 9_100)],
        BOB,
        9_100,
        (Outbid(ALICE, 9_100, 9_200),),
    ),
    "reserve already met: a losing max gets a proxy answer": Case(
        8_000,
        [("max", ALICE, 9_000)],
        ("max", BOB, 8_500),
        [Rec(MAX, BOB, 8_500), Rec(PROXY, ALICE, 8_600)],
        ALICE,
        8_600,
        (Outbid(BOB, 8_600, 8_700),),
    ),
}


@pytest.mark.parametrize("case", RESOLUTION.values(), ids=RESOLUTION.keys())
def test_resolution(case: Case) -> None:
    state = make_auction(starting_price=1_000, reserve_price=case.reserve)
    for step in case.before:
        send(state, step)
    count_before, seq_before = state.bid_count, state.seq

    outcome = send(state, case.command)

    assert records(outcome.events) == case.records
    assert [e.seq for e in outcome.events if isinstance(e, BidPlaced)] == [
        seq_before + i + 1 for i in range(len(case.records))
    ]
    assert outcome.notices == case.notices
    assert state.leader_id == case.leader
    assert state.current_price == case.price
    assert state.bid_count == count_before + len(case.records)
    view = snapshot(state, DURING)
    assert view.current_price == case.price
    assert view.reserve_met is (case.reserve is None or case.price >= case.reserve)


def test_losing_challenger_reply_shows_it_does_not_lead() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    outcome = max_bid(state, BOB, 3_000)
    assert outcome.reply == BidReply(
        amount=3_000,
        leading=False,
        current_price=3_050,
        bid_count=3,
        bidder_alias="bidder-2",
        seq=3,
        ends_at=ENDS,
    )


def test_records_carry_the_leader_and_its_hidden_max_for_replay() -> None:
    """The log must hold the max the rules chose, or a replay could not resolve the next bid."""
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    outcome = bid(state, BOB, 2_000)
    challenger, proxy = outcome.events
    assert isinstance(challenger, BidPlaced)
    assert isinstance(proxy, BidPlaced)
    assert (challenger.leader_id, challenger.leader_max) == (ALICE, 5_000)
    assert (proxy.bidder_id, proxy.leader_id, proxy.leader_max) == (ALICE, ALICE, 5_000)
    assert challenger.at == proxy.at == DURING


def test_a_winning_max_record_shows_the_price_not_the_max() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    outcome = max_bid(state, BOB, 9_000)
    (record,) = outcome.events
    assert isinstance(record, BidPlaced)
    assert (record.amount, record.leader_max) == (1_050, 9_000)
    assert outcome.reply is not None
    assert (outcome.reply.amount, outcome.reply.current_price) == (9_000, 1_050)


@pytest.mark.parametrize("value", [1, 1_000, 1_049])
def test_a_challengers_max_below_the_minimum_next_bid_is_too_low(value: int) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    error = expect_rejection(state, PlaceMaxBid(BOB, value), DURING, BidTooLow)
    assert error.details == {"minimumNextBid": 1_050}


# --- the leader raising its own max ------------------------------------------------------


def test_a_raise_without_reserve_effect_makes_no_record_but_moves_the_max() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    outcome = max_bid(state, ALICE, 20_000)
    assert outcome.events == (MaxRaised(DURING, ALICE, 20_000, Cause(ALICE, None, 20_000)),)
    assert outcome.notices == ()
    assert outcome.reply == BidReply(
        amount=20_000,
        leading=True,
        current_price=1_000,
        bid_count=1,
        bidder_alias="bidder-1",
        seq=1,
        ends_at=ENDS,
    )
    assert (state.seq, state.bid_count, state.current_price) == (1, 1, 1_000)

    # The new max, not the old one, answers the next challenger: 19,000 <= 20,000.
    follow = bid(state, BOB, 19_000)
    assert records(follow.events) == [Rec(BID, BOB, 19_000), Rec(PROXY, ALICE, 19_250)]
    assert state.leader_id == ALICE


def test_a_plain_leader_may_raise_to_any_value_above_its_amount() -> None:
    """The minimum next bid (1,050 here) does not apply to the leader's own max."""
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    outcome = max_bid(state, ALICE, 1_001)
    assert [type(e) for e in outcome.events] == [MaxRaised]
    # 1,050 > 1,001: the challenger leads at its plain amount.
    follow = bid(state, BOB, 1_050)
    assert records(follow.events) == [Rec(BID, BOB, 1_050)]
    assert state.leader_id == BOB


@pytest.mark.parametrize(("raise_to", "recorded_price"), [(8_000, 8_000), (9_000, 8_000)])
def test_a_raise_reaching_an_unmet_reserve_records_the_reserve(
    raise_to: int, recorded_price: int
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000)
    max_bid(state, ALICE, 3_000)
    outcome = max_bid(state, ALICE, raise_to)
    assert outcome.events == (
        BidPlaced(
            seq=2,
            at=DURING,
            kind=MAX,
            bidder_id=ALICE,
            amount=recorded_price,
            leader_id=ALICE,
            leader_max=raise_to,
            cause=Cause(ALICE, None, raise_to),
        ),
    )
    assert outcome.notices == ()
    assert (state.bid_count, state.seq, state.current_price) == (2, 2, recorded_price)
    assert snapshot(state, DURING).reserve_met is True


def test_after_a_recorded_raise_the_raised_max_answers_challengers() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000)
    max_bid(state, ALICE, 3_000)
    max_bid(state, ALICE, 9_000)
    follow = max_bid(state, BOB, 8_900)
    assert records(follow.events) == [Rec(MAX, BOB, 8_900), Rec(PROXY, ALICE, 9_000)]


def test_a_raise_below_an_unmet_reserve_makes_no_record() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000)
    max_bid(state, ALICE, 3_000)
    outcome = max_bid(state, ALICE, 7_000)
    assert [type(e) for e in outcome.events] == [MaxRaised]
    assert (state.bid_count, state.seq, state.current_price) == (1, 1, 1_000)
    assert snapshot(state, DURING).reserve_met is False
    follow = max_bid(state, BOB, 6_000)
    assert records(follow.events) == [Rec(MAX, BOB, 6_000), Rec(PROXY, ALICE, 6_100)]


def test_a_raise_once_the_reserve_is_met_makes_no_record() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000)
    max_bid(state, ALICE, 10_000)
    assert state.current_price == 8_000
    outcome = max_bid(state, ALICE, 12_000)
    assert [type(e) for e in outcome.events] == [MaxRaised]
    assert (state.bid_count, state.seq, state.current_price) == (1, 1, 8_000)


@pytest.mark.parametrize(
    ("reserve", "before", "value"),
    [
        (None, [("max", ALICE, 5_000)], 5_000),
        (None, [("max", ALICE, 5_000)], 4_999),
        (None, [("max", ALICE, 5_000)], 1_000),
        (None, [("bid", ALICE, 1_000)], 1_000),
        (None, [("bid", ALICE, 1_000)], 999),
        # A silent raise: the max is 20,000 though the price still shows 1,000.
        (None, [("max", ALICE, 5_000), ("max", ALICE, 20_000)], 19_999),
        # A recorded reserve raise: the max is 9,000 though the price shows 8,000.
        (8_000, [("max", ALICE, 3_000), ("max", ALICE, 9_000)], 8_500),
    ],
)
def test_a_raise_at_or_below_the_leaders_max_is_max_below_current(
    reserve: int | None, before: list[Step], value: int
) -> None:
    state = make_auction(starting_price=1_000, reserve_price=reserve)
    for step in before:
        send(state, step)
    expect_rejection(state, PlaceMaxBid(ALICE, value), DURING, MaxBelowCurrent)
