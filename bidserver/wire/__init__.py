"""The wire: how both faces and the fan-out represent the auction to clients.

`codec`: the two formats (JSON text, msgpack binary) and serialising a message. `client`:
decoding and validating client messages into typed values. `server`: the server's messages
(replies, the snapshot, events, notices) as plain dicts, shared with REST. `frames`: a
message encoded once per format, with its whole WebSocket frame.

May import: the rules core, `bidserver.errors`, `bidserver.timefmt`, msgpack and orjson.
Never the engine, either face or storage: it is representation only, with no I/O.
"""

from bidserver.wire.client import (
    MAX_ID,
    MAX_REF_CHARS,
    MAX_REF_INT,
    MAX_TOKEN_CHARS,
    AuthMsg,
    BidMsg,
    BuyNowMsg,
    ClientMessage,
    InvalidMessage,
    MaxBidMsg,
    PingMsg,
    SubscribeMsg,
    UnsubscribeMsg,
    decode,
)
from bidserver.wire.codec import (
    JSON_SUBPROTOCOL,
    MAX_FRAME_BYTES,
    MSGPACK_SUBPROTOCOL,
    SUBPROTOCOLS,
    Format,
    Message,
    Ref,
    encode,
    encode_json,
    encode_msgpack,
    format_for,
)
from bidserver.wire.frames import (
    Frames,
    server_frame,
)
from bidserver.wire.server import (
    auth_ok,
    bid_result,
    bid_result_fields,
    error,
    event_message,
    notice_message,
    outbid,
    pong,
    snapshot_fields,
    subscribed,
    unsubscribed,
    won,
)

__all__ = [
    "JSON_SUBPROTOCOL",
    "MAX_FRAME_BYTES",
    "MAX_ID",
    "MAX_REF_CHARS",
    "MAX_REF_INT",
    "MAX_TOKEN_CHARS",
    "MSGPACK_SUBPROTOCOL",
    "SUBPROTOCOLS",
    "AuthMsg",
    "BidMsg",
    "BuyNowMsg",
    "ClientMessage",
    "Format",
    "Frames",
    "InvalidMessage",
    "MaxBidMsg",
    "Message",
    "PingMsg",
    "Ref",
    "SubscribeMsg",
    "UnsubscribeMsg",
    "auth_ok",
    "bid_result",
    "bid_result_fields",
    "decode",
    "encode",
    "encode_json",
    "encode_msgpack",
    "error",
    "event_message",
    "format_for",
    "notice_message",
    "outbid",
    "pong",
    "server_frame",
    "snapshot_fields",
    "subscribed",
    "unsubscribed",
    "won",
]
