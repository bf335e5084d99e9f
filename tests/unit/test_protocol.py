"""CONTRACT §3: the WebSocket wire format, both subprotocols, every malformed input.

Expected messages are written out by hand from the contract's tables; the auction scenarios
for the public events are worked out from §2 in the comments beside them.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidserver.auction import (
    AuctionState,
    BidReply,
    Command,
    MaxRaised,
    Outbid,
    PlaceBid,
    PlaceMaxBid,
    Snapshot,
    Status,
    Won,
    decide,
    evolve,
)
from bidserver.auction.commands import BuyNow, CancelAuction, CloseIfDue
from bidserver.auction.events import Cause
from bidserver.errors import BadRequest, BidTooLow, Unauthenticated, Unavailable
from bidserver.timefmt import to_iso
from bidserver.wire import (
    JSON_SUBPROTOCOL,
    MSGPACK_SUBPROTOCOL,
    AuthMsg,
    BidMsg,
    BuyNowMsg,
    ClientMessage,
    Format,
    InvalidMessage,
    MaxBidMsg,
    Message,
    PingMsg,
    SubscribeMsg,
    UnsubscribeMsg,
    auth_ok,
    bid_result,
    bid_result_fields,
    decode,
    encode,
    encode_json,
    encode_msgpack,
    error,
    event_message,
    format_for,
    notice_message,
    outbid,
    pong,
    snapshot_fields,
    subscribed,
    unsubscribed,
    won,
)
from tests.unit.factories import ALICE, BOB, CAROL, DURING, ENDS, make_auction

FORMATS = [Format.JSON, Format.MSGPACK]
CLIENT_TYPES = (AuthMsg, SubscribeMsg, UnsubscribeMsg, BidMsg, MaxBidMsg, BuyNowMsg, PingMsg)
UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
NOV_28 = 1_795_860_000_000  # 2026-11-28T10:00:00.000Z
NOV_28_ISO = "2026-11-28T10:00:00.000Z"
CAMEL = re.compile(r"[a-z][a-zA-Z]*")


def frame(fields: object, fmt: Format) -> str | bytes:
    if fmt is Format.JSON:
        return json.dumps(fields)
    packed: bytes = msgpack.packb(fields, use_bin_type=True)
    return packed


# --- subprotocols ---------------------------------------------------------------------------------


def test_subprotocol_names() -> None:
    assert JSON_SUBPROTOCOL == "bidserver.v1.json"
    assert MSGPACK_SUBPROTOCOL == "bidserver.v1.msgpack"
    assert Format.JSON.value == JSON_SUBPROTOCOL
    assert Format.MSGPACK.value == MSGPACK_SUBPROTOCOL


def test_json_is_the_default_subprotocol() -> None:
    assert format_for(None) is Format.JSON
    assert format_for(JSON_SUBPROTOCOL) is Format.JSON
    assert format_for(MSGPACK_SUBPROTOCOL) is Format.MSGPACK
    with pytest.raises(ValueError, match=re.escape("bidserver.v2.json")):
        format_for("bidserver.v2.json")


# --- decoding valid messages ----------------------------------------------------------------------

VALID: list[tuple[dict[str, Any], ClientMessage]] = [
    ({"type": "auth", "token": "abc.def.ghi"}, AuthMsg("abc.def.ghi")),
    ({"type": "auth", "token": "t", "ref": 1}, AuthMsg("t", ref=1)),
    ({"type": "auth", "token": "x" * 8192}, AuthMsg("x" * 8192)),
    ({"type": "subscribe", "auctionId": 7}, SubscribeMsg(7)),
    ({"type": "subscribe", "auctionId": 7, "sinceSeq": 0}, SubscribeMsg(7, since_seq=0)),
    (
        {"type": "subscribe", "auctionId": 7, "sinceSeq": 12, "ref": "s1"},
        SubscribeMsg(7, since_seq=12, ref="s1"),
    ),
    ({"type": "subscribe", "auctionId": 7, "sinceSeq": None}, SubscribeMsg(7)),
    ({"type": "subscribe", "auctionId": 2**63 - 1}, SubscribeMsg(2**63 - 1)),
    ({"type": "unsubscribe", "auctionId": 7, "ref": 9}, UnsubscribeMsg(7, ref=9)),
    ({"type": "bid", "auctionId": 7, "amount": 25_000}, BidMsg(7, 25_000)),
    ({"type": "bid", "auctionId": 7, "amount": 1}, BidMsg(7, 1)),
    ({"type": "bid", "auctionId": 7, "amount": 10**12}, BidMsg(7, 10**12)),
    (
        {"type": "bid", "auctionId": 7, "amount": 25_000, "bidId": UUID, "ref": "b-1"},
        BidMsg(7, 25_000, bid_id=UUID, ref="b-1"),
    ),
    (
        {"type": "bid", "auctionId": 7, "amount": 25_000, "bidId": UUID.upper()},
        BidMsg(7, 25_000, bid_id=UUID),
    ),
    ({"type": "bid", "auctionId": 7, "amount": 5, "bidId": None}, BidMsg(7, 5)),
    (
        {
            "type": "bid",
            "auctionId": 7,
            "amount": 5,
            "bidId": "00000000-0000-0000-0000-000000000000",
        },
        BidMsg(7, 5, bid_id="00000000-0000-0000-0000-000000000000"),
    ),
    (
        # a version 1 and a version 7 UUID: any version is accepted
        {
            "type": "bid",
            "auctionId": 7,
            "amount": 5,
            "bidId": "C232AB00-9414-11EC-B3C8-9E6BDECED846",
        },
        BidMsg(7, 5, bid_id="c232ab00-9414-11ec-b3c8-9e6bdeced846"),
    ),
    (
        {"type": "max_bid", "auctionId": 7, "maxAmount": 30_000},
        MaxBidMsg(7, 30_000),
    ),
    (
        {
            "type": "max_bid",
            "auctionId": 7,
            "maxAmount": 30_000,
            "bidId": "01890a5d-ac96-774b-bcce-b302099a8057",
            "ref": 0,
        },
        MaxBidMsg(7, 30_000, bid_id="01890a5d-ac96-774b-bcce-b302099a8057", ref=0),
    ),
    ({"type": "buy_now", "auctionId": 7}, BuyNowMsg(7)),
    ({"type": "buy_now", "auctionId": 7, "ref": "bn"}, BuyNowMsg(7, ref="bn")),
    ({"type": "ping"}, PingMsg()),
    ({"type": "ping", "ref": None}, PingMsg()),
    ({"type": "ping", "ref": ""}, PingMsg(ref="")),
    ({"type": "ping", "ref": "x" * 128}, PingMsg(ref="x" * 128)),
    ({"type": "ping", "ref": "caf\u00e9 \u2713"}, PingMsg(ref="caf\u00e9 \u2713")),
    ({"type": "ping", "ref": -5}, PingMsg(ref=-5)),
    ({"type": "ping", "ref": 2**53 - 1}, PingMsg(ref=2**53 - 1)),
    ({"type": "ping", "ref": -(2**53 - 1)}, PingMsg(ref=-(2**53 - 1))),
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize(("fields", "expected"), VALID, ids=lambda v: repr(v)[:60])
def test_decode_valid(fields: dict[str, Any], expected: ClientMessage, fmt: Format) -> None:
    assert decode(frame(fields, fmt), fmt) == expected


def test_decode_accepts_bytearray_and_memoryview_for_msgpack() -> None:
    packed = msgpack.packb({"type": "ping", "ref": 1})
    assert decode(bytearray(packed), Format.MSGPACK) == PingMsg(ref=1)  # type: ignore[arg-type]
    assert decode(memoryview(packed), Format.MSGPACK) == PingMsg(ref=1)  # type: ignore[arg-type]


def test_client_messages_are_frozen_and_slotted() -> None:
    message = BidMsg(7, 100)
    with pytest.raises(AttributeError):
        message.amount = 5  # type: ignore[misc]
    assert not hasattr(message, "__dict__")


# --- decoding malformed messages: field errors, both formats --------------------------------------

MONEY_REFUSED: list[object] = [
    12.5,
    1e3,
    25_000.0,
    "25000",
    True,
    False,
    0,
    -1,
    -25_000,
    10**12 + 1,
    None,
    [100],
    {"v": 100},
]

# (fields, the field named in the error, the ref the error carries)
INVALID: list[tuple[dict[str, Any], str, object]] = [
    ({}, "type", None),
    ({"ref": 3}, "type", 3),
    ({"type": 1}, "type", None),
    ({"type": None, "ref": "r"}, "type", "r"),
    ({"type": ["bid"]}, "type", None),
    ({"type": "bogus", "ref": "r"}, "type", "r"),
    ({"type": "BID", "auctionId": 7, "amount": 100}, "type", None),
    ({"type": ""}, "type", None),
    # ref of the wrong type or size: the error cannot carry it
    ({"type": "ping", "ref": True}, "ref", None),
    ({"type": "ping", "ref": False}, "ref", None),
    ({"type": "ping", "ref": 1.5}, "ref", None),
    ({"type": "ping", "ref": 1.0}, "ref", None),
    ({"type": "ping", "ref": [1]}, "ref", None),
    ({"type": "ping", "ref": {"a": 1}}, "ref", None),
    ({"type": "ping", "ref": "x" * 129}, "ref", None),
    ({"type": "ping", "ref": 2**53}, "ref", None),
    ({"type": "ping", "ref": -(2**53)}, "ref", None),
    ({"type": "bogus", "ref": True}, "ref", None),
    # auctionId
    ({"type": "bid", "auctionId": True, "amount": 100, "ref": "r"}, "auctionId", "r"),
    ({"type": "bid", "auctionId": False, "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": "7", "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": 7.0, "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": 0, "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": -7, "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": 2**63, "amount": 100}, "auctionId", None),
    ({"type": "bid", "auctionId": None, "amount": 100}, "auctionId", None),
    ({"type": "bid", "amount": 100, "ref": 5}, "auctionId", 5),
    ({"type": "subscribe"}, "auctionId", None),
    ({"type": "subscribe", "auctionId": [7]}, "auctionId", None),
    ({"type": "unsubscribe", "auctionId": "all"}, "auctionId", None),
    ({"type": "max_bid", "maxAmount": 100}, "auctionId", None),
    ({"type": "buy_now", "ref": "b"}, "auctionId", "b"),
    # amount / maxAmount
    ({"type": "bid", "auctionId": 7, "ref": "r"}, "amount", "r"),
    *[({"type": "bid", "auctionId": 7, "amount": v, "ref": 1}, "amount", 1) for v in MONEY_REFUSED],
    ({"type": "bid", "auctionId": 7, "maxAmount": 100}, "maxAmount", None),
    ({"type": "max_bid", "auctionId": 7}, "maxAmount", None),
    ({"type": "max_bid", "auctionId": 7, "amount": 100}, "amount", None),
    # the server refuses fields it does not know (CONTRACT conventions), naming the first
    ({"type": "ping", "v": 2, "extra": {"nested": [1, 2.5, None]}}, "extra", None),
    ({"type": "bid", "auctionId": 7, "amount": 100, "maxAmount": "junk"}, "maxAmount", None),
    ({"type": "buy_now", "auctionId": 7, "amount": 12.5, "ref": 4}, "amount", 4),
    *[
        ({"type": "max_bid", "auctionId": 7, "maxAmount": v}, "maxAmount", None)
        for v in MONEY_REFUSED
    ],
    # bidId
    *[
        ({"type": "bid", "auctionId": 7, "amount": 100, "bidId": v, "ref": "r"}, "bidId", "r")
        for v in [
            "not-a-uuid",
            "",
            123,
            True,
            ["x"],
            UUID.replace("-", ""),
            "{" + UUID + "}",
            "urn:uuid:" + UUID,
            UUID + "\n",
            " " + UUID,
            UUID[:-1],
            UUID + "0",
            UUID[:-1] + "g",
            UUID.replace("-", "_"),
        ]
    ],
    ({"type": "max_bid", "auctionId": 7, "maxAmount": 100, "bidId": 1}, "bidId", None),
    # sinceSeq
    *[
        ({"type": "subscribe", "auctionId": 7, "sinceSeq": v}, "sinceSeq", None)
        for v in [-1, "3", 1.0, True, False, [1]]
    ],
    # token
    *[
        ({"type": "auth", "token": v, "ref": 2}, "token", 2)
        for v in ["", 1, None, ["t"], "x" * 8193]
    ],
    ({"type": "auth"}, "token", None),
]


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
@pytest.mark.parametrize(("fields", "field", "ref"), INVALID, ids=lambda v: repr(v)[:60])
def test_decode_refuses(fields: dict[str, Any], field: str, ref: object, fmt: Format) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(frame(fields, fmt), fmt)
    err = caught.value
    assert isinstance(err, BadRequest)
    assert err.code == "bad_request"
    assert err.details.get("field") == field
    assert field in err.message
    assert err.ref == ref
    assert type(err.ref) is type(ref)


# --- decoding malformed frames: format-specific ---------------------------------------------------

BAD_JSON_FRAMES: list[str] = [
    "",
    " ",
    "not json",
    "{",
    '{"type":"ping"',
    '{"type":"ping",}',
    "{'type':'ping'}",
    '{"type":"ping"} trailing',
    '{"type":"ping"}{"type":"ping"}',
    "[1, 2]",
    '[{"type":"ping"}]',
    '"ping"',
    "42",
    "null",
    "true",
    '{"type":"bid","auctionId":1,"amount":NaN}',
    '{"type":"bid","auctionId":1,"amount":Infinity}',
    '{"type":"bid","auctionId":1,"amount":-Infinity}',
    '{"type":"ping","ref":NaN}',
    '{"type":"bid","auctionId":1,"amount":' + "9" * 5000 + "}",
    "[" * 50_000,
    '{"a":' * 20_000,
    '{"type":"ping","pad":"' + "x" * 70_000 + '"}',
    "\ufeff" + '{"type":"ping"}',
]


@pytest.mark.parametrize("text", BAD_JSON_FRAMES, ids=lambda t: repr(t[:40]))
def test_decode_refuses_bad_json(text: str) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(text, Format.JSON)
    assert caught.value.code == "bad_request"
    assert caught.value.ref is None


def test_json_lone_surrogate_ref_is_refused() -> None:
    # "\ud800" is valid JSON but cannot be echoed back in a UTF-8 text frame.
    with pytest.raises(InvalidMessage) as caught:
        decode('{"type":"ping","ref":"\\ud800"}', Format.JSON)
    assert caught.value.details == {"field": "ref"}


def test_json_escaped_ref_is_unescaped() -> None:
    assert decode('{"type":"ping","ref":"\\u00e9\\n"}', Format.JSON) == PingMsg(ref="\u00e9\n")


def test_large_json_integers_are_ints_and_refused_by_range() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode('{"type":"bid","auctionId":7,"amount":' + "9" * 30 + "}", Format.JSON)
    assert caught.value.details == {"field": "amount"}
    with pytest.raises(InvalidMessage) as caught:
        decode('{"type":"bid","auctionId":' + "9" * 30 + ',"amount":5}', Format.JSON)
    assert caught.value.details == {"field": "auctionId"}


@pytest.mark.parametrize("text", ["25000.0", "1e3", "1E3", "2.5e4", "-0.0", "1.0e0"])
def test_json_floats_are_refused_even_when_integral(text: str) -> None:
    with pytest.raises(InvalidMessage, match="amount"):
        decode('{"type":"bid","auctionId":7,"amount":' + text + "}", Format.JSON)


def test_binary_frame_on_json_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="binary frame"):
        decode(b'{"type":"ping"}', Format.JSON)
    with pytest.raises(InvalidMessage, match="binary frame"):
        decode(msgpack.packb({"type": "ping"}), Format.JSON)


def test_text_frame_on_msgpack_is_refused() -> None:
    with pytest.raises(InvalidMessage, match="text frame"):
        decode('{"type":"ping"}', Format.MSGPACK)


BAD_MSGPACK_FRAMES: list[bytes] = [
    b"",
    b"\xc1",  # never-used byte
    b"\x81",  # a map with a missing entry
    b"\x81\xa4type",
    msgpack.packb({"type": "ping"})[:-1],
    msgpack.packb({"type": "ping"}) + b"\x00",  # extra data
    msgpack.packb([1, 2]),
    msgpack.packb([{"type": "ping"}]),
    msgpack.packb("ping"),
    msgpack.packb(42),
    msgpack.packb(None),
    msgpack.packb({1: "x", "type": "ping"}),  # non-string key
    msgpack.packb({(1, 2): "x"}),
    msgpack.packb({b"type": b"ping"}, use_bin_type=True),  # bytes key: no "type"
    msgpack.packb({"type": b"ping"}, use_bin_type=True),  # bin, not str
    b"\x81\xa4type\xa2\xff\xfe",  # invalid UTF-8
    b"\x91" * 100_000,  # nesting bomb
    b"\xdd\xff\xff\xff\xff",  # array claiming 4G elements
    b"\xdf\xff\xff\xff\xff",  # map claiming 4G entries
    b"\xdb\xff\xff\xff\xff",  # str claiming 4 GiB
    msgpack.packb({"type": "ping", "pad": "x" * 70_000}),
    msgpack.packb({"type": "ping", "ref": b"bin"}, use_bin_type=True),
    msgpack.packb({"type": "ping", "ref": msgpack.ExtType(5, b"x")}),
    msgpack.packb({"type": "bid", "auctionId": 7, "amount": float("nan")}),
    msgpack.packb({"type": "bid", "auctionId": 7, "amount": b"\x61\xa8"}, use_bin_type=True),
]


@pytest.mark.parametrize("data", BAD_MSGPACK_FRAMES, ids=lambda b: repr(b[:20]))
def test_decode_refuses_bad_msgpack(data: bytes) -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode(data, Format.MSGPACK)
    assert caught.value.code == "bad_request"


def test_msgpack_float32_money_is_refused() -> None:
    data = msgpack.packb({"type": "bid", "auctionId": 7, "amount": 25_000.0}, use_single_float=True)
    with pytest.raises(InvalidMessage, match="amount"):
        decode(data, Format.MSGPACK)


def test_invalid_message_is_a_bad_request_with_ref() -> None:
    err = InvalidMessage("amount is required", "r1", field="amount")
    assert isinstance(err, BadRequest)
    assert (err.code, err.message, err.ref, err.details) == (
        "bad_request",
        "amount is required",
        "r1",
        {"field": "amount"},
    )
    assert InvalidMessage("x").ref is None


# --- fuzzing: anything either decodes or is a bad_request -----------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KNOWN_FIELDS = ["type", "ref", "auctionId", "amount", "maxAmount", "bidId", "sinceSeq", "token"]
message_like = st.dictionaries(
    st.sampled_from(KNOWN_FIELDS) | st.text(max_size=8),
    json_values
    | st.sampled_from(["auth", "subscribe", "unsubscribe", "bid", "max_bid", "buy_now", "ping"])
    | st.sampled_from([UUID, 1, 7, 25_000]),
    max_size=6,
)


def decodes_or_refuses(data: str | bytes, fmt: Format) -> None:
    refusal: InvalidMessage | None = None
    try:
        message: object = decode(data, fmt)
    except InvalidMessage as caught:
        refusal, message = caught, None
    if refusal is not None:
        assert refusal.code == "bad_request"
        assert refusal.ref is None or type(refusal.ref) in (str, int)
    else:
        assert isinstance(message, CLIENT_TYPES)


@given(st.binary(max_size=300))
def test_fuzz_msgpack_bytes(data: bytes) -> None:
    decodes_or_refuses(data, Format.MSGPACK)


@given(st.text(max_size=300))
def test_fuzz_json_text(data: str) -> None:
    decodes_or_refuses(data, Format.JSON)


@given(message_like)
def test_fuzz_message_like_json(fields: dict[str, Any]) -> None:
    decodes_or_refuses(json.dumps(fields), Format.JSON)


@given(message_like)
def test_fuzz_message_like_msgpack(fields: dict[str, Any]) -> None:
    try:
        data = msgpack.packb(fields)
    except (OverflowError, ValueError):
        return  # ints beyond 64 bits have no msgpack form
    decodes_or_refuses(data, Format.MSGPACK)


# --- round trips: a client encoding a valid message gets it back ----------------------------------


def wire(message: ClientMessage) -> dict[str, Any]:
    """How a client would write `message`, spelled out per type."""
    fields: dict[str, Any]
    if isinstance(message, AuthMsg):
        fields = {"type": "auth", "token": message.token}
    elif isinstance(message, SubscribeMsg):
        fields = {"type": "subscribe", "auctionId": message.auction_id}
        if message.since_seq is not None:
            fields["sinceSeq"] = message.since_seq
    elif isinstance(message, UnsubscribeMsg):
        fields = {"type": "unsubscribe", "auctionId": message.auction_id}
    elif isinstance(message, BidMsg):
        fields = {"type": "bid", "auctionId": message.auction_id, "amount": message.amount}
        fields["bidId"] = message.bid_id
    elif isinstance(message, MaxBidMsg):
        fields = {"type": "max_bid", "auctionId": message.auction_id}
        fields.update(maxAmount=message.max_amount, bidId=message.bid_id)
    elif isinstance(message, BuyNowMsg):
        fields = {"type": "buy_now", "auctionId": message.auction_id}
    else:
        fields = {"type": "ping"}
    if message.ref is not None:
        fields["ref"] = message.ref
    return fields


refs = st.none() | st.integers(-(2**53 - 1), 2**53 - 1) | st.text(max_size=128)
ids = st.integers(1, 2**63 - 1)
money = st.integers(1, 10**12)
bid_ids = st.none() | st.uuids().map(str)
client_messages = st.one_of(
    st.builds(AuthMsg, st.text(min_size=1, max_size=100), refs),
    st.builds(SubscribeMsg, ids, st.none() | st.integers(0, 2**63 - 1), refs),
    st.builds(UnsubscribeMsg, ids, refs),
    st.builds(BidMsg, ids, money, bid_ids, refs),
    st.builds(MaxBidMsg, ids, money, bid_ids, refs),
    st.builds(BuyNowMsg, ids, refs),
    st.builds(PingMsg, refs),
)


@given(client_messages)
def test_round_trip_json(message: ClientMessage) -> None:
    assert decode(encode_json(wire(message)).decode(), Format.JSON) == message


@given(client_messages)
def test_round_trip_msgpack(message: ClientMessage) -> None:
    assert decode(encode_msgpack(wire(message)), Format.MSGPACK) == message


# --- encoding -------------------------------------------------------------------------------------


def test_json_encoding_is_compact_text_and_keeps_unicode() -> None:
    encoded = encode({"type": "pong", "serverTime": NOV_28_ISO, "ref": "caf\u00e9"}, Format.JSON)
    expected = '{"type":"pong","serverTime":"2026-11-28T10:00:00.000Z","ref":"caf\u00e9"}'
    assert encoded == expected.encode()
    assert encode_json({"a": [1, None, True]}) == b'{"a":[1,null,true]}'


@pytest.mark.parametrize("value", [2**64, Decimal(1), {1, 2}])
def test_json_encoding_refuses_what_json_cannot_carry_exactly(value: object) -> None:
    """A value without an exact JSON form fails loudly instead of going out rounded."""
    with pytest.raises(TypeError):
        encode({"x": value}, Format.JSON)


def test_msgpack_encoding_is_binary_with_str_as_str() -> None:
    message = {"type": "pong", "serverTime": NOV_28_ISO, "ref": 3}
    encoded = encode(message, Format.MSGPACK)
    assert isinstance(encoded, bytes)
    assert encoded == encode_msgpack(message)
    assert msgpack.unpackb(encoded, raw=False) == message
    # fixmap of 3, then "type" as a fixstr (0xa4), not as bin (0xc4)
    assert encoded[:2] == b"\x83\xa4"


# --- server messages: exact field sets ------------------------------------------------------------

SNAPSHOT = Snapshot(
    auction_id=7,
    seq=3,
    status=Status.OPEN,
    current_price=1_550,
    bid_count=3,
    leader_alias="bidder-1",
    minimum_next_bid=1_600,
    reserve_met=False,
    buy_now_available=True,
    starts_at=NOV_28 - 3_600_000,
    ends_at=NOV_28,
)
SNAPSHOT_FIELDS = {
    "auctionId": 7,
    "seq": 3,
    "status": "open",
    "currentPrice": 1_550,
    "bidCount": 3,
    "leaderAlias": "bidder-1",
    "minimumNextBid": 1_600,
    "reserveMet": False,
    "buyNowAvailable": True,
    "startsAt": "2026-11-28T09:00:00.000Z",
    "endsAt": NOV_28_ISO,
}
REPLY = BidReply(
    amount=2_000,
    leading=True,
    current_price=1_600,
    bid_count=4,
    bidder_alias="bidder-2",
    seq=5,
    ends_at=NOV_28,
)
BID_RESULT_FIELDS = {
    "auctionId": 7,
    "accepted": True,
    "amount": 2_000,
    "leading": True,
    "currentPrice": 1_600,
    "bidCount": 4,
    "bidderAlias": "bidder-2",
    "seq": 5,
    "endsAt": NOV_28_ISO,
}


def test_auth_ok() -> None:
    assert auth_ok(42, NOV_28, "a") == {
        "type": "auth_ok",
        "userId": 42,
        "expiresAt": NOV_28_ISO,
        "ref": "a",
    }
    assert auth_ok(42, NOV_28) == {"type": "auth_ok", "userId": 42, "expiresAt": NOV_28_ISO}


def test_subscribed() -> None:
    assert snapshot_fields(SNAPSHOT) == SNAPSHOT_FIELDS
    assert subscribed(SNAPSHOT, True, 4) == {
        "type": "subscribed",
        "auctionId": 7,
        "snapshot": SNAPSHOT_FIELDS,
        "recovered": True,
        "ref": 4,
    }
    assert subscribed(SNAPSHOT, False) == {
        "type": "subscribed",
        "auctionId": 7,
        "snapshot": SNAPSHOT_FIELDS,
        "recovered": False,
    }


def test_snapshot_before_any_bid() -> None:
    empty = Snapshot(7, 0, Status.SCHEDULED, None, 0, None, 1_000, True, False, NOV_28, NOV_28 + 1)
    fields = snapshot_fields(empty)
    assert (fields["seq"], fields["status"], fields["currentPrice"], fields["leaderAlias"]) == (
        0,
        "scheduled",
        None,
        None,
    )


def test_unsubscribed() -> None:
    assert unsubscribed(7, "u") == {"type": "unsubscribed", "auctionId": 7, "ref": "u"}
    assert unsubscribed(7) == {"type": "unsubscribed", "auctionId": 7}


def test_bid_result() -> None:
    assert bid_result_fields(7, REPLY) == BID_RESULT_FIELDS
    assert bid_result(7, REPLY, 0) == {"type": "bid_result", **BID_RESULT_FIELDS, "ref": 0}
    assert bid_result(7, REPLY) == {"type": "bid_result", **BID_RESULT_FIELDS}


def test_pong() -> None:
    assert pong(NOV_28, 9) == {"type": "pong", "serverTime": NOV_28_ISO, "ref": 9}
    assert pong(NOV_28) == {"type": "pong", "serverTime": NOV_28_ISO}


def test_error_bid_too_low_carries_minimum_next_bid() -> None:
    err = BidTooLow("the minimum next bid is 1050", minimumNextBid=1_050)
    assert error(err, "b1") == {
        "type": "error",
        "ref": "b1",
        "code": "bid_too_low",
        "message": "the minimum next bid is 1050",
        "minimumNextBid": 1_050,
    }


def test_error_without_ref_or_details() -> None:
    assert error(Unauthenticated()) == {
        "type": "error",
        "code": "unauthenticated",
        "message": "unauthenticated",
    }
    assert error(Unavailable("retry with the same bidId"), 0) == {
        "type": "error",
        "ref": 0,
        "code": "unavailable",
        "message": "retry with the same bidId",
    }


def test_error_for_an_invalid_message() -> None:
    with pytest.raises(InvalidMessage) as caught:
        decode('{"type":"bid","auctionId":7,"amount":12.5,"ref":"x"}', Format.JSON)
    err = caught.value
    assert error(err, err.ref) == {
        "type": "error",
        "ref": "x",
        "code": "bad_request",
        "message": err.message,
        "field": "amount",
    }


def test_error_details_never_override_the_envelope() -> None:
    err = BadRequest("m", type="x", code="y", ref="w", field="f")
    err.details["message"] = "z"
    assert error(err) == {"type": "error", "code": "bad_request", "message": "m", "field": "f"}


def test_private_notifications() -> None:
    assert outbid(7, 1_550, 1_600) == {
        "type": "outbid",
        "auctionId": 7,
        "currentPrice": 1_550,
        "minimumNextBid": 1_600,
    }
    assert won(7, 30_000) == {"type": "won", "auctionId": 7, "finalPrice": 30_000}
    assert notice_message(7, Outbid(ALICE, 1_550, 1_600)) == outbid(7, 1_550, 1_600)
    assert notice_message(7, Won(ALICE, 30_000)) == won(7, 30_000)


# --- public events, from real auctions ------------------------------------------------------------


def run(state: AuctionState, command: Command, now: int) -> list[Message]:
    """Apply a command's events one by one, building each message right after its evolve."""
    messages = []
    for event in decide(state, command, now).events:
        evolve(state, event)
        if not isinstance(event, MaxRaised):
            messages.append(event_message(state, event))
    return messages


