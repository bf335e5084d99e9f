"""The WebSocket wire format of CONTRACT §3: client messages in, server messages out.

Pure: `decode` turns one frame into a validated, typed client message (or raises
`InvalidMessage`, a `bad_request` carrying the `ref` when one could be read); the builders
turn core values into the plain dicts the contract names, and `encode` serialises a dict for
one subprotocol. JSON and msgpack carry the same maps; msgpack frames are binary, JSON frames
are text, and a frame of the other kind is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Final, NoReturn

import msgpack
import orjson

from bidserver.auction.events import (
    BidPlaced,
    Cancelled,
    Closed,
    Extended,
    Notice,
    Outbid,
    PublicEvent,
)
from bidserver.auction.money import parse_money
from bidserver.auction.state import (
    AuctionState,
    BidReply,
    Snapshot,
    minimum_next_bid,
    reserve_met,
)
from bidserver.errors import BadRequest, BidserverError
from bidserver.timefmt import to_iso

JSON_SUBPROTOCOL: Final = "bidserver.v1.json"
MSGPACK_SUBPROTOCOL: Final = "bidserver.v1.msgpack"
SUBPROTOCOLS: Final = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)

MAX_FRAME_BYTES: Final = 64 * 1024
MAX_REF_CHARS: Final = 128
MAX_REF_INT: Final = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
MAX_ID: Final = 2**63 - 1
MAX_TOKEN_CHARS: Final = 8 * 1024
_MAX_CONTAINER_LEN: Final = 1024

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class Format(Enum):
    """A connection's wire format; the value is its subprotocol name."""

    JSON = JSON_SUBPROTOCOL
    MSGPACK = MSGPACK_SUBPROTOCOL


def format_for(subprotocol: str | None) -> Format:
    """The format of a negotiated subprotocol; none negotiated means JSON (CONTRACT §3)."""
    return Format.JSON if subprotocol is None else Format(subprotocol)


Ref = str | int | None
Message = dict[str, Any]


class InvalidMessage(BadRequest):
    """A malformed client message; answered with `bad_request`, the socket stays open."""

    def __init__(self, message: str, ref: Ref = None, **details: Any) -> None:
        super().__init__(message, **details)
        self.ref = ref


# --- client messages -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AuthMsg:
    token: str
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class SubscribeMsg:
    auction_id: int
    since_seq: int | None = None
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class UnsubscribeMsg:
    auction_id: int
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class BidMsg:
    auction_id: int
    amount: int
    bid_id: str | None = None
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class MaxBidMsg:
    auction_id: int
    max_amount: int
    bid_id: str | None = None
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class BuyNowMsg:
    auction_id: int
    ref: Ref = None


@dataclass(frozen=True, slots=True)
class PingMsg:
    ref: Ref = None


ClientMessage = AuthMsg | SubscribeMsg | UnsubscribeMsg | BidMsg | MaxBidMsg | BuyNowMsg | PingMsg


# --- decoding ------------------------------------------------------------------------------


def decode(frame: str | bytes, fmt: Format) -> ClientMessage:
    """Parse and validate one frame; raise `InvalidMessage` naming what is wrong."""
    fields = _load(frame, fmt)
    ref = _ref(fields)
    kind = fields.get("type")
    if not isinstance(kind, str):
        raise InvalidMessage("type is required and must be a string", ref, field="type")
    parser = _PARSERS.get(kind)
    if parser is None:
        raise InvalidMessage(f"unknown message type {kind[:40]!a}", ref, field="type")
    try:
        return parser(fields, ref)
    except BadRequest as exc:
        raise InvalidMessage(exc.message, ref, **exc.details) from None


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


_JSON_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def _load(frame: str | bytes, fmt: Format) -> dict[Any, Any]:
    if len(frame) > MAX_FRAME_BYTES:
        raise InvalidMessage("the frame is over 64 KiB")
    loaded = _load_json(frame) if fmt is Format.JSON else _load_msgpack(frame)
    if not isinstance(loaded, dict):
        raise InvalidMessage("a message must be an object with a type")
    return loaded


def _load_json(frame: str | bytes) -> object:
    if not isinstance(frame, str):
        raise InvalidMessage(f"binary frame on {JSON_SUBPROTOCOL}: send JSON as a text frame")
    try:
        return _JSON_DECODER.decode(frame)
    except (ValueError, RecursionError):  # JSONDecodeError, NaN/Infinity, >4300 digits
        raise InvalidMessage("the frame is not valid JSON") from None


