"""The non-blocking write to one socket: a loop turn's frames in one call, or a cut-off.

Each connection's frames are queued in its `Outbox`, which writes all of a loop turn's
frames at once without awaiting. A socket whose unsent output passes the limit is cut off
with 1013 instead: a client that does not read never holds more than about 1 MiB of the
server's memory, and never slows anyone else.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable

from websockets.asyncio.server import ServerConnection
from websockets.protocol import State

from bidserver import metrics

log = logging.getLogger("bidserver.fanout")

# Cut off before the buffer can reach 1 MiB: a frame is at most ~64 KiB, so checking
# before each write at this threshold keeps every socket below the contract's bound.
SLOW_CONSUMER_LIMIT = 1024 * 1024 - 128 * 1024


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


def count_slow_consumer() -> None:
    metrics.SLOW_CONSUMERS.inc()
