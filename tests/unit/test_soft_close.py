"""CONTRACT §2 soft close: accepted bids inside the last antiSnipeSeconds move `endsAt`.

The boundary is strict ("less than antiSnipeSeconds left"), the new end counts from the
processing time rather than from the old end, and the `extended` event takes the seq
after the command's own records. Anti-snipe is 120 s here, the auction ends at ENDS.
"""

from __future__ import annotations

import pytest

from bidserver.auction import (
    BidPlaced,
    Closed,
    Extended,
    MaxRaised,
    PlaceBid,
    PlaceMaxBid,
    snapshot,
)
from bidserver.errors import AlreadyLeading, AuctionClosed, BidTooLow, MaxBelowCurrent
from tests.unit.factories import (
    ALICE,
    ANTI_SNIPE_MS,
    BOB,
    CAROL,
    ENDS,
    bid,
    close_if_due,
    expect_rejection,
    make_auction,
    max_bid,
    public_seqs,
)


@pytest.mark.parametrize(
    ("now", "new_ends_at"),
    [
        (ENDS - 3_600_000 + 60_000, ENDS),  # an hour left: no extension
        (ENDS - 120_001, ENDS),  # just over antiSnipe left
        (ENDS - 120_000, ENDS),  # exactly antiSnipe left is not "less than"
        (ENDS - 119_999, ENDS + 1),
        (ENDS - 60_000, ENDS + 60_000),
        (ENDS - 1, ENDS + 119_999),
    ],
)
def test_extension_boundary(now: int, new_ends_at: int) -> None:
    state = make_auction(starting_price=1_000)
    outcome = bid(state, ALICE, 1_000, now=now)
    extended = [e for e in outcome.events if isinstance(e, Extended)]
    if new_ends_at == ENDS:
        assert extended == []
    else:
        assert [(e.seq, e.at, e.ends_at) for e in extended] == [(2, now, new_ends_at)]
    assert state.ends_at == new_ends_at
    assert outcome.reply is not None
    assert outcome.reply.ends_at == new_ends_at
    assert outcome.reply.seq == (1 if new_ends_at == ENDS else 2)
    assert snapshot(state, now).ends_at == new_ends_at


def test_extended_follows_both_records_of_a_proxy_answer() -> None:
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    now = ENDS - 30_000
    outcome = bid(state, BOB, 2_000, now=now)
    assert [type(e) for e in outcome.events] == [BidPlaced, BidPlaced, Extended]
    assert public_seqs(outcome.events) == [2, 3, 4]
    last = outcome.events[-1]
    assert isinstance(last, Extended)
    assert last.ends_at == now + ANTI_SNIPE_MS == ENDS + 90_000
    assert outcome.reply is not None
    assert (outcome.reply.seq, outcome.reply.ends_at, outcome.reply.leading) == (
        4,
        ENDS + 90_000,
        False,
    )


def test_a_max_bid_inside_the_window_extends() -> None:
    state = make_auction(starting_price=1_000)
    outcome = max_bid(state, ALICE, 5_000, now=ENDS - 5_000)
    assert [type(e) for e in outcome.events] == [BidPlaced, Extended]
    assert state.ends_at == ENDS + 115_000


def test_a_leaders_silent_raise_inside_the_window_extends() -> None:
    """The contract extends on any accepted max bid, and a raise is one though it has no record."""
    state = make_auction(starting_price=1_000)
    max_bid(state, ALICE, 5_000)
    now = ENDS - 10_000
    outcome = max_bid(state, ALICE, 9_000, now=now)
    assert [type(e) for e in outcome.events] == [MaxRaised, Extended]
    extended = outcome.events[1]
    assert isinstance(extended, Extended)
    assert (extended.seq, extended.ends_at) == (2, ENDS + 110_000)
    assert (state.seq, state.bid_count, state.ends_at) == (2, 1, ENDS + 110_000)


def test_a_recorded_reserve_raise_extends_after_its_record() -> None:
    state = make_auction(starting_price=1_000, reserve_price=8_000)
    max_bid(state, ALICE, 3_000)
    outcome = max_bid(state, ALICE, 9_000, now=ENDS - 1_000)
    assert [type(e) for e in outcome.events] == [BidPlaced, Extended]
    assert public_seqs(outcome.events) == [2, 3]
    assert state.ends_at == ENDS + 119_000


def test_each_extension_counts_from_its_own_processing_time() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000, now=ENDS - 1_000)
    assert state.ends_at == ENDS + 119_000
    # 19 s left of the new end: extend to now + 120 s, not to the old end + 120 s.
    bid(state, BOB, 1_050, now=ENDS + 100_000)
    assert state.ends_at == ENDS + 220_000


def test_max_extensions_zero_never_extends() -> None:
    state = make_auction(starting_price=1_000, max_extensions=0)
    outcome = bid(state, ALICE, 1_000, now=ENDS - 1)
    assert [type(e) for e in outcome.events] == [BidPlaced]
    assert state.ends_at == ENDS
    expect_rejection(state, PlaceBid(BOB, 1_050), ENDS, AuctionClosed)


def test_max_extensions_two_allows_exactly_two() -> None:
    state = make_auction(starting_price=1_000, max_extensions=2)
    first = bid(state, ALICE, 1_000, now=ENDS - 1_000)
    assert state.ends_at == ENDS + 119_000
    second = bid(state, BOB, 1_050, now=ENDS + 100_000)
    assert state.ends_at == ENDS + 220_000
    third = bid(state, CAROL, 1_100, now=ENDS + 210_000)
    assert state.ends_at == ENDS + 220_000
    assert [[type(e) for e in o.events] for o in (first, second, third)] == [
        [BidPlaced, Extended],
        [BidPlaced, Extended],
        [BidPlaced],
    ]
    assert public_seqs(first.events + second.events + third.events) == [1, 2, 3, 4, 5]
    assert state.extensions == 2
    expect_rejection(state, PlaceBid(ALICE, 1_150), ENDS + 220_000, AuctionClosed)


def test_unlimited_extensions_keep_extending() -> None:
    state = make_auction(starting_price=1_000)
    now = ENDS - 1
    bidders = [ALICE, BOB]
    for round_ in range(10):
        bid(state, bidders[round_ % 2], 1_000 + 50 * round_, now=now)
        assert state.ends_at == now + ANTI_SNIPE_MS
        now = state.ends_at - 1
    assert state.extensions == 10


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (PlaceBid(BOB, 1_049), BidTooLow),
        (PlaceMaxBid(BOB, 1_000), BidTooLow),
        (PlaceBid(ALICE, 2_000), AlreadyLeading),
        (PlaceMaxBid(ALICE, 1_000), MaxBelowCurrent),
    ],
)
def test_rejected_bids_never_extend(
    command: PlaceBid | PlaceMaxBid, error: type[BidTooLow | AlreadyLeading | MaxBelowCurrent]
) -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000)
    expect_rejection(state, command, ENDS - 1_000, error)
    assert state.ends_at == ENDS


def test_the_close_waits_for_the_extended_end() -> None:
    state = make_auction(starting_price=1_000)
    bid(state, ALICE, 1_000, now=ENDS - 1_000)
    assert close_if_due(state, ENDS).events == ()
    assert close_if_due(state, ENDS + 118_999).events == ()
    outcome = close_if_due(state, ENDS + 119_000)
    assert [type(e) for e in outcome.events] == [Closed]
