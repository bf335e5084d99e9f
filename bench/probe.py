"""A responsiveness probe: one extra connection that pings the server every few ms.

`ping` is answered by the gateway session itself, without the auction actor or the
database, so its round trip is the server's event-loop delay plus the transport. A
long-tailed ping means the server's loop stalled (a long callback, a GC pause), which
delays every socket at once, not only the bids.
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.client import Conn, open_conn
from bench.hist import Histogram

PING_EVERY_S = 0.005


class Pinger(Conn):
    def __init__(self) -> None:
        super().__init__()
        self.sent: dict[int, float] = {}
        self.rtt = Histogram()
        self.recording = False

    def on_message(self, payload: bytes) -> None:
        now = time.monotonic()
        ref = json.loads(payload).get("ref")
        began = self.sent.pop(ref, None) if isinstance(ref, int) else None
        if began is not None and self.recording:
            self.rtt.record(now - began)


class Probe:
    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.pinger: Pinger | None = None

    async def prepare(self) -> None:
        self.pinger = await open_conn(Pinger, self.ws_url)

    async def run(self, record_from: float, end: float) -> None:
        pinger = self.pinger
        assert pinger is not None
        n = 0
        while time.monotonic() < end and not pinger.closed:
            pinger.recording = time.monotonic() >= record_from
            n += 1
            pinger.sent[n] = time.monotonic()
            pinger.send(b'{"type":"ping","ref":%d}' % n)
            await asyncio.sleep(PING_EVERY_S)  # the probe's own pace

    def outcome(self) -> bytes:
        return self.pinger.rtt.encode() if self.pinger else b""

    def close(self) -> None:
        if self.pinger is not None:
            self.pinger.disconnect()
