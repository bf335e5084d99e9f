"""The two wire formats of CONTRACT §3 and how a server message becomes bytes.

JSON and msgpack carry the same maps; msgpack frames are binary, JSON frames are text.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Final

import msgpack
import orjson

JSON_SUBPROTOCOL: Final = "bidserver.v1.json"
MSGPACK_SUBPROTOCOL: Final = "bidserver.v1.msgpack"
SUBPROTOCOLS: Final = (JSON_SUBPROTOCOL, MSGPACK_SUBPROTOCOL)

MAX_FRAME_BYTES: Final = 64 * 1024


class Format(Enum):
    """A connection's wire format; the value is its subprotocol name."""

    JSON = JSON_SUBPROTOCOL
    MSGPACK = MSGPACK_SUBPROTOCOL


def format_for(subprotocol: str | None) -> Format:
    """The format of a negotiated subprotocol; none negotiated means JSON (CONTRACT §3)."""
    return Format.JSON if subprotocol is None else Format(subprotocol)


Ref = str | int | None
Message = dict[str, Any]


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