DURING_ISO = to_iso(DURING)
ENDS_ISO = to_iso(ENDS)


def test_bid_events_show_each_record_as_after_it() -> None:
    state = make_auction(starting_price=1_000, reserve_price=5_000)
    # Alice's first max leads at the starting price; the minimum next bid is 1,000 + 50.
    assert run(state, PlaceMaxBid(ALICE, 3_000), DURING) == [
        {
            "type": "bid",
            "auctionId": 7,
            "seq": 1,
            "kind": "max",
            "amount": 1_000,
            "bidderAlias": "bidder-1",
            "currentPrice": 1_000,
            "leaderAlias": "bidder-1",
            "bidCount": 1,
            "minimumNextBid": 1_050,
            "reserveMet": False,
            "endsAt": ENDS_ISO,
            "at": DURING_ISO,
        }
    ]
    # Bob bids 1,500 <= Alice's max 3,000: his record at 1,500 (Alice still leads), then
    # Alice's proxy record at min(3,000, 1,500 + 50) = 1,550.
    later = DURING + 1_000
    assert run(state, PlaceBid(BOB, 1_500), later) == [
        {
            "type": "bid",
            "auctionId": 7,
            "seq": 2,
            "kind": "bid",
            "amount": 1_500,
            "bidderAlias": "bidder-2",
            "currentPrice": 1_500,
            "leaderAlias": "bidder-1",
            "bidCount": 2,
            "minimumNextBid": 1_550,
            "reserveMet": False,
            "endsAt": ENDS_ISO,
            "at": to_iso(later),
        },
        {
            "type": "bid",
            "auctionId": 7,
            "seq": 3,
            "kind": "proxy",
            "amount": 1_550,
            "bidderAlias": "bidder-1",
            "currentPrice": 1_550,
            "leaderAlias": "bidder-1",
            "bidCount": 3,
            "minimumNextBid": 1_600,
            "reserveMet": False,
            "endsAt": ENDS_ISO,
            "at": to_iso(later),
        },
    ]


