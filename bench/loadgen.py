"""The parent side of a run: spawn the workers, start them together, watch, collect.

Workers connect first and say `ready`; the parent then fixes a common start a moment
ahead (by the machine's monotonic clock, which all processes share) and sets `go`. While
the schedule runs it prints one progress line a second, samples the server's CPU over the
measured window, and runs the scenario's hook (e.g. pausing the database); then it waits
for every worker's result.
"""

from __future__ import annotations

import asyncio
import queue
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bench.plans import Channel, WorkerResult, WorkerSpec, spawn_context
from bench.system import ProcessSampler
from bench.worker import worker_main

READY_TIMEOUT_S = 600.0
START_DELAY_S = 0.3


class RunFailed(RuntimeError):
    pass


@dataclass
class RunOutcome:
    results: list[WorkerResult]
    start_at: float
    start_wall: float
    server_cpu_pct: float | None = None
    server_rss_ready: int | None = None
    server_rss_end: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    bids_numbered: int = 0  # the shared bid counter at the end: bids 0 … n-1 were sent


class Controller:
    """What a scenario hook sees: the start time, worker messages, and the stop switch."""

    def __init__(self, channel: Channel, workers: int, sampler: ProcessSampler | None) -> None:
        self.channel = channel
        self.workers = workers
        self.sampler = sampler
        self.start_at = 0.0
        self.start_wall = 0.0
        self.notes: dict[str, Any] = {}
        self._inbox: dict[str, list[Any]] = {}
        self._arrived = asyncio.Event()

    def deliver(self, kind: str, info: Any) -> None:
        self._inbox.setdefault(kind, []).append(info)
        self._arrived.set()

    async def wait_for(self, kind: str, count: int | None = None) -> list[Any]:
        """The first `count` (default: one per worker) messages of this kind."""
        wanted = self.workers if count is None else count
        while len(self._inbox.get(kind, [])) < wanted:
            self._arrived.clear()
            await self._arrived.wait()
        return self._inbox[kind][:wanted]

    async def sleep_until(self, offset_s: float) -> None:
        """Until `offset_s` seconds after the schedule's start."""
        await asyncio.sleep(max(0.0, self.start_at + offset_s - time.monotonic()))

    def stop(self) -> None:
        self.channel.stop.set()


Hook = Callable[[Controller], Coroutine[Any, Any, None]]


async def run_workers(
    specs: list[WorkerSpec],
    *,
    label: str,
    sampler: ProcessSampler | None,
    quiet: bool = False,
    hook: Hook | None = None,
) -> RunOutcome:
    ctx = spawn_context()
    channel = Channel.create(ctx)
    procs = [ctx.Process(target=worker_main, args=(s, channel), daemon=True) for s in specs]
    for proc in procs:
        proc.start()
    ctl = Controller(channel, len(specs), sampler)
    pump = _Pump(channel, ctl, label, quiet)
    pump_task = asyncio.create_task(pump.run())
    try:
        return await _drive(specs, channel, ctl, pump, sampler, hook)
    finally:
        channel.stop.set()
        pump_task.cancel()
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()


