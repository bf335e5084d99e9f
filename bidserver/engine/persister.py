"""Write-behind persistence: one writer per node, group commit of every actor's events.

Actors never await the database. They hand `WriteUnit`s to the persister and go on
deciding; the persister writes whatever has queued up in one fenced statement (its own
transaction, one round trip), while the next batch accumulates behind it (so batches grow
with load and latency stays one commit when idle). A unit's `on_done` runs after its
transaction: None on commit, or the error. In memory-ack mode a batch that failed for a
passing reason (`Unavailable`: the database is away or busy) is retried in order instead,
since it was already acked. A batch that failed for a lasting reason (a constraint, a bug)
is split by auction and each auction written on its own: only the auctions whose own writes
fail get the error (their actors reload), the rest commit, and nothing is retried for ever at
the head of the queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bidserver import metrics
from bidserver.errors import BidserverError, Internal, Unavailable
from bidserver.ports import AppendItem, AuctionStore

log = logging.getLogger("bidserver.persister")

MAX_BATCH_EVENTS = 1000
MAX_QUEUED_EVENTS = 20_000  # past this, actors refuse new bids instead of queueing them
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 1.0


class OwnershipLost(Unavailable):
    """The auction's row refused the write: another writer (or a newer epoch) owns it."""


@dataclass(slots=True, eq=False)
class WriteUnit:
    item: AppendItem
    on_done: Callable[[BidserverError | None], None]
    cancelled: bool = False


class Persister:
    def __init__(self, store: AuctionStore, *, retry_failures: bool = False) -> None:
        self._store = store
        self._retry = retry_failures
        self._queue: deque[WriteUnit] = deque()
        self._queued_events = 0
        self._wakeup = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="persister")

    def submit(self, unit: WriteUnit) -> None:
        self._queue.append(unit)
        self._queued_events += len(unit.item.events)
        metrics.PERSIST_QUEUE.set(self._queued_events)
        self._idle.clear()
        self._wakeup.set()

    @property
    def queued_events(self) -> int:
        return self._queued_events

    @property
    def backlogged(self) -> bool:
        return self._queued_events >= MAX_QUEUED_EVENTS

    async def flush(self) -> None:
        """Wait until every submitted unit has been written or has failed."""
        await self._idle.wait()

    async def stop(self) -> None:
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        delay = _RETRY_FIRST_S
        while True:
            if not self._queue:
                self._idle.set()
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take()
            if not batch:
                continue
            if await self._write(batch):
                delay = _RETRY_FIRST_S
            elif self._retry:  # the failed units are back at the head of the queue
                await asyncio.sleep(delay)  # back-off while the database is away
                delay = min(delay * 2, _RETRY_MAX_S)

    def _take(self) -> list[WriteUnit]:
        batch: list[WriteUnit] = []
        events = 0
        while self._queue and events < MAX_BATCH_EVENTS:
            unit = self._queue.popleft()
            self._queued_events -= len(unit.item.events)
            if not unit.cancelled:
                batch.append(unit)
                events += len(unit.item.events)
        metrics.PERSIST_QUEUE.set(self._queued_events)
        return batch

    async def _write(self, batch: list[WriteUnit]) -> bool:
        """One transaction; True unless it failed for a passing reason (then, in memory mode,
        the batch is back at the head of the queue)."""
        error = await self._attempt(batch)
        if error is None:
            return True
        if isinstance(error, Unavailable):
            if self._retry:
                self._requeue(batch)
            else:
                self._finish(batch, set(), error)
            return False
        if len({u.item.auction_id for u in batch}) == 1:
            self._finish(batch, set(), error)
            return True
        return await self._split(batch)

    async def _split(self, batch: list[WriteUnit]) -> bool:
        """A lasting failure: write each auction on its own, so one bad write fails only its
        own auction. Auctions that then fail for a passing reason are retried (memory mode)."""
        groups: dict[int, list[WriteUnit]] = {}
        for unit in batch:
            groups.setdefault(unit.item.auction_id, []).append(unit)
        again: list[WriteUnit] = []
        for group in groups.values():
            error = await self._attempt(group)
            if isinstance(error, Unavailable) and self._retry:
                again.extend(group)
            elif error is not None:
                self._finish(group, set(), error)
        self._requeue(again)
        return not again

    def _requeue(self, units: list[WriteUnit]) -> None:
        self._queue.extendleft(reversed(units))
        self._queued_events += sum(len(u.item.events) for u in units)

    async def _attempt(self, batch: list[WriteUnit]) -> BidserverError | None:
        """Append the units in one transaction and finish them if it commits; else the error."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            refused = await self._store.append([u.item for u in batch])
        except Exception as exc:
            metrics.PERSIST_FAILURES.inc()
            log.warning("persist batch failed", extra={"error": repr(exc), "units": len(batch)})
            return exc if isinstance(exc, BidserverError) else Internal("persist failed")
        metrics.PERSIST_SECONDS.observe(loop.time() - started)
        metrics.PERSIST_BATCH_EVENTS.observe(sum(len(u.item.events) for u in batch))
        if refused:
            metrics.PERSIST_FENCED.inc(len(refused))
        self._finish(batch, refused, None)
        return None

    def _finish(
        self, batch: list[WriteUnit], refused: set[int], error: BidserverError | None
    ) -> None:
        lost = OwnershipLost("this node no longer owns the auction")
        for unit in batch:
            if unit.cancelled:
                continue
            outcome = lost if unit.item.auction_id in refused else error
            try:
                unit.on_done(outcome)
            except Exception:
                log.exception("write callback failed")
