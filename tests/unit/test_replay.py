"""The event log is the auction: replaying it must rebuild an equal AuctionState.

Activation after a restart or a failover depends on it (CONTRACT §2: seq "continues across
restarts and failovers"), so every prefix of a log that touches every rule is checked.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from bidserver.auction import (
    AuctionState,
    Event,
    Outcome,
    new_state,
    replay,
)
from tests.unit.factories import (
    ALICE,
    BOB,
    CAROL,
    DAVE,
    ENDS,
    bid,
    buy_now,
    cancel,
    close_if_due,
    make_config,
    max_bid,
    public_seqs,
)

Step = Callable[[AuctionState], Outcome]

STORIES: dict[str, list[Step]] = {
    "proxies, raise, extensions, close": [
        lambda s: max_bid(s, ALICE, 5_000, bid_id="a1"),  # record 1
        lambda s: bid(s, BOB, 2_000, bid_id="b1"),  # records 2 and 3 (proxy)
        lambda s: max_bid(s, ALICE, 7_000, bid_id="a2"),  # private MaxRaised
        lambda s: max_bid(s, CAROL, 20_000, now=ENDS - 5_000),  # record 4, extended 5
        lambda s: max_bid(s, DAVE, 30_000, now=ENDS + 100_000),  # record 6, extended 7
        lambda s: close_if_due(s, ENDS + 220_000),  # closed 8
    ],
    "reserve raise and proxy": [
        lambda s: max_bid(s, ALICE, 3_000),
        lambda s: max_bid(s, ALICE, 9_000),  # recorded reserve raise
        lambda s: max_bid(s, BOB, 8_500, bid_id="b1"),  # loses to the proxy
        lambda s: close_if_due(s, ENDS),
    ],
    "cancel": [
        lambda s: bid(s, ALICE, 1_000),
        lambda s: bid(s, BOB, 1_100),
        lambda s: cancel(s),
    ],
    "buy now": [
        lambda s: bid(s, ALICE, 1_000),
        lambda s: buy_now(s, BOB),
    ],
}


@pytest.mark.parametrize("story", STORIES.values(), ids=STORIES.keys())
def test_replaying_the_log_up_to_each_command_rebuilds_that_state(story: list[Step]) -> None:
    config = make_config(starting_price=1_000, reserve_price=8_000, buy_now_price=20_000)
    live = new_state(config)
    assert replay(config, []) == live
    log: list[Event] = []
    for step in story:
        log += step(live).events
        expected = copy.deepcopy(live)
        assert replay(config, log) == expected


def test_a_replayed_auction_continues_its_seq() -> None:
    config = make_config(starting_price=1_000)
    live = new_state(config)
    log: list[Event] = []
    log += max_bid(live, ALICE, 5_000).events
    log += bid(live, BOB, 2_000).events
    rebuilt = replay(config, log)
    outcome = bid(rebuilt, CAROL, 6_000)
    assert public_seqs(outcome.events) == [4]
    assert rebuilt.aliases[CAROL] == "bidder-3"
