"""The auction rules of CONTRACT §2 as a pure function: `decide(state, command, now)`.

`decide` never changes the state: it returns the events an accepted command causes (which
the caller applies with `evolve`) or raises the `Rejection` of the first rule that refuses
it, in the contract's order. No clock, no I/O: `now` is epoch milliseconds from the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from bidserver.auction.commands import (
    BuyNow,
    CancelAuction,
    CloseIfDue,
    Command,
    PlaceBid,
    PlaceMaxBid,
)
from bidserver.auction.errors import (
    AlreadyLeading,
    AuctionClosed,
    AuctionNotOpen,
    BidTooLow,
    BuyNowUnavailable,
    MaxBelowCurrent,
    SellerCannotBid,
)
from bidserver.auction.events import (
    BidKind,
    BidPlaced,
    Cancelled,
    Cause,
    Closed,
    Event,
    Extended,
    MaxRaised,
    Notice,
    Outbid,
    Won,
)
from bidserver.auction.money import increment, parse_money
from bidserver.auction.state import (
    AuctionState,
    BidReply,
    PackedReply,
    Status,
    buy_now_offered,
    evolve,
    minimum_next_bid,
    reply_for,
    reserve_met,
    status_at,
)

_NO_ANSWERS: dict[str, PackedReply] = {}


@dataclass(frozen=True, slots=True)
class Decision:
    """Events to apply and notices to deliver; `repeat` is the stored answer to a retried bidId."""

    events: tuple[Event, ...] = ()
    notices: tuple[Notice, ...] = ()
    cause: Cause | None = None
    repeat: BidReply | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """A handled command: what to persist and publish, and the bidder's answer if any."""

    events: tuple[Event, ...]
    notices: tuple[Notice, ...]
    reply: BidReply | None


def handle(state: AuctionState, command: Command, now: int) -> Outcome:
    """Decide, apply the events in place and answer; raises the command's `Rejection`."""
    decision = decide(state, command, now)
    if decision.repeat is not None:
        return Outcome((), (), decision.repeat)
    for event in decision.events:
        evolve(state, event)
    reply = None if decision.cause is None else reply_for(state, decision.cause)
    return Outcome(decision.events, decision.notices, reply)


def decide(state: AuctionState, command: Command, now: int) -> Decision:
    if isinstance(command, CloseIfDue):
        return _close_if_due(state, now)
    if isinstance(command, CancelAuction):
        return _cancel(state, now)
    if isinstance(command, BuyNow):
        return _buy_now(state, command, now)
    return _bid(state, command, now)


def _bid(state: AuctionState, command: PlaceBid | PlaceMaxBid, now: int) -> Decision:
    is_max = isinstance(command, PlaceMaxBid)
    value = parse_money(
        command.max_amount if isinstance(command, PlaceMaxBid) else command.amount,
        "maxAmount" if is_max else "amount",
    )
    if command.bid_id is not None:
        stored = state.answers.get(command.bidder_id, _NO_ANSWERS).get(command.bid_id)
        if stored is not None:
            return Decision(repeat=BidReply(*stored))
    _require_biddable(state, command.bidder_id, now)
    cause = Cause(command.bidder_id, command.bid_id, value)
    if command.bidder_id == state.leader_id:
        if not is_max:
            raise AlreadyLeading("you already lead this auction")
        decision = _raise_own_max(state, cause, now)
    else:
        floor = minimum_next_bid(state)
        if value < floor:
            raise BidTooLow(f"the minimum next bid is {floor}", minimumNextBid=floor)
        decision = _challenge(state, cause, is_max, now)
    return _with_extension(state, decision, cause, now)


def _require_biddable(state: AuctionState, bidder_id: int, now: int) -> None:
    status = status_at(state, now)
    if status is Status.SCHEDULED or status is Status.CANCELLED:
        raise AuctionNotOpen("the auction is not open")
    if status is Status.CLOSED:
        raise AuctionClosed("the auction has ended")
    if bidder_id == state.config.seller_id:
        raise SellerCannotBid("the seller cannot bid on its own auction")


