"""The gateway's connection class: whole data frames go straight to the session.

`websockets` hands each message to a reading task through a queue and a future, so every
bid cost a task wake-up before any of our code ran. A session registers `on_message` and
gets each complete, unfragmented text or binary frame from `data_received` itself, in
order. Anything else (a fragmented message, frames that came before the session started)
takes the library's own path, which the session still reads; a fragmented message switches
the connection to that path for good, so order is kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Event, State

log = logging.getLogger("bidserver.wsconn")

MessageHandler = Callable[[str | bytes], None]


class BidderConnection(ServerConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.on_message: MessageHandler | None = None

    def process_event(self, event: Event) -> None:
        handler = self.on_message
        if handler is None or type(event) is not Frame or event.opcode not in _DATA:
            super().process_event(event)
            return
        if not event.fin:
            self.on_message = None  # fragmented: the library assembles this and what follows
            super().process_event(event)
            return
        self._deliver(handler, event)

    def _deliver(self, handler: MessageHandler, frame: Frame) -> None:
        if self.protocol.state is not State.OPEN:
            return
        raw = bytes(frame.data)  # the same object when it already is bytes
        data: str | bytes = raw
        if frame.opcode is Opcode.TEXT:
            try:
                data = raw.decode()
            except UnicodeDecodeError as exc:
                self.protocol.fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                self.send_data()
                return
        try:
            handler(data)
        except Exception:  # a bug in one message must not break the transport's callback
            log.exception("message handler failed")


_DATA = (Opcode.TEXT, Opcode.BINARY)
