"""Counting requests that have an intended send time, and timing their replies.

Latency is reply time minus *intended* send time (wrk2's correction for coordinated
omission): a generator or server that falls behind its schedule is charged for the wait.
`service` is reply time minus actual send time, the uncorrected figure, for comparison.
Only requests intended inside the measured window (after the warm-up) are timed; every
error is counted, warm-up included.
"""

from __future__ import annotations

import asyncio
from collections import Counter

from bench.hist import Histogram
from bench.plans import TallyOutcome


class Tally:
    def __init__(self, window_start: float, window_end: float) -> None:
        self.window = (window_start, window_end)
        self.latency = Histogram()
        self.service = Histogram()
        self.interval = Histogram()  # since the last progress line
        self.sent = 0
        self.sent_window = 0
        self.accepted = 0
        self.accepted_window = 0
        self.errors: Counter[str] = Counter()
        self.pending = 0
        self.lost_count = 0  # pending on connections that closed: they stay missing
        self.acks: list[tuple[int, int, float]] = []
        self.done_sending = False
        self.drained = asyncio.Event()

    def in_window(self, intended: float) -> bool:
        return self.window[0] <= intended < self.window[1]

    def sent_one(self, intended: float) -> None:
        self.sent += 1
        self.pending += 1
        if self.in_window(intended):
            self.sent_window += 1

    def answered(self, intended: float, sent_at: float, now: float, error: str | None) -> None:
        self.pending -= 1
        if error is not None:
            self.errors[error] += 1
        else:
            self.accepted += 1
            self.interval.record(now - intended)
            if self.in_window(intended):
                self.accepted_window += 1
                self.latency.record(now - intended)
                self.service.record(now - sent_at)
        self._check_drained()

    def lost(self, count: int) -> None:
        """Requests that can no longer be answered: their connection closed."""
        self.lost_count += count
        self._check_drained()

    def finish_sending(self) -> None:
        self.done_sending = True
        self._check_drained()

    def _check_drained(self) -> None:
        if self.done_sending and self.pending - self.lost_count <= 0:
            self.drained.set()

    async def wait_drained(self, grace: float) -> None:
        try:
            async with asyncio.timeout(grace):
                await self.drained.wait()
        except TimeoutError:
            pass

    def progress_p99(self) -> float | None:
        value = self.interval.percentile_ms(99.0) if self.interval.count else None
        self.interval.reset()
        return value

    def outcome(self) -> TallyOutcome:
        return TallyOutcome(
            sent=self.sent,
            sent_window=self.sent_window,
            accepted=self.accepted,
            accepted_window=self.accepted_window,
            errors=dict(self.errors),
            missing=max(self.pending, 0),
            latency=self.latency.encode(),
            service=self.service.encode(),
            acks=self.acks,
        )
