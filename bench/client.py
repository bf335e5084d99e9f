"""The generator's WebSocket connections (picows): callbacks, no per-message tasks.

picows hands each frame to a listener callback from the event loop's read path, so a
reply is timed the moment it is parsed and no future or task is created per message;
sending is a synchronous write into the transport. A CLOSE frame is answered and the
socket dropped; how a connection ended is kept for the report.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

L = TypeVar("L", bound="Conn")

_BID_EVENT = re.compile(rb'\{"type":\s*"bid"')
_SEQ = re.compile(rb'"seq":\s*(\d+)')
_AT = re.compile(rb'"at":\s*"([^"]+)"')


class Conn(WSListener):
    """One connection: its transport, and how it ended (close code or lost)."""

    def __init__(self) -> None:
        self.transport: WSTransport | None = None
        self.close_code: int | None = None
        self.closed = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind is WSMsgType.TEXT or kind is WSMsgType.BINARY:
            self.on_message(frame.get_payload_as_bytes())
        elif kind is WSMsgType.CLOSE:
            code = frame.get_close_code()
            self.close_code = code.value
            transport.send_close(code if code is not WSCloseCode.NO_INFO else WSCloseCode.OK)
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.on_closed()

    def on_message(self, payload: bytes) -> None:
        """A text or binary message."""

    def on_closed(self) -> None:
        """The socket is gone."""

    def send(self, payload: bytes) -> None:
        if self.transport is not None and not self.closed:
            self.transport.send(WSMsgType.TEXT, payload)

    def send_json(self, message: dict[str, Any]) -> None:
        self.send(json.dumps(message).encode())

    def ended(self) -> str:
        if not self.closed:
            return "open"
        return f"closed {self.close_code}" if self.close_code is not None else "dropped"

    def disconnect(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.disconnect(graceful=False)


HANDSHAKE_TIMEOUT_S = 60.0


async def open_conn(factory: Callable[[], L], url: str, token: str | None = None) -> L:
    headers = {"Authorization": f"Bearer {token}"} if token else None
    _, listener = await ws_connect(
        factory, url, extra_headers=headers, websocket_handshake_timeout=HANDSHAKE_TIMEOUT_S
    )
    conn: L = listener  # type: ignore[assignment]  # picows returns the factory's listener
    return conn


ReplyHandler = Callable[["Bidder", dict[str, Any], float, float, float], None]


class Bidder(Conn):
    """Bids in flight by ref (the global bid number): (intended send, actual send) times."""

    def __init__(self, on_reply: ReplyHandler, on_lost: Callable[[Bidder], None]) -> None:
        super().__init__()
        self.pending: dict[int, tuple[float, float]] = {}
        self.idle = False  # in the driver's queue of bidders with nothing in flight
        self.unsolicited: list[dict[str, Any]] = []
        self._on_reply = on_reply
        self._on_lost = on_lost

    def on_message(self, payload: bytes) -> None:
        now = time.monotonic()
        message = json.loads(payload)
        ref = message.get("ref")
        times = self.pending.pop(ref, None) if isinstance(ref, int) else None
        if times is None:
            self.unsolicited.append(message)
            return
        self._on_reply(self, message, times[0], times[1], now)

    def on_closed(self) -> None:
        self._on_lost(self)


class Watcher(Conn):
    """Subscribes, then counts (or times) the auction events it receives."""

    def __init__(self, on_event: Callable[[bytes, float], None] | None) -> None:
        super().__init__()
        self.frames = 0
        self._on_event = on_event
        self._waiting = 0
        self.subscribed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def subscribe(self, auction_ids: tuple[int, ...]) -> None:
        if not auction_ids:
            raise ValueError("a watcher needs at least one auction")
        self._waiting = len(auction_ids)
        for auction_id in auction_ids:
            self.send_json({"type": "subscribe", "auctionId": auction_id, "ref": "s"})

    def on_message(self, payload: bytes) -> None:
        if self._waiting:
            message = json.loads(payload)
            if message.get("ref") == "s":
                if message.get("type") != "subscribed" and not self.subscribed.done():
                    self.subscribed.set_exception(RuntimeError(f"subscribe refused: {message}"))
                self._waiting -= 1
                if not self._waiting and not self.subscribed.done():
                    self.subscribed.set_result(None)
                return
        self.frames += 1
        if self._on_event is not None:
            self._on_event(payload, time.time())

    def on_closed(self) -> None:
        if not self.subscribed.done():
            self.subscribed.set_exception(ConnectionError(f"watcher {self.ended()}"))

    def stall(self) -> None:
        """Stop reading: the server's writes pile up in the kernel, then in the server."""
        if self.transport is None:
            return
        raw = self.transport.underlying_transport
        sock = raw.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.pause_reading()


def event_seq(payload: bytes) -> int | None:
    """The seq of a `bid` event, else None."""
    if _BID_EVENT.match(payload) is None:
        return None
    found = _SEQ.search(payload)
    return None if found is None else int(found.group(1))


def event_at_ms(payload: bytes) -> int | None:
    """An event's `at` (server acceptance time, millisecond precision) in epoch ms."""
    found = _AT.search(payload)
    if found is None:
        return None
    return round(datetime.fromisoformat(found.group(1).decode()).timestamp() * 1000)
