"""Client messages of CONTRACT §3: one frame in, a validated, typed message out.

Pure: `decode` turns one frame into a typed client message or raises `InvalidMessage`, a
`bad_request` carrying the `ref` when one could be read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NoReturn

import msgpack

from bidserver.auction.money import parse_money
from bidserver.errors import BadRequest
from bidserver.wire.codec import (
    JSON_SUBPROTOCOL,
    MAX_FRAME_BYTES,
    MSGPACK_SUBPROTOCOL,
    Format,
    Ref,
)

MAX_REF_CHARS: Final = 128
MAX_REF_INT: Final = 2**53 - 1  # JavaScript's Number.MAX_SAFE_INTEGER
MAX_ID: Final = 2**63 - 1
MAX_TOKEN_CHARS: Final = 8 * 1024
_MAX_CONTAINER_LEN: Final = 1024

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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
    _refuse_unknown_fields(kind, fields, ref)
    try:
        return parser(fields, ref)
    except BadRequest as exc:
        raise InvalidMessage(exc.message, ref, **exc.details) from None


def _refuse_unknown_fields(kind: str, fields: dict[Any, Any], ref: Ref) -> None:
    """A misspelt field must never turn into a different command (CONTRACT conventions)."""
    known = FIELDS[kind]
    unknown = sorted(str(name) for name in fields if name not in known)
    if not unknown:
        return
    name = unknown[0][:40]
    name = name if _encodable(name) else ascii(name)  # JSON may smuggle in lone surrogates
    takes = ", ".join(sorted(known - _ENVELOPE))
    takes = f"{takes} and ref" if takes else "only ref"
    raise InvalidMessage(f"unknown field: {name} ({kind} takes {takes})", ref, field=name)


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


_ENVELOPE: Final = frozenset({"type", "ref"})

# The fields each client message may carry, besides `type` and `ref` (CONTRACT §3).
FIELDS: Final[dict[str, frozenset[str]]] = {
    kind: _ENVELOPE | frozenset(names)
    for kind, names in {
        "auth": ("token",),
        "subscribe": ("auctionId", "sinceSeq"),
        "unsubscribe": ("auctionId",),
        "bid": ("auctionId", "amount", "bidId"),
        "max_bid": ("auctionId", "maxAmount", "bidId"),
        "buy_now": ("auctionId",),
        "ping": (),
    }.items()
}

_PARSERS: Final[dict[str, Callable[[dict[Any, Any], Ref], ClientMessage]]] = {
    "auth": _parse_auth,
    "subscribe": _parse_subscribe,
    "unsubscribe": _parse_unsubscribe,
    "bid": _parse_bid,
    "max_bid": _parse_max_bid,
    "buy_now": _parse_buy_now,
    "ping": _parse_ping,
}
