"""Server messages encoded once per wire format, and the non-blocking write to one socket.

An event goes to every subscriber of an auction: it is encoded at most once per format
(`Frames` caches both) and written straight into each socket's transport without awaiting
it, as `websockets.broadcast` does. A socket whose unsent output passes the limit is cut
off with 1013 instead: a client that does not read never holds more than about 1 MiB of
the server's memory, and never slows the auction or anyone else.
"""

from __future__ import annotations

from typing import Protocol

from bidserver import metrics
from bidserver.protocol import Format, Message, encode_json, encode_msgpack

# Cut off before the buffer can reach 1 MiB: a frame is at most ~64 KiB, so checking
# before each write at this threshold keeps every socket below the contract's bound.
SLOW_CONSUMER_LIMIT = 1024 * 1024 - 128 * 1024


class Frames:
    """One server message and its lazily computed encodings."""

    __slots__ = ("_binary", "_text", "_utf8", "_wire", "message")

    def __init__(self, message: Message, text: str | None = None) -> None:
        self.message = message
        self._text = text
        self._utf8: bytes | None = None
        self._binary: bytes | None = None
        self._wire: dict[Format, bytes] = {}

    def text(self) -> str:
        if self._text is None:
            self._text = self.utf8().decode()
        return self._text

    def binary(self) -> bytes:
        if self._binary is None:
            self._binary = encode_msgpack(self.message)
        return self._binary

    def utf8(self) -> bytes:
        if self._utf8 is None:
            self._utf8 = encode_json(self.message) if self._text is None else self._text.encode()
        return self._utf8

    def encoded(self, fmt: Format) -> bytes:
        """The frame's payload for `fmt`: UTF-8 JSON (a text frame) or msgpack (binary)."""
        return self.utf8() if fmt is Format.JSON else self.binary()

    def wire(self, fmt: Format) -> bytes:
        """The whole WebSocket frame, built once and written as is to every subscriber.

        Server frames are unmasked and we negotiate no extensions, so the bytes are the same
        for every connection of a format (RFC 6455 §5.2).
        """
        frame = self._wire.get(fmt)
        if frame is None:
            frame = self._wire[fmt] = server_frame(self.encoded(fmt), fmt is Format.JSON)
        return frame


def server_frame(payload: bytes, text: bool) -> bytes:
    """One final, unmasked data frame: FIN + opcode, the length, the payload."""
    head = 0x81 if text else 0x82
    size = len(payload)
    if size < 126:
        header = bytes((head, size))
    elif size < 1 << 16:
        header = bytes((head, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((head, 127)) + size.to_bytes(8, "big")
    return header + payload


class Subscriber(Protocol):
    """A connection watching auctions: who it is (for private notices) and a sync push."""

    @property
    def user_id(self) -> int | None: ...

    def push(self, frames: Frames) -> None:
        """Queue the frames for writing without awaiting; never raises."""


def count_slow_consumer() -> None:
    metrics.SLOW_CONSUMERS.inc()