def _challenge(state: AuctionState, cause: Cause, is_max: bool, now: int) -> Decision:
    """A bid or max bid from anyone but the leader (CONTRACT §2 resolution)."""
    kind = BidKind.MAX if is_max else BidKind.BID
    bidder, value, seq = cause.bidder_id, cause.sent, state.seq + 1
    leader = state.leader_id
    if leader is None:
        price = _reserve_jump(state, state.config.starting_price, value) if is_max else value
        return Decision((BidPlaced(seq, now, kind, bidder, price, bidder, value, cause),))
    held = state.leader_max
    if value > held:
        price = _reserve_jump(state, min(value, held + increment(held)), value) if is_max else value
        record = BidPlaced(seq, now, kind, bidder, price, bidder, value, cause)
        return Decision((record,), (_outbid(leader, price),))
    proxy = min(held, value + increment(value))
    return Decision(
        (
            BidPlaced(seq, now, kind, bidder, value, leader, held, cause),
            BidPlaced(seq + 1, now, BidKind.PROXY, leader, proxy, leader, held, cause),
        ),
        (_outbid(bidder, proxy),),
    )


def _raise_own_max(state: AuctionState, cause: Cause, now: int) -> Decision:
    """The leader's new max must exceed its old one; it moves the price only to the reserve."""
    if cause.sent <= state.leader_max:
        raise MaxBelowCurrent(
            f"your max is already {state.leader_max}", currentMax=state.leader_max
        )
    reserve = state.config.reserve_price
    if reserve is not None and not reserve_met(state) and cause.sent >= reserve:
        bidder = cause.bidder_id
        record = BidPlaced(
            state.seq + 1, now, BidKind.MAX, bidder, reserve, bidder, cause.sent, cause
        )
        return Decision((record,))
    return Decision((MaxRaised(now, cause.bidder_id, cause.sent, cause),))


def _reserve_jump(state: AuctionState, price: int, max_amount: int) -> int:
    """A max at or above an unmet reserve lifts the price straight to the reserve."""
    reserve = state.config.reserve_price
    if reserve is not None and max_amount >= reserve:
        return max(price, reserve)
    return price


def _with_extension(state: AuctionState, decision: Decision, cause: Cause, now: int) -> Decision:
    """Soft close: one extension per accepted command that lands inside the window."""
    config = state.config
    window_open = state.ends_at - now < config.anti_snipe_ms
    allowed = config.max_extensions is None or state.extensions < config.max_extensions
    events = decision.events
    if window_open and allowed:
        seq = state.seq + sum(1 for e in events if isinstance(e, BidPlaced))
        events = (*events, Extended(seq + 1, now, now + config.anti_snipe_ms, cause))
    return Decision(events, decision.notices, cause)


def _buy_now(state: AuctionState, command: BuyNow, now: int) -> Decision:
    _require_biddable(state, command.bidder_id, now)
    price = state.config.buy_now_price
    if price is None or not buy_now_offered(state):
        raise BuyNowUnavailable("buy now is not available on this auction")
    buyer, seq = command.bidder_id, state.seq + 1
    cause = Cause(buyer, None, price)
    reserve = state.config.reserve_price
    met = reserve is None or price >= reserve
    events: tuple[Event, ...] = (
        BidPlaced(seq, now, BidKind.BUY_NOW, buyer, price, buyer, price, cause),
        Closed(seq + 1, now, buyer, price, met, cause),
    )
    notices: list[Notice] = []
    if state.leader_id is not None and state.leader_id != buyer:
        notices.append(_outbid(state.leader_id, price))
    notices.append(Won(buyer, price))
    return Decision(events, tuple(notices), cause)


def _cancel(state: AuctionState, now: int) -> Decision:
    status = status_at(state, now)
    if status is Status.CANCELLED:
        raise AuctionNotOpen("the auction is already cancelled")
    if status is Status.CLOSED:
        raise AuctionClosed("the auction has ended")
    return Decision((Cancelled(state.seq + 1, now),))


def _close_if_due(state: AuctionState, now: int) -> Decision:
    if state.ended is not None or now < state.ends_at:
        return Decision()
    met = reserve_met(state)
    winner = state.leader_id if met else None
    closed = Closed(state.seq + 1, now, winner, state.current_price, met)
    if winner is None or state.current_price is None:
        return Decision((closed,))
    return Decision((closed,), (Won(winner, state.current_price),))


def _outbid(user_id: int, price: int) -> Outbid:
    return Outbid(user_id, price, price + increment(price))
