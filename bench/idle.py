"""Idle sessions: open many authenticated connections as fast as allowed, then hold them."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from bench.client import Conn, open_conn
from bench.hist import Histogram
from bench.plans import IdleOutcome, IdlePlan


class IdleSet:
    def __init__(self, plan: IdlePlan) -> None:
        self.plan = plan
        self.conns: list[Conn] = []
        self.handshake = Histogram()
        self.errors: Counter[str] = Counter()
        self.seconds = 0.0

    async def open_all(self) -> None:
        """Open `count` connections, at most `concurrency` handshakes in flight."""
        gate = asyncio.Semaphore(self.plan.concurrency)
        tokens = self.plan.tokens

        async def one(i: int) -> None:
            async with gate:
                began = time.monotonic()
                try:
                    conn = await open_conn(Conn, self.plan.ws_url, tokens[i % len(tokens)])
                except Exception as exc:  # refused, reset, timed out: all are failures here
                    self.errors[type(exc).__name__] += 1
                    return
                self.handshake.record(time.monotonic() - began)
                self.conns.append(conn)

        began = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(self.plan.count)))
        self.seconds = time.monotonic() - began

    def progress(self) -> dict[str, Any]:
        return {"open": sum(1 for c in self.conns if not c.closed)}

    def outcome(self) -> IdleOutcome:
        return IdleOutcome(
            opened=len(self.conns),
            failed=sum(self.errors.values()),
            seconds=self.seconds,
            alive_at_end=sum(1 for c in self.conns if not c.closed),
            handshake=self.handshake.encode(),
            errors=dict(self.errors),
        )

    def close(self) -> None:
        for conn in self.conns:
            conn.disconnect()
