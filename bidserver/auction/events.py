"""What happened to an auction (past tense, immutable), and private notices to one user.

Events are the log: replaying them through `evolve` rebuilds an auction exactly, so each
carries every value the rules chose (including the leader's hidden max, which never leaves
the server). Public events carry the auction's dense `seq`; `MaxRaised` is private.
Times are integer milliseconds since the Unix epoch, passed in by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class BidKind(StrEnum):
    BID = "bid"
    MAX = "max"
    PROXY = "proxy"
    BUY_NOW = "buy_now"


@dataclass(frozen=True, slots=True)
class Cause:
    """The command behind an event: who sent it, its idempotency key and the value it sent."""

    bidder_id: int
    bid_id: str | None
    sent: int


@dataclass(frozen=True, slots=True)
class BidPlaced:
    """One bid record; `amount` is the price it sets, `leader_max` is never shown."""

    seq: int
    at: int
    kind: BidKind
    bidder_id: int
    amount: int
    leader_id: int
    leader_max: int
    cause: Cause


@dataclass(frozen=True, slots=True)
class MaxRaised:
    """The leader raised its own max without moving the price: no record, no seq."""

    at: int
    bidder_id: int
    max_amount: int
    cause: Cause


@dataclass(frozen=True, slots=True)
class Extended:
    seq: int
    at: int
    ends_at: int
    cause: Cause


@dataclass(frozen=True, slots=True)
class Closed:
    seq: int
    at: int
    winner_id: int | None
    final_price: int | None
    reserve_met: bool
    cause: Cause | None = None


@dataclass(frozen=True, slots=True)
class Cancelled:
    seq: int
    at: int


Event = BidPlaced | MaxRaised | Extended | Closed | Cancelled
PublicEvent = BidPlaced | Extended | Closed | Cancelled


@dataclass(frozen=True, slots=True)
class Outbid:
    """Private: `user_id` has lost the lead (or a challenge it made fell short at once)."""

    user_id: int
    current_price: int
    minimum_next_bid: int


@dataclass(frozen=True, slots=True)
class Won:
    user_id: int
    final_price: int


Notice = Outbid | Won
