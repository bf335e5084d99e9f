"""One load-generator process: one uvloop event loop, its share of every role.

Protocol with the parent (bench.loadgen), over the run's `Channel`:
1. connect and subscribe everything, then put ("ready", index, {}) on the queue;
2. wait for `go`, then follow the schedule from the shared start time, putting
   ("progress", index, {...}) every second, plus ("connected", index, {...}) for idle sets;
3. after the schedule, wait up to the grace period for outstanding replies, then put
   ("result", index, WorkerResult).
A periodic timer measures this loop's own lag: if it is late, so are the bids, and the
report says so rather than blaming the server.
"""

from __future__ import annotations

import asyncio
import time
import traceback
from multiprocessing.synchronize import Event
from typing import Any

import uvloop

from bench.bidding import BidDriver
from bench.hist import Histogram
from bench.idle import IdleSet
from bench.plans import Channel, WorkerResult, WorkerSpec
from bench.probe import Probe
from bench.restload import RestLoad
from bench.system import own_cpu_seconds, pin_self, raise_fd_limit
from bench.watching import WatchSet

LAG_TICK_S = 0.005
PROGRESS_EVERY_S = 1.0


def worker_main(spec: WorkerSpec, channel: Channel) -> None:
    """Process entry point (spawned)."""
    pin_self(spec.cores)
    raise_fd_limit()
    try:
        result = uvloop.run(Worker(spec, channel).main())
    except BaseException as exc:
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result = WorkerResult(index=spec.index, error=detail)
        channel.stop.set()  # the run cannot be measured without this worker
    channel.queue.put(("result", spec.index, result))


class LagMonitor:
    """How late a 5 ms timer fires: the loop's own lag, recorded once past the warm-up."""

    def __init__(self) -> None:
        self.hist = Histogram()
        self.interval_max = 0.0
        self.recording_from = float("inf")

    async def run(self) -> None:
        expected = time.monotonic() + LAG_TICK_S
        while True:
            await asyncio.sleep(LAG_TICK_S)  # the measurement itself: how late does it wake
            now = time.monotonic()
            lag = max(0.0, now - expected)
            self.interval_max = max(self.interval_max, lag)
            if now >= self.recording_from:
                self.hist.record(lag)
            expected = now + LAG_TICK_S


class Worker:
    def __init__(self, spec: WorkerSpec, channel: Channel) -> None:
        self.spec = spec
        self.channel = channel
        t = spec.timing
        self.bids = (
            BidDriver(spec.bids, t, channel, spec.index, spec.workers) if spec.bids else None
        )
        self.watch = WatchSet(spec.watch, t) if spec.watch else None
        self.idle = IdleSet(spec.idle) if spec.idle else None
        self.rest = RestLoad(spec.rest, t, channel, spec.index, spec.workers) if spec.rest else None
        self.probe = Probe(spec.probe_url) if spec.probe_url else None
        self.lag = LagMonitor()

    def _put(self, kind: str, info: Any) -> None:
        self.channel.queue.put((kind, self.spec.index, info))

    async def main(self) -> WorkerResult:
        try:
            return await self._main()
        finally:
            for role in (self.bids, self.watch, self.idle):
                if role is not None:
                    role.close()
            if self.rest is not None:
                await self.rest.close()
            if self.probe is not None:
                self.probe.close()

    async def _main(self) -> WorkerResult:
        if self.watch:
            await self.watch.prepare()
        if self.bids:
            await self.bids.prepare()
        if self.rest:
            await self.rest.prepare()
        if self.probe:
            await self.probe.prepare()
        self._put("ready", {})
        await _wait_event(self.channel.go)
        start, start_wall = self.channel.start_at.value, self.channel.start_wall.value
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        cpu0, wall0 = own_cpu_seconds(), time.monotonic()
        self.lag.recording_from = start + self.spec.timing.warmup
        background = [
            asyncio.create_task(self.lag.run()),
            asyncio.create_task(self._report_progress(start)),
        ]
        if self.probe:
            t = self.spec.timing
            background.append(
                asyncio.create_task(self.probe.run(start + t.warmup, start + t.duration))
            )
        try:
            if self.watch:
                self.watch.start(start_wall)
            await asyncio.gather(*self._roles(start))
            await self._finish()
            await asyncio.sleep(0.2)  # late events for timed watchers
        finally:
            for task in background:
                task.cancel()
        return WorkerResult(
            index=self.spec.index,
            bids=self.bids.tally.outcome() if self.bids else None,
            watch=self.watch.outcome() if self.watch else None,
            idle=self.idle.outcome() if self.idle else None,
            rest=self.rest.outcome() if self.rest else None,
            lag=self.lag.hist.encode(),
            ping=self.probe.outcome() if self.probe else b"",
            cpu_s=own_cpu_seconds() - cpu0,
            wall_s=time.monotonic() - wall0,
        )

    def _roles(self, start: float) -> list[asyncio.Future[None]]:
        roles: list[asyncio.Future[None]] = []
        if self.bids:
            roles.append(asyncio.ensure_future(self.bids.run(start)))
        if self.rest:
            roles.append(asyncio.ensure_future(self.rest.run(start)))
        if self.idle:
            roles.append(asyncio.ensure_future(self._hold_idle(self.idle)))
        elif self.watch and not roles:
            roles.append(asyncio.ensure_future(_sleep_until(start + self.spec.timing.duration)))
        return roles

    async def _hold_idle(self, idle: IdleSet) -> None:
        await idle.open_all()
        self._put("connected", {"opened": len(idle.conns), "seconds": idle.seconds})
        await _wait_event(self.channel.stop)

    async def _finish(self) -> None:
        if self.bids:
            await self.bids.finish()
        if self.rest:
            await self.rest.finish()

    async def _report_progress(self, start: float) -> None:
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)  # periodic report, not synchronisation
            info: dict[str, Any] = {"t": time.monotonic() - start}
            for role in (self.bids, self.rest, self.watch, self.idle):
                if role is not None:
                    info.update(role.progress())
            info["lag"] = self.lag.interval_max * 1000.0
            self.lag.interval_max = 0.0
            self._put("progress", info)


async def _sleep_until(when: float) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))


async def _wait_event(event: Event) -> None:
    """Wait for a multiprocessing Event without blocking the loop."""
    while not await asyncio.to_thread(event.wait, 0.5):
        continue