async def _drive(
    specs: list[WorkerSpec],
    channel: Channel,
    ctl: Controller,
    pump: _Pump,
    sampler: ProcessSampler | None,
    hook: Hook | None,
) -> RunOutcome:
    timing = specs[0].timing
    async with asyncio.timeout(READY_TIMEOUT_S):
        ready = await asyncio.wait(
            [asyncio.ensure_future(ctl.wait_for("ready")), asyncio.ensure_future(pump.failed())],
            return_when=asyncio.FIRST_COMPLETED,
        )
    for task in ready[1]:
        task.cancel()
    pump.raise_failure()
    rss_ready = sampler.rss_bytes() if sampler else None
    ctl.start_at = channel.start_at.value = time.monotonic() + START_DELAY_S
    ctl.start_wall = channel.start_wall.value = time.time() + START_DELAY_S
    pump.start_at = ctl.start_at
    channel.go.set()
    cpu_task = asyncio.create_task(_sample_cpu(ctl, sampler, timing.warmup, timing.duration))
    hook_task = asyncio.create_task(hook(ctl)) if hook else None
    limit = timing.duration + timing.grace + 120.0 + (READY_TIMEOUT_S if hook else 0.0)
    try:
        async with asyncio.timeout(limit):
            results = await pump.results(len(specs))
            if hook_task is not None:
                await hook_task
    finally:
        if hook_task is not None and not hook_task.done():
            hook_task.cancel()
    failed = [r.error for r in results if r.error]
    if failed:
        raise RunFailed(f"worker failed: {failed[0]}")
    cpu = await cpu_task
    return RunOutcome(
        results=sorted(results, key=lambda r: r.index),
        start_at=ctl.start_at,
        start_wall=ctl.start_wall,
        server_cpu_pct=cpu,
        server_rss_ready=rss_ready,
        server_rss_end=sampler.rss_bytes() if sampler else None,
        notes=ctl.notes,
        bids_numbered=channel.counter.value,
    )


async def _sample_cpu(
    ctl: Controller, sampler: ProcessSampler | None, warmup: float, duration: float
) -> float | None:
    if sampler is None:
        return None
    await ctl.sleep_until(warmup)
    sampler.mark()
    await ctl.sleep_until(duration)
    return sampler.cpu_percent_since_mark()


class _Pump:
    """Moves worker messages from the multiprocessing queue into the loop; prints progress."""

    def __init__(self, channel: Channel, ctl: Controller, label: str, quiet: bool) -> None:
        self.channel = channel
        self.ctl = ctl
        self.label = label
        self.quiet = quiet
        self.start_at = 0.0
        self.latest: dict[int, dict[str, Any]] = {}
        self._results: dict[int, WorkerResult] = {}
        self._changed = asyncio.Event()
        self._last_print = 0.0

    async def run(self) -> None:
        while True:
            self._drain()
            if self.start_at and time.monotonic() - self._last_print >= 1.0 and self.latest:
                self._print()
            await asyncio.sleep(0.02)  # polling a multiprocessing queue from the loop

    def _drain(self) -> None:
        while True:
            try:
                kind, index, info = self.channel.queue.get_nowait()
            except queue.Empty:
                return
            if kind == "progress":
                self.latest[index] = info
            elif kind == "result":
                self._results[index] = info
            else:
                self.ctl.deliver(kind, info)
            self._changed.set()

    async def results(self, count: int) -> list[WorkerResult]:
        while len(self._results) < count:
            self._changed.clear()
            await self._changed.wait()
        return list(self._results.values())

    async def failed(self) -> None:
        while not any(r.error for r in self._results.values()):
            self._changed.clear()
            await self._changed.wait()

    def raise_failure(self) -> None:
        for result in self._results.values():
            if result.error:
                raise RunFailed(f"worker {result.index} failed: {result.error}")

    def _print(self) -> None:
        self._last_print = time.monotonic()
        if self.quiet:
            return
        rows = list(self.latest.values())
        t = max(r.get("t", 0.0) for r in rows)
        parts = [f"[{self.label}] {t:5.1f}s"]
        for key, name in (("sent", "sent"), ("accepted", "ok"), ("errors", "err")):
            if any(key in r for r in rows):
                parts.append(f"{name} {sum(int(r.get(key, 0)) for r in rows)}")
        p99s = [r["p99"] for r in rows if r.get("p99") is not None]
        if p99s:
            parts.append(f"p99 {max(p99s):.2f} ms")
        for key in ("frames", "open"):
            if any(key in r for r in rows):
                parts.append(f"{key} {sum(int(r.get(key, 0)) for r in rows)}")
        parts.append(f"gen-lag {max(float(r.get('lag', 0.0)) for r in rows):.1f} ms")
        print("  ".join(parts), file=sys.stderr, flush=True)