def test_extension_follows_the_records_and_they_show_the_old_end() -> None:
    state = make_auction(starting_price=1_000)
    late = ENDS - 60_000  # one minute left, anti-snipe window is two
    messages = run(state, PlaceBid(ALICE, 1_000), late)
    assert [m["type"] for m in messages] == ["bid", "extended"]
    assert messages[0]["endsAt"] == ENDS_ISO
    assert messages[0]["reserveMet"] is True  # no reserve
    assert messages[1] == {
        "type": "extended",
        "auctionId": 7,
        "seq": 2,
        "endsAt": to_iso(late + 120_000),
    }


def test_closed_with_a_winner() -> None:
    state = make_auction(starting_price=1_000)
    run(state, PlaceBid(ALICE, 1_000), DURING)
    run(state, PlaceBid(BOB, 1_200), DURING)
    assert run(state, CloseIfDue(), ENDS) == [
        {
            "type": "closed",
            "auctionId": 7,
            "seq": 3,
            "status": "closed",
            "winnerAlias": "bidder-2",
            "finalPrice": 1_200,
            "reserveMet": True,
        }
    ]


def test_closed_with_the_reserve_unmet_has_no_winner() -> None:
    state = make_auction(starting_price=1_000, reserve_price=50_000)
    run(state, PlaceBid(ALICE, 1_000), DURING)
    assert run(state, CloseIfDue(), ENDS) == [
        {
            "type": "closed",
            "auctionId": 7,
            "seq": 2,
            "status": "closed",
            "winnerAlias": None,
            "finalPrice": 1_000,
            "reserveMet": False,
        }
    ]


