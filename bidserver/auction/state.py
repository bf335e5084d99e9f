"""An auction's configuration and its state, which only `evolve` changes.

The state is mutable on purpose: the actor that owns it applies events in place, because
copying the idempotency table on every bid would put an O(n) copy on the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from bidserver.auction.events import (
    BidPlaced,
    Cause,
    Closed,
    Event,
    Extended,
    MaxRaised,
)
from bidserver.auction.money import increment


class Status(StrEnum):
    SCHEDULED = "scheduled"
    OPEN = "open"
    CLOSED = "closed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class AuctionConfig:
    """The seller's terms, fixed at creation; times in epoch milliseconds."""

    auction_id: int
    seller_id: int
    starts_at: int
    ends_at: int
    starting_price: int
    reserve_price: int | None = None
    buy_now_price: int | None = None
    anti_snipe_ms: int = 120_000
    max_extensions: int | None = None


class BidReply(NamedTuple):
    """The answer to an accepted bid, max bid or buy-now, as after the command.

    A named tuple so that `tuple(reply)` packs it for `AuctionState.answers` (see there).
    """

    amount: int
    leading: bool
    current_price: int
    bid_count: int
    bidder_alias: str
    seq: int
    ends_at: int


PackedReply = tuple[int, bool, int, int, str, int, int]  # BidReply's fields, in order


def pack(reply: BidReply) -> PackedReply:
    """A plain tuple (never a subclass, which the collector would keep tracking)."""
    r = reply
    return (r.amount, r.leading, r.current_price, r.bid_count, r.bidder_alias, r.seq, r.ends_at)


@dataclass(frozen=True, slots=True)
class Snapshot:
    auction_id: int
    seq: int
    status: Status
    current_price: int | None
    bid_count: int
    leader_alias: str | None
    minimum_next_bid: int
    reserve_met: bool
    buy_now_available: bool
    starts_at: int
    ends_at: int


@dataclass(slots=True)
class AuctionState:
    config: AuctionConfig
    ends_at: int
    ended: Status | None = None
    seq: int = 0
    version: int = 0
    current_price: int | None = None
    leader_id: int | None = None
    leader_max: int = 0
    bid_count: int = 0
    extensions: int = 0
    winner_id: int | None = None
    aliases: dict[int, str] = field(default_factory=dict)
    # One packed answer per bidId, by bidder then bidId. Plain tuples of ints and strings,
    # which the garbage collector stops tracking, so a hot auction's answers never lengthen
    # full collections; one small table per bidder, so growing never rehashes one huge
    # table (at 700,000 bids a single dict's resize stalls the actor ~25 ms).
    answers: dict[int, dict[str, PackedReply]] = field(default_factory=dict)


def new_state(config: AuctionConfig) -> AuctionState:
    return AuctionState(config=config, ends_at=config.ends_at)


def minimum_next_bid(state: AuctionState) -> int:
    price = state.current_price
    return state.config.starting_price if price is None else price + increment(price)


def reserve_met(state: AuctionState) -> bool:
    reserve = state.config.reserve_price
    price = state.current_price
    return reserve is None or (price is not None and price >= reserve)


def status_at(state: AuctionState, now: int) -> Status:
    """Opening needs no event; a passed end reads as closed before the close is announced."""
    if state.ended is not None:
        return state.ended
    if now < state.config.starts_at:
        return Status.SCHEDULED
    return Status.OPEN if now < state.ends_at else Status.CLOSED


def buy_now_offered(state: AuctionState) -> bool:
    """Buy-now stands until a bid meets the reserve (with no reserve: until any bid)."""
    if state.config.buy_now_price is None:
        return False
    if state.config.reserve_price is None:
        return state.bid_count == 0
    return not reserve_met(state)


def snapshot(state: AuctionState, now: int) -> Snapshot:
    status = status_at(state, now)
    leader = state.leader_id
    return Snapshot(
        auction_id=state.config.auction_id,
        seq=state.seq,
        status=status,
        current_price=state.current_price,
        bid_count=state.bid_count,
        leader_alias=None if leader is None else state.aliases[leader],
        minimum_next_bid=minimum_next_bid(state),
        reserve_met=reserve_met(state),
        buy_now_available=status is Status.OPEN and buy_now_offered(state),
        starts_at=state.config.starts_at,
        ends_at=state.ends_at,
    )


def reply_for(state: AuctionState, cause: Cause) -> BidReply:
    return BidReply(
        amount=cause.sent,
        leading=state.leader_id == cause.bidder_id,
        current_price=state.current_price or 0,
        bid_count=state.bid_count,
        bidder_alias=state.aliases[cause.bidder_id],
        seq=state.seq,
        ends_at=state.ends_at,
    )


def evolve(state: AuctionState, event: Event) -> None:
    """Apply one event in place; the only code that changes an auction's state."""
    state.version += 1
    cause: Cause | None = None
    if isinstance(event, BidPlaced):
        _apply_bid(state, event)
        cause = event.cause
    elif isinstance(event, MaxRaised):
        state.leader_max = event.max_amount
        cause = event.cause
    elif isinstance(event, Extended):
        state.seq = event.seq
        state.ends_at = event.ends_at
        state.extensions += 1
        cause = event.cause
    elif isinstance(event, Closed):
        state.seq = event.seq
        state.ended = Status.CLOSED
        state.winner_id = event.winner_id
        cause = event.cause
    else:  # Cancelled
        state.seq = event.seq
        state.ended = Status.CANCELLED
    if cause is not None and cause.bid_id is not None:
        answers = state.answers.setdefault(cause.bidder_id, {})
        answers[cause.bid_id] = pack(reply_for(state, cause))


def _apply_bid(state: AuctionState, event: BidPlaced) -> None:
    state.seq = event.seq
    state.current_price = event.amount
    state.leader_id = event.leader_id
    state.leader_max = event.leader_max
    state.bid_count += 1
    if event.bidder_id not in state.aliases:
        state.aliases[event.bidder_id] = f"bidder-{len(state.aliases) + 1}"


def replay(config: AuctionConfig, events: list[Event]) -> AuctionState:
    """Rebuild an auction from its log, as the actor does on activation."""
    state = new_state(config)
    for event in events:
        evolve(state, event)
    return state
