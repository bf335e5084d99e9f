"""REST load: `GET /vehicles` with filters and `POST /auctions/{id}/max-bid` (or `…/bid`),
each on its own fixed-rate schedule (open loop: each request is its own task, started at
its intended time).

Bids go round-robin over the auctions, amounts rising per auction as on the WebSocket (so
with enough auctions consecutive bids on one auction are far apart and arrive in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from bench.plans import Channel, RestPlan, TallyOutcome, Timing
from bench.tally import Tally

VEHICLE_QUERIES: tuple[dict[str, str], ...] = (
    {"make": "Honda"},
    {"make": "Toyota", "model": "Corolla", "sort": "-year"},
    {"yearMin": "2010", "yearMax": "2015", "sort": "mileage"},
    {"q": "Golf", "limit": "50"},
    {"page": "3", "limit": "20"},
)
_MAX_BURST = 256


class RestLoad:
    def __init__(
        self, plan: RestPlan, timing: Timing, channel: Channel, index: int, workers: int
    ) -> None:
        self.plan = plan
        self.timing = timing
        self.channel = channel
        self.index = index
        self.workers = workers
        self.tallies = {"get": Tally(0.0, 0.0), "bid": Tally(0.0, 0.0)}
        self.http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def prepare(self) -> None:
        connector = aiohttp.TCPConnector(limit=256, force_close=False)
        self.http = aiohttp.ClientSession(connector=connector)

    async def run(self, start: float) -> None:
        window = (start + self.timing.warmup, start + self.timing.duration)
        self.tallies = {name: Tally(*window) for name in self.tallies}
        await asyncio.gather(
            self._schedule(start, self.plan.get_rate, "get", self._get),
            self._schedule(start, self.plan.bid_rate, "bid", self._bid),
        )
        for tally in self.tallies.values():
            tally.finish_sending()

    async def _schedule(
        self, start: float, rate: float, name: str, request: Callable[[int], Awaitable[str | None]]
    ) -> None:
        if rate <= 0:
            return
        interval, offset = self.workers / rate, self.index / rate
        end = start + self.timing.duration
        k = 0
        while not self.channel.stop.is_set():
            due = start + offset + k * interval
            if due >= end:
                return
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(max(due - now, 0.001))  # uvloop timers: 1 ms resolution
                continue
            burst = 0
            while due <= now and due < end and burst < _MAX_BURST:
                self._launch(name, due, k * self.workers + self.index, request)
                k += 1
                burst += 1
                due = start + offset + k * interval
            await asyncio.sleep(0)

    def _launch(
        self, name: str, due: float, n: int, request: Callable[[int], Awaitable[str | None]]
    ) -> None:
        tally = self.tallies[name]
        tally.sent_one(due)

        async def timed() -> None:
            sent = time.monotonic()
            try:
                error = await request(n)
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = type(exc).__name__
            tally.answered(due, sent, time.monotonic(), error)

        task = asyncio.get_running_loop().create_task(timed())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _get(self, n: int) -> str | None:
        assert self.http is not None
        query = VEHICLE_QUERIES[n % len(VEHICLE_QUERIES)]
        async with self.http.get(f"{self.plan.http_url}/vehicles", params=query) as response:
            return await _error_of(response, 200)

    async def _bid(self, n: int) -> str | None:
        assert self.http is not None
        plan = self.plan
        slot, k = n % len(plan.auction_ids), n // len(plan.auction_ids)
        token = plan.tokens[k % len(plan.tokens)]
        field, path = ("maxAmount", "max-bid") if plan.message == "max_bid" else ("amount", "bid")
        body = {field: plan.bases[slot] + k * plan.step, "bidId": f"{plan.bid_id_prefix}{n:012x}"}
        url = f"{plan.http_url}/auctions/{plan.auction_ids[slot]}/{path}"
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.post(url, json=body, headers=headers) as response:
            return await _error_of(response, 201)

    def progress(self) -> dict[str, Any]:
        get, bid = self.tallies["get"], self.tallies["bid"]
        p99s = [p for p in (get.progress_p99(), bid.progress_p99()) if p is not None]
        return {
            "sent": get.sent + bid.sent,
            "accepted": get.accepted + bid.accepted,
            "errors": sum(get.errors.values()) + sum(bid.errors.values()),
            "p99": max(p99s) if p99s else None,
        }

    async def finish(self) -> None:
        for tally in self.tallies.values():
            await tally.wait_drained(self.timing.grace)

    def outcome(self) -> dict[str, TallyOutcome]:
        return {name: tally.outcome() for name, tally in self.tallies.items()}

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self.http is not None:
            with contextlib.suppress(Exception):
                await self.http.close()


async def _error_of(response: aiohttp.ClientResponse, expected: int) -> str | None:
    """None for the expected status, else `STATUS code` from the error body."""
    body = await response.read()
    if response.status == expected:
        return None
    code = "?"
    with contextlib.suppress(ValueError, KeyError, TypeError):
        code = str(json.loads(body)["error"]["code"])
    return f"{response.status} {code}"
