"""Server messages encoded once per wire format, and the non-blocking write to one socket.

An event goes to every subscriber of an auction: it is encoded at most once per format
(`Frames` caches both, with the whole frame) and queued in each connection's `Outbox`,
which writes all of a loop turn's frames at once without awaiting. A socket whose unsent
output passes the limit is cut off with 1013 instead: a client that does not read never
holds more than about 1 MiB of the server's memory, and never slows anyone else.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import Protocol

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from bidserver import metrics
from bidserver.protocol import Format, Message, encode_json, encode_msgpack

log = logging.getLogger("bidserver.fanout")

# Cut off before the buffer can reach 1 MiB: a frame is at most ~64 KiB, so checking
# before each write at this threshold keeps every socket below the contract's bound.
SLOW_CONSUMER_LIMIT = 1024 * 1024 - 128 * 1024


class Frames:
    """One server message and its lazily computed encodings."""

    __slots__ = ("_binary", "_utf8", "_wire", "message")

    def __init__(self, message: Message) -> None:
        self.message = message
        self._utf8: bytes | None = None
        self._binary: bytes | None = None
        self._wire: dict[Format, bytes] = {}

    def binary(self) -> bytes:
        if self._binary is None:
            self._binary = encode_msgpack(self.message)
        return self._binary

    def utf8(self) -> bytes:
        if self._utf8 is None:
            self._utf8 = encode_json(self.message)
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


class Outbox:
    """One connection's frames of this loop turn, written together, in order, in one call.

    A watcher of a hot auction then costs one system call per turn rather than one per
    event, and replies keep their place among events. A client that would hold more than
    `SLOW_CONSUMER_LIMIT` unsent is handed to `overflow` (the caller cuts it off) instead.
    """

    __slots__ = ("_conn", "_flusher", "_frames", "_overflow", "_size")

    def __init__(self, conn: ServerConnection, overflow: Callable[[], None]) -> None:
        self._conn = conn
        self._overflow = overflow
        self._flusher = _flusher_of(asyncio.get_running_loop())
        self._frames: list[bytes] = []
        self._size = 0

    def put(self, frame: bytes) -> None:
        """Queue a whole frame (as `Frames.wire` or `server_frame` build it); never blocks."""
        frames = self._frames
        if not frames:
            if self._conn.protocol.state is not State.OPEN:
                return
            self._flusher.add(self)
        frames.append(frame)
        self._size += len(frame)

    def flush(self) -> None:
        frames, size = self._frames, self._size
        self._frames, self._size = [], 0
        conn = self._conn
        if conn.protocol.state is not State.OPEN:
            return  # closing: nothing may follow the close frame
        if conn.transport.get_write_buffer_size() + size > SLOW_CONSUMER_LIMIT:
            self._overflow()
            return
        conn.transport.writelines(frames)


class _Flusher:
    """Flushes every outbox that got frames this loop turn, from one callback: an event
    for 1,000 watchers schedules one callback, not 1,000."""

    __slots__ = ("_due", "_loop", "_scheduled")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._due: list[Outbox] = []
        self._scheduled = False

    def add(self, outbox: Outbox) -> None:
        self._due.append(outbox)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self.run)

    def run(self) -> None:
        due, self._due = self._due, []
        self._scheduled = False
        for outbox in due:
            try:
                outbox.flush()
            except Exception:  # one broken socket must not cost the others their frames
                log.exception("flushing a connection failed")


_FLUSHERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Flusher] = (
    weakref.WeakKeyDictionary()
)


def flush_pending() -> None:
    """Write every queued frame now: before closing sockets, so no answer is left behind."""
    flusher = _FLUSHERS.get(asyncio.get_running_loop())
    if flusher is not None:
        flusher.run()


def _flusher_of(loop: asyncio.AbstractEventLoop) -> _Flusher:
    flusher = _FLUSHERS.get(loop)
    if flusher is None:
        flusher = _FLUSHERS[loop] = _Flusher(loop)
    return flusher


class Subscriber(Protocol):
    """A connection watching auctions: who it is (for private notices) and a sync push."""

    @property
    def user_id(self) -> int | None: ...

    def push(self, frames: Frames) -> None:
        """Queue the frames for writing without awaiting; never raises."""


def count_slow_consumer() -> None:
    metrics.SLOW_CONSUMERS.inc()
