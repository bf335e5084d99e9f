"""Server messages of CONTRACT §3 as plain dicts: replies, the snapshot, events, notices.

Built from core values; `bidserver.wire.codec` serialises them. REST reuses the shapes
(`bid_result_fields`, `snapshot_fields`) so both faces say the same thing.
"""

from __future__ import annotations

from typing import Final

from bidserver.auction.events import (
    BidPlaced,
    Cancelled,
    Closed,
    Extended,
    Notice,
    Outbid,
    PublicEvent,
)
from bidserver.auction.state import (
    AuctionState,
    BidReply,
    Snapshot,
    minimum_next_bid,
    reserve_met,
)
from bidserver.errors import BidserverError
from bidserver.timefmt import to_iso
from bidserver.wire.codec import Message, Ref

# --- server messages -----------------------------------------------------------------------


def _with_ref(message: Message, ref: Ref) -> Message:
    if ref is not None:
        message["ref"] = ref
    return message


def auth_ok(user_id: int, expires_at_ms: int, ref: Ref = None) -> Message:
    return _with_ref(
        {"type": "auth_ok", "userId": user_id, "expiresAt": to_iso(expires_at_ms)}, ref
    )


def snapshot_fields(snapshot: Snapshot) -> Message:
    """The snapshot object of CONTRACT §3 (also part of the REST auction view)."""
    return {
        "auctionId": snapshot.auction_id,
        "seq": snapshot.seq,
        "status": snapshot.status.value,
        "currentPrice": snapshot.current_price,
        "bidCount": snapshot.bid_count,
        "leaderAlias": snapshot.leader_alias,
        "minimumNextBid": snapshot.minimum_next_bid,
        "reserveMet": snapshot.reserve_met,
        "buyNowAvailable": snapshot.buy_now_available,
        "startsAt": to_iso(snapshot.starts_at),
        "endsAt": to_iso(snapshot.ends_at),
    }


def subscribed(snapshot: Snapshot, recovered: bool, ref: Ref = None) -> Message:
    message = {
        "type": "subscribed",
        "auctionId": snapshot.auction_id,
        "snapshot": snapshot_fields(snapshot),
        "recovered": recovered,
    }
    return _with_ref(message, ref)


def unsubscribed(auction_id: int, ref: Ref = None) -> Message:
    return _with_ref({"type": "unsubscribed", "auctionId": auction_id}, ref)


def bid_result_fields(auction_id: int, reply: BidReply) -> Message:
    """The `bid_result` fields without `type` (the REST bid endpoints answer these)."""
    return {
        "auctionId": auction_id,
        "accepted": True,
        "amount": reply.amount,
        "leading": reply.leading,
        "currentPrice": reply.current_price,
        "bidCount": reply.bid_count,
        "bidderAlias": reply.bidder_alias,
        "seq": reply.seq,
        "endsAt": to_iso(reply.ends_at),
    }


def bid_result(auction_id: int, reply: BidReply, ref: Ref = None) -> Message:
    return _with_ref({"type": "bid_result", **bid_result_fields(auction_id, reply)}, ref)


def pong(server_time_ms: int, ref: Ref = None) -> Message:
    return _with_ref({"type": "pong", "serverTime": to_iso(server_time_ms)}, ref)


_RESERVED: Final = frozenset({"type", "ref", "code", "message"})


def error(err: BidserverError, ref: Ref = None) -> Message:
    """`{"type":"error","ref","code","message"}` plus the error's details (e.g. minimumNextBid)."""
    message: Message = {"type": "error"}
    if ref is not None:
        message["ref"] = ref
    message["code"] = err.code
    message["message"] = err.message
    for key, value in err.details.items():
        if key not in _RESERVED:
            message[key] = value
    return message


def outbid(auction_id: int, current_price: int, minimum_next_bid: int) -> Message:
    return {
        "type": "outbid",
        "auctionId": auction_id,
        "currentPrice": current_price,
        "minimumNextBid": minimum_next_bid,
    }


def won(auction_id: int, final_price: int) -> Message:
    return {"type": "won", "auctionId": auction_id, "finalPrice": final_price}


def notice_message(auction_id: int, notice: Notice) -> Message:
    """The private `outbid` or `won` notification for a core `Notice`."""
    if isinstance(notice, Outbid):
        return outbid(auction_id, notice.current_price, notice.minimum_next_bid)
    return won(auction_id, notice.final_price)


def event_message(state: AuctionState, event: PublicEvent) -> Message:
    """A public event as broadcast; call it right after `evolve(state, event)`."""
    auction_id = state.config.auction_id
    if isinstance(event, BidPlaced):
        return _bid_event(state, event)
    if isinstance(event, Extended):
        return {
            "type": "extended",
            "auctionId": auction_id,
            "seq": event.seq,
            "endsAt": to_iso(event.ends_at),
        }
    if isinstance(event, Closed):
        return _closed_event(state, event)
    if isinstance(event, Cancelled):
        return {"type": "cancelled", "auctionId": auction_id, "seq": event.seq}
    raise TypeError(f"{type(event).__name__} is not a public event")


def _bid_event(state: AuctionState, event: BidPlaced) -> Message:
    """Record fields from the event; price, leader and the rest as the state stands after it."""
    leader = state.leader_id
    return {
        "type": "bid",
        "auctionId": state.config.auction_id,
        "seq": event.seq,
        "kind": event.kind.value,
        "amount": event.amount,
        "bidderAlias": state.aliases[event.bidder_id],
        "currentPrice": state.current_price,
        "leaderAlias": None if leader is None else state.aliases[leader],
        "bidCount": state.bid_count,
        "minimumNextBid": minimum_next_bid(state),
        "reserveMet": reserve_met(state),
        "endsAt": to_iso(state.ends_at),
        "at": to_iso(event.at),
    }


def _closed_event(state: AuctionState, event: Closed) -> Message:
    winner = event.winner_id
    return {
        "type": "closed",
        "auctionId": state.config.auction_id,
        "seq": event.seq,
        "status": "closed",
        "winnerAlias": None if winner is None else state.aliases[winner],
        "finalPrice": event.final_price,
        "reserveMet": event.reserve_met,
    }
