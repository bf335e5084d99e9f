"""CONTRACT §2 idempotency: a retried (bidder, bidId) gets the first answer and no new bid.

Clients retry after `unavailable` or a dropped socket without knowing whether the first
attempt landed, so the stored answer must survive later bids, the close and a restart
(a replay of the log), and must never place a second bid.
"""

from __future__ import annotations

import copy

from bidserver.auction import (
    BidReply,
    Event,
    PlaceBid,
    PlaceMaxBid,
    handle,
    replay,
)
from bidserver.errors import AlreadyLeading
from tests.unit.factories import (
    ALICE,
    BOB,
    CAROL,
    DURING,
    ENDS,
    bid,
    close_if_due,
    expect_rejection,
    make_auction,
    make_config,
    max_bid,
)

FIRST = "6f1c1c55-6a1e-4d6e-9c1b-3f4b1d0c0a01"
SECOND = "6f1c1c55-6a1e-4d6e-9c1b-3f4b1d0c0a02"


def test_a_retry_gets_the_same_reply_and_changes_nothing() -> None:
    state = make_auction(starting_price=1_000)
    first = bid(state, ALICE, 1_000, bid_id=FIRST)
    before = copy.deepcopy(state)
    again = bid(state, ALICE, 1_000, bid_id=FIRST)
    assert again.reply == first.reply
    assert (again.events, again.notices) == ((), ())
    assert state == before


def test_a_retry_after_later_bids_returns_the_first_answer() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000, bid_id=FIRST)
    bid(state, BOB, 1_500)
    bid(state, CAROL, 2_000)
    again = bid(state, ALICE, 1_000, bid_id=FIRST)
    assert again.reply == BidReply(
        amount=1_000,
        leading=True,
        current_price=1_000,
        bid_count=1,
        bidder_alias="bidder-1",
        seq=1,
        ends_at=ENDS,
    )
    assert again.events == ()
    assert state.bid_count == 3


def test_a_retry_with_another_amount_still_gets_the_first_answer() -> None:
    """The key is the bidId, not the payload; a second amount must not become a second bid."""
    state = make_auction(starting_price=1_000)
    first = bid(state, ALICE, 1_000, bid_id=FIRST)
    bid(state, BOB, 1_050)
    again = handle(state, PlaceMaxBid(ALICE, 9_000, FIRST), DURING)
    assert again.reply == first.reply
    assert again.events == ()
    assert state.leader_id == BOB


def test_a_retry_after_the_close_gets_the_first_answer_not_auction_closed() -> None:
    state = make_auction(starting_price=1_000)
    first = bid(state, ALICE, 1_000, bid_id=FIRST)
    close_if_due(state, ENDS)
    again = bid(state, ALICE, 1_000, now=ENDS + 1, bid_id=FIRST)
    assert again.reply == first.reply


def test_a_losing_max_retry_answers_with_the_proxy_outcome() -> None:
    """The stored answer is the state after all of the command's records (and extension)."""
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    first = max_bid(state, BOB, 3_000, now=ENDS - 10_000, bid_id=FIRST)
    expected = BidReply(
        amount=3_000,
        leading=False,
        current_price=3_050,
        bid_count=3,
        bidder_alias="bidder-2",
        seq=4,  # max record 2, proxy record 3, extended 4
        ends_at=ENDS + 110_000,
    )
    assert first.reply == expected
    again = max_bid(state, BOB, 3_000, now=ENDS + 1_000, bid_id=FIRST)
    assert again.reply == expected
    assert again.events == ()


def test_a_silent_raise_retry_is_answered_and_does_not_raise_again() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    first = max_bid(state, ALICE, 9_000, bid_id=FIRST)
    assert first.reply is not None
    assert first.reply.seq == 1
    again = max_bid(state, ALICE, 9_000, bid_id=FIRST)
    assert again.reply == first.reply
    assert again.events == ()


def test_another_bidder_with_the_same_bid_id_places_a_new_bid() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000, bid_id=FIRST)
    other = bid(state, BOB, 1_050, bid_id=FIRST)
    assert other.reply is not None
    assert (other.reply.leading, other.reply.bidder_alias, other.reply.seq) == (
        True,
        "bidder-2",
        2,
    )
    assert state.bid_count == 2


def test_the_same_bidder_with_a_new_bid_id_is_judged_afresh() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000, bid_id=FIRST)
    expect_rejection(state, PlaceBid(ALICE, 1_050, SECOND), DURING, AlreadyLeading)


def test_a_bid_without_bid_id_is_never_deduplicated() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    expect_rejection(state, PlaceBid(ALICE, 1_000), DURING, AlreadyLeading)


def test_a_retry_after_a_replay_still_gets_the_first_answer() -> None:
    """A restart or failover rebuilds the auction from its log; the answers must come back."""
    config = make_config(starting_price=1_000)
    live = make_auction(starting_price=1_000)
    log: list[Event] = []
    first = max_bid(live, ALICE, 5_000, bid_id=FIRST)
    log += first.events
    losing = bid(live, BOB, 2_000, bid_id=SECOND)
    log += losing.events
    log += bid(live, CAROL, 6_000).events

    rebuilt = replay(config, log)
    assert rebuilt == live
    again_alice = handle(rebuilt, PlaceMaxBid(ALICE, 5_000, FIRST), DURING)
    again_bob = handle(rebuilt, PlaceBid(BOB, 2_000, SECOND), DURING)
    assert again_alice.reply == first.reply
    assert again_bob.reply == losing.reply
    assert (again_alice.events, again_bob.events) == ((), ())
    assert first.reply == BidReply(5_000, True, 1_000, 1, "bidder-1", 1, ENDS)
    assert losing.reply == BidReply(2_000, False, 2_050, 3, "bidder-2", 3, ENDS)