def test_closed_with_no_bids() -> None:
    state = make_auction()
    message = run(state, CloseIfDue(), ENDS)[0]
    assert (message["seq"], message["winnerAlias"], message["finalPrice"]) == (1, None, None)


def test_buy_now_is_a_record_then_a_close() -> None:
    state = make_auction(starting_price=1_000, buy_now_price=9_000)
    messages = run(state, BuyNow(CAROL), DURING)
    assert [(m["type"], m["seq"]) for m in messages] == [("bid", 1), ("closed", 2)]
    assert messages[0]["kind"] == "buy_now"
    assert messages[0]["amount"] == 9_000
    assert messages[1]["winnerAlias"] == "bidder-1"
    assert messages[1]["finalPrice"] == 9_000


def test_cancelled() -> None:
    state = make_auction()
    assert run(state, CancelAuction(), DURING) == [{"type": "cancelled", "auctionId": 7, "seq": 1}]


def test_event_message_refuses_private_events() -> None:
    state = make_auction()
    private = MaxRaised(DURING, ALICE, 5_000, Cause(ALICE, None, 5_000))
    with pytest.raises(TypeError, match="MaxRaised"):
        event_message(state, private)  # type: ignore[arg-type]


# --- every server message is camelCase and survives both encodings --------------------------------


