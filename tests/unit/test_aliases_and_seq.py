"""CONTRACT §2 aliases and sequence numbers.

Aliases hide user ids, so they are handed out per auction in the order of each bidder's
first record (not by user id), and never change. `seq` is dense over the public events,
because subscribers detect a missed event by a gap; the private MaxRaised takes none.
"""

from __future__ import annotations

from bidserver.auction import (
    BidPlaced,
    Event,
    MaxRaised,
    PlaceBid,
    snapshot,
)
from bidserver.errors import BidTooLow, SellerCannotBid
from tests.unit.factories import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    DURING,
    ENDS,
    SELLER,
    bid,
    buy_now,
    cancel,
    close_if_due,
    expect_rejection,
    make_auction,
    max_bid,
    public_seqs,
)


def test_aliases_follow_first_record_order_not_user_ids() -> None:
    state = make_auction(starting_price=1_000)
    first = bid(state, DAVE, 1_000)
    second = bid(state, ALICE, 1_050)
    third = bid(state, DAVE, 1_100)
    assert [o.reply.bidder_alias for o in (first, second, third) if o.reply] == [
        "bidder-1",
        "bidder-2",
        "bidder-1",
    ]
    assert state.aliases == {DAVE: "bidder-1", ALICE: "bidder-2"}
    assert snapshot(state, DURING).leader_alias == "bidder-1"


def test_a_losing_challenger_gets_its_alias_from_its_own_record() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    outcome = bid(state, BOB, 2_000)
    assert outcome.reply is not None
    assert outcome.reply.bidder_alias == "bidder-2"
    assert state.aliases == {ALICE: "bidder-1", BOB: "bidder-2"}
    assert snapshot(state, DURING).leader_alias == "bidder-1"


def test_rejected_bidders_and_silent_raises_take_no_alias() -> None:
    state = make_auction(starting_price=1_000)
    expect_rejection(state, PlaceBid(SELLER, 1_000), DURING, SellerCannotBid)
    expect_rejection(state, PlaceBid(CAROL, 999), DURING, BidTooLow)
    max_bid(state, ALICE, 5_000)
    max_bid(state, ALICE, 9_000)
    bid(state, BOB, 9_500)
    assert state.aliases == {ALICE: "bidder-1", BOB: "bidder-2"}
    bid(state, CAROL, 9_600)
    assert state.aliases[CAROL] == "bidder-3"


def test_a_buy_now_buyer_gets_the_next_alias() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    bid(state, ALICE, 1_000)
    outcome = buy_now(state, BOB)
    assert outcome.reply is not None
    assert outcome.reply.bidder_alias == "bidder-2"
    assert snapshot(state, DURING).leader_alias == "bidder-2"


def test_aliases_are_per_auction() -> None:
    one = make_auction(starting_price=1_000)
    two = make_auction(starting_price=1_000)
    bid(one, ALICE, 1_000)
    bid(one, BOB, 1_050)
    bid(two, BOB, 1_000)
    assert one.aliases[BOB] == "bidder-2"
    assert two.aliases[BOB] == "bidder-1"


def test_seq_is_dense_across_every_kind_of_public_event() -> None:
    state = make_auction(starting_price=1_000)
    assert snapshot(state, DURING).seq == 0
    log: list[Event] = []
    log += max_bid(state, ALICE, 5_000).events  # max record: 1
    log += bid(state, BOB, 2_000).events  # bid 2, proxy 3
    raised = max_bid(state, ALICE, 7_000)  # private MaxRaised: no seq
    assert [type(e) for e in raised.events] == [MaxRaised]
    log += raised.events
    # 9,000 > 7,000: Carol leads at min(9000, 7000 + 100) = 7100; record 4, extended 5.
    log += max_bid(state, CAROL, 9_000, now=ENDS - 10_000).events
    log += close_if_due(state, ENDS + 110_000).events  # closed 6
    assert public_seqs(log) == [1, 2, 3, 4, 5, 6]
    assert [e.amount for e in log if isinstance(e, BidPlaced)] == [1_000, 2_000, 2_050, 7_100]
    assert state.seq == 6
    assert snapshot(state, ENDS + 110_000).seq == 6


def test_seq_continues_through_cancel() -> None:
    state = make_auction(starting_price=1_000)
    log = list(bid(state, ALICE, 1_000).events) + list(cancel(state).events)
    assert public_seqs(log) == [1, 2]


def test_seq_continues_through_buy_now() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    log = list(bid(state, ALICE, 1_000).events) + list(buy_now(state, BOB).events)
    assert public_seqs(log) == [1, 2, 3]
