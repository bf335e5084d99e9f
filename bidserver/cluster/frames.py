"""The node-to-node frame codec: a 4-byte big-endian length, then one msgpack map.

Pure (no I/O, no loop): the link feeds it the bytes it reads and writes what it encodes.
A frame over the limit, bytes that are not msgpack, or a message that is not a map with a
string `t` raise `FrameError`; the link closes the connection at once on any of them.
"""

from __future__ import annotations

import struct
from typing import Any, Final

import msgpack

MAX_FRAME_BYTES: Final = 1 << 20  # after the handshake
HANDSHAKE_FRAME_BYTES: Final = 512  # before it: a stranger cannot make us buffer more
_HEADER = struct.Struct(">I")

LinkMessage = dict[str, Any]


class FrameError(ValueError):
    """The peer broke the framing or sent something that is not a link message."""


def encode_frame(message: LinkMessage) -> bytes:
    body: bytes = msgpack.packb(message, use_bin_type=True)
    if len(body) > MAX_FRAME_BYTES:
        raise FrameError(f"frame of {len(body)} bytes is over {MAX_FRAME_BYTES}")
    return _HEADER.pack(len(body)) + body


class FrameDecoder:
    """Bytes in, whole messages out; keeps a partial frame until the rest arrives."""

    __slots__ = ("_buffer", "limit")

    def __init__(self, limit: int = MAX_FRAME_BYTES) -> None:
        self._buffer = bytearray()
        self.limit = limit

    def feed(self, data: bytes) -> list[LinkMessage]:
        buffer = self._buffer
        buffer += data
        messages: list[LinkMessage] = []
        start = 0
        while len(buffer) - start >= 4:
            (size,) = _HEADER.unpack_from(buffer, start)
            if size > self.limit:
                raise FrameError(f"frame of {size} bytes is over {self.limit}")
            end = start + 4 + size
            if len(buffer) < end:
                break
            messages.append(_decode(bytes(buffer[start + 4 : end])))
            start = end
        del buffer[:start]
        return messages

    @property
    def pending(self) -> int:
        """Bytes held of a frame not yet complete."""
        return len(self._buffer)


def _decode(body: bytes) -> LinkMessage:
    try:
        message = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise FrameError(f"not msgpack: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("t"), str):
        raise FrameError("a link message is a map with a string `t`")
    return message