def all_server_messages() -> list[Message]:
    state = make_auction(starting_price=1_000, buy_now_price=9_000)
    events = run(state, PlaceMaxBid(ALICE, 3_000, UUID), DURING)
    events += run(state, PlaceBid(BOB, 1_500), DURING)
    events += run(state, CloseIfDue(), ENDS)
    return [
        auth_ok(1, NOV_28, "r"),
        subscribed(SNAPSHOT, True, 1),
        unsubscribed(7),
        bid_result(7, REPLY, "r"),
        pong(NOV_28),
        error(BidTooLow("too low", minimumNextBid=1_050), 3),
        outbid(7, 1, 2),
        won(7, 3),
        *events,
    ]


def keys(value: object) -> list[str]:
    if isinstance(value, dict):
        return [k for k, v in value.items() for k in (k, *keys(v))]
    return []


@pytest.mark.parametrize("message", all_server_messages(), ids=lambda m: str(m["type"]))
def test_server_messages_are_camel_case_and_encode_both_ways(message: Message) -> None:
    assert all(CAMEL.fullmatch(k) for k in keys(message)), keys(message)
    assert re.fullmatch(r"[a-z_]+", message["type"])
    assert json.loads(encode(message, Format.JSON)) == message
    packed = encode(message, Format.MSGPACK)
    assert isinstance(packed, bytes)
    assert msgpack.unpackb(packed, raw=False) == message