def _load_msgpack(frame: str | bytes) -> object:
    if not isinstance(frame, bytes | bytearray | memoryview):
        raise InvalidMessage(f"text frame on {MSGPACK_SUBPROTOCOL}: send msgpack as binary")
    try:
        return msgpack.unpackb(
            frame,
            raw=False,
            strict_map_key=True,
            use_list=True,
            max_str_len=MAX_FRAME_BYTES,
            max_bin_len=MAX_FRAME_BYTES,
            max_ext_len=MAX_FRAME_BYTES,
            max_array_len=_MAX_CONTAINER_LEN,
            max_map_len=_MAX_CONTAINER_LEN,
        )
    except (ValueError, TypeError, RecursionError, msgpack.UnpackException):
        # ExtraData, FormatError, StackError, bad UTF-8, unhashable or non-string keys
        raise InvalidMessage("the frame is not valid msgpack") from None


def _ref(fields: dict[Any, Any]) -> Ref:
    ref = fields.get("ref")
    if ref is None:
        return None
    if isinstance(ref, str):
        if len(ref) <= MAX_REF_CHARS and _encodable(ref):
            return ref
    elif type(ref) is int and -MAX_REF_INT <= ref <= MAX_REF_INT:
        return ref
    raise InvalidMessage(
        "ref must be a string of at most 128 characters or an integer within ±(2^53-1)",
        field="ref",
    )


def _encodable(text: str) -> bool:
    """JSON `\\ud800` escapes decode to lone surrogates that cannot be sent back as UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _auction_id(fields: dict[Any, Any]) -> int:
    value = fields.get("auctionId")
    if type(value) is not int or not 0 < value <= MAX_ID:
        raise BadRequest("auctionId must be a positive integer", field="auctionId")
    return value


def _money(fields: dict[Any, Any], name: str) -> int:
    if fields.get(name) is None:
        raise BadRequest(f"{name} is required", field=name)
    return parse_money(fields[name], name)


def _bid_id(fields: dict[Any, Any]) -> str | None:
    value = fields.get("bidId")
    if value is None:
        return None
    if not isinstance(value, str) or _UUID.fullmatch(value) is None:
        raise BadRequest(
            "bidId must be a UUID such as 0f8fad5b-d9cb-469f-a165-70867728950e", field="bidId"
        )
    return value.lower()


def _since_seq(fields: dict[Any, Any]) -> int | None:
    value = fields.get("sinceSeq")
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_ID:
        raise BadRequest("sinceSeq must be a non-negative integer", field="sinceSeq")
    return value


def _token(fields: dict[Any, Any]) -> str:
    value = fields.get("token")
    if not isinstance(value, str) or not 0 < len(value) <= MAX_TOKEN_CHARS:
        raise BadRequest("token must be a non-empty string of at most 8 KiB", field="token")
    return value


def _parse_auth(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return AuthMsg(token=_token(fields), ref=ref)


def _parse_subscribe(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return SubscribeMsg(auction_id=_auction_id(fields), since_seq=_since_seq(fields), ref=ref)


def _parse_unsubscribe(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return UnsubscribeMsg(auction_id=_auction_id(fields), ref=ref)


def _parse_bid(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return BidMsg(
        auction_id=_auction_id(fields),
        amount=_money(fields, "amount"),
        bid_id=_bid_id(fields),
        ref=ref,
    )


def _parse_max_bid(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return MaxBidMsg(
        auction_id=_auction_id(fields),
        max_amount=_money(fields, "maxAmount"),
        bid_id=_bid_id(fields),
        ref=ref,
    )


def _parse_buy_now(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return BuyNowMsg(auction_id=_auction_id(fields), ref=ref)


def _parse_ping(fields: dict[Any, Any], ref: Ref) -> ClientMessage:
    return PingMsg(ref=ref)


_PARSERS: Final[dict[str, Callable[[dict[Any, Any], Ref], ClientMessage]]] = {
    "auth": _parse_auth,
    "subscribe": _parse_subscribe,
    "unsubscribe": _parse_unsubscribe,
    "bid": _parse_bid,
    "max_bid": _parse_max_bid,
    "buy_now": _parse_buy_now,
    "ping": _parse_ping,
}


# --- encoding ------------------------------------------------------------------------------


def encode(message: Message, fmt: Format) -> bytes:
    """One server message as a text frame's UTF-8 JSON or a binary frame's msgpack.

    orjson: compact, UTF-8, no NaN, 64-bit integers only; our messages hold ints far inside
    that, and echoed refs are checked on the way in (`_ref`).
    """
    if fmt is Format.JSON:
        return orjson.dumps(message)
    return msgpack.packb(message, use_bin_type=True)


def encode_json(message: Message) -> bytes:
    return orjson.dumps(message)


def encode_msgpack(message: Message) -> bytes:
    return msgpack.packb(message, use_bin_type=True)


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
