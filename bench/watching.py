"""Watchers: subscribed connections that read every event of their auctions.

Counting watchers (`hot`, `spread`) only count frames: they exist to give the server its
fan-out work. Timed watchers (`fanout`) note, per event `seq`, the event's `at` (the
server's acceptance time, millisecond precision) and the latest time any watcher of this
worker received it; the parent takes the latest over all workers, so the figure is
acceptance → last watcher. All clocks are this machine's `time.time()`. Stalled watchers
subscribe and then stop reading, to show that one slow client does not hold up the rest.
"""

from __future__ import annotations

import asyncio
from array import array
from typing import Any

from bench.client import Watcher, event_at_ms, event_seq, open_conn
from bench.hist import Histogram
from bench.plans import Timing, WatchOutcome, WatchPlan

_CONNECT_AT_ONCE = 100
MAX_SUBSCRIPTIONS = 1000  # per connection (the gateway's limit)


class WatchSet:
    def __init__(self, plan: WatchPlan, timing: Timing) -> None:
        self.plan = plan
        self.timing = timing
        self.watchers: list[Watcher] = []
        self.stalled: list[Watcher] = []
        self.per_seq: dict[int, list[float]] = {}  # seq -> [at_ms, last receive, count]
        self.delays: array[float] = array("d")  # into a histogram at the end: cheaper here
        self._window = (0.0, 0.0)  # wall clock, seconds

    def _auctions(self, i: int) -> tuple[int, ...]:
        """Up to 1000 of the auctions, rotated so every auction gets watchers."""
        ids = self.plan.auction_ids
        if len(ids) <= MAX_SUBSCRIPTIONS:
            return ids
        start = (i * MAX_SUBSCRIPTIONS) % len(ids)
        return (ids + ids)[start : start + MAX_SUBSCRIPTIONS]

    async def prepare(self) -> None:
        gate = asyncio.Semaphore(_CONNECT_AT_ONCE)
        on_event = self._on_event if self.plan.timed else None

        async def one(i: int) -> Watcher:
            async with gate:
                watcher = await open_conn(lambda: Watcher(on_event), self.plan.ws_url)
                watcher.subscribe(self._auctions(i))
                await watcher.subscribed
                return watcher

        self.watchers = list(await asyncio.gather(*(one(i) for i in range(self.plan.count))))
        for i in range(self.plan.stalled):
            watcher = await one(i)
            watcher.stall()
            self.stalled.append(watcher)

    def start(self, start_wall: float) -> None:
        self._window = (start_wall + self.timing.warmup, start_wall + self.timing.duration)

    def _on_event(self, payload: bytes, received: float) -> None:
        seq = event_seq(payload)
        if seq is None:
            return
        entry = self.per_seq.get(seq)
        if entry is None:
            at_ms = event_at_ms(payload)
            if at_ms is None:
                return
            entry = self.per_seq[seq] = [float(at_ms), received, 0.0]
        elif received > entry[1]:
            entry[1] = received
        entry[2] += 1
        at = entry[0] / 1000.0
        if self._window[0] <= at < self._window[1]:
            self.delays.append(received - at)

    def frames(self) -> int:
        return sum(w.frames for w in self.watchers)

    def progress(self) -> dict[str, Any]:
        return {"frames": self.frames()}

    def outcome(self) -> WatchOutcome:
        deliveries = Histogram()
        for delay in self.delays:
            deliveries.record(delay)
        return WatchOutcome(
            connected=len(self.watchers),
            frames=self.frames(),
            disconnected=sum(1 for w in self.watchers if w.closed),
            per_seq={s: (int(e[0]), e[1], int(e[2])) for s, e in self.per_seq.items()},
            deliveries=deliveries.encode(),
            stalled=[w.ended() for w in self.stalled],
        )

    def close(self) -> None:
        for watcher in self.watchers + self.stalled:
            watcher.disconnect()
