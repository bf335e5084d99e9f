"""Bidders: open loop on a fixed schedule, or closed loop (each reply releases the next bid,
so `connections * inflight` bids are always in flight).

Every bid must be one the rules accept, or the run would measure rejections. Amounts come
from one counter shared by all workers, taken under its lock together with the write of
the frame, so amounts rise in the order frames leave the generator: bid number n goes to
auction n mod A at base + (n div A) * step. Each bid goes to a bidder with nothing in
flight (so one socket never holds two unread bids), never to the one that placed the
auction's previous bid. Bidders are distinct users. With `max_bid` (the default, step 2000)
a bid the server reads one place out of order is still accepted (recorded, and outbid at
once); with plain `bid` (step 1000, the largest increment) it is refused as `bid_too_low`,
and a leader's bid as `already_leading`. Refusals are reported by their error code.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Any

from bench.client import Bidder, open_conn
from bench.plans import BidPlan, Channel, Timing
from bench.tally import Tally

_TEMPLATES = {
    "bid": b'{"type":"bid","auctionId":%d,"amount":%d,"ref":%d,"bidId":"%s%012x"}',
    "max_bid": b'{"type":"max_bid","auctionId":%d,"maxAmount":%d,"ref":%d,"bidId":"%s%012x"}',
}
_MAX_BURST = 512  # bids sent before yielding to the loop when behind schedule
_CONNECT_AT_ONCE = 100


def _pause(wait: float, spin: bool) -> float:
    """How long to sleep before the next due bid. uvloop timers have millisecond
    resolution and a shorter sleep returns at the next loop iteration: "timer" mode
    therefore sleeps at least 1 ms (bids then leave in ≤ 1 ms batches, the lateness counted
    in their latency), while "spin" mode polls the loop until the due time (exact send
    times, one busy core)."""
    if spin:
        return 0.0 if wait < 0.002 else wait - 0.001
    return max(wait, 0.001)


class BidDriver:
    def __init__(
        self, plan: BidPlan, timing: Timing, channel: Channel, index: int, workers: int
    ) -> None:
        self.plan = plan
        self.timing = timing
        self.channel = channel
        self.index = index
        self.workers = workers
        self.conns: list[Bidder] = []
        self.tally = Tally(0.0, 0.0)
        self._template = _TEMPLATES[plan.message]
        self._prefix = plan.bid_id_prefix.encode()
        self._closed_end = 0.0
        self._idle: deque[Bidder] = deque()
        self._last: list[Bidder | None] = [None] * len(plan.auction_ids)
        self._turn = 0

    async def prepare(self) -> None:
        gate = asyncio.Semaphore(_CONNECT_AT_ONCE)

        async def one(token: str) -> Bidder:
            async with gate:
                return await open_conn(self._new_bidder, self.plan.ws_url, token)

        self.conns = list(await asyncio.gather(*(one(t) for t in self.plan.tokens)))
        self._idle = deque(self.conns)
        for conn in self.conns:
            conn.idle = True
        await asyncio.sleep(0.05)  # let an `unauthenticated` answer to the handshake arrive
        refused = [m for c in self.conns for m in c.unsolicited if m.get("type") == "error"]
        if refused:
            raise RuntimeError(f"bidder connection refused: {refused[0]}")

    def _new_bidder(self) -> Bidder:
        return Bidder(self._on_reply, self._on_lost)

    def _on_reply(
        self, conn: Bidder, message: dict[str, Any], intended: float, sent: float, now: float
    ) -> None:
        kind = message.get("type")
        error = None if kind == "bid_result" else str(message.get("code", kind))
        if error is None and self.plan.record_acks:
            self.tally.acks.append((int(message["auctionId"]), int(message["seq"]), time.time()))
        self.tally.answered(intended, sent, now, error)
        if not conn.pending and not conn.idle and not conn.closed:
            conn.idle = True
            self._idle.append(conn)
        if self.plan.closed and now < self._closed_end:
            self._send(now)

    def _on_lost(self, conn: Bidder) -> None:
        self.tally.lost(len(conn.pending))

    def _choose(self, slot: int) -> Bidder:
        """A bidder with nothing in flight, longest idle first, so that one socket never
        holds two unread bids that the server would read ahead of another socket's earlier
        one; never the one that placed the auction's previous bid (it may lead: a plain
        bid from the leader is refused). With every bidder busy: the next one in turn."""
        avoid, idle = self._last[slot], self._idle
        for _ in range(len(idle)):
            conn = idle.popleft()
            if conn.closed:
                continue
            if conn is avoid:
                idle.append(conn)
                continue
            conn.idle = False
            return conn
        self._turn = (self._turn + 1) % len(self.conns)
        conn = self.conns[self._turn]
        if conn is avoid:
            self._turn = (self._turn + 1) % len(self.conns)
            conn = self.conns[self._turn]
        return conn

    def _send(self, intended: float) -> None:
        plan, counter = self.plan, self.channel.counter
        with counter.get_lock():
            n = counter.value
            counter.value = n + 1
            slot, k = n % len(plan.auction_ids), n // len(plan.auction_ids)
            target = self._choose(slot)
            self._last[slot] = target
            amount = plan.bases[slot] + k * plan.step
            target.pending[n] = (intended, time.monotonic())
            target.send(self._template % (plan.auction_ids[slot], amount, n, self._prefix, n))
        self.tally.sent_one(intended)

    async def run(self, start: float) -> None:
        self.tally = Tally(start + self.timing.warmup, start + self.timing.duration)
        if self.plan.closed:
            await self._run_closed(start)
        else:
            await self._run_open(start)
        self.tally.finish_sending()

    async def _run_open(self, start: float) -> None:
        interval = self.workers / self.plan.rate  # this worker's share of the schedule,
        offset = self.index / self.plan.rate  # interleaved with the other workers' shares
        end = start + self.timing.duration
        spin = self.timing.send == "spin"
        k = 0
        while not self.channel.stop.is_set():
            due = start + offset + k * interval
            if due >= end:
                return
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(_pause(due - now, spin))
                continue
            burst = 0
            while due <= now and due < end and burst < _MAX_BURST:
                self._send(due)
                k += 1
                burst += 1
                due = start + offset + k * interval
            await asyncio.sleep(0)  # let replies in before the next batch

    async def _run_closed(self, start: float) -> None:
        self._closed_end = start + self.timing.duration
        for _ in range(len(self.conns) * self.plan.inflight):
            self._send(time.monotonic())
        await asyncio.sleep(max(0.0, self._closed_end - time.monotonic()))

    def progress(self) -> dict[str, Any]:
        t = self.tally
        return {
            "sent": t.sent,
            "accepted": t.accepted,
            "errors": sum(t.errors.values()),
            "p99": t.progress_p99(),
        }

    async def finish(self) -> None:
        """Wait for late replies; a bid still unanswered enters the latency histogram with
        the time it has waited so far (a lower bound), so that p99 is not flattered by the
        bids an overloaded server never answered; it is also counted as missing."""
        await self.tally.wait_drained(self.timing.grace)
        now = time.monotonic()
        for conn in self.conns:
            for intended, _ in conn.pending.values():
                if self.tally.in_window(intended):
                    self.tally.latency.record(now - intended)

    def close(self) -> None:
        for conn in self.conns:
            conn.disconnect()
