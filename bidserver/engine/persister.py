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
the head of the queue. An auction whose row another transaction holds locked is parked
(`RowsBusy`): the rest of the batch commits at once, and that auction's units (with any
that follow them) are tried again a little later, alone in delaying their own auction; in
durable mode they give up with `unavailable` after `LOCK_PATIENCE_S`.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from bidserver import metrics
from bidserver.errors import BidserverError, Internal, Unavailable
from bidserver.ports import AppendItem, AuctionStore, RowsBusy

log = logging.getLogger("bidserver.persister")

MAX_BATCH_EVENTS = 1000
MAX_QUEUED_EVENTS = 20_000  # past this, actors refuse new bids instead of queueing them
_RETRY_FIRST_S = 0.05
_RETRY_MAX_S = 1.0
LOCK_PATIENCE_S = 2.0  # durable mode: how long bids wait for a row another transaction holds
_LOCK_RETRY_FIRST_S = 0.05
_LOCK_RETRY_MAX_S = 0.5


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
        self._parked: dict[int, deque[WriteUnit]] = {}  # auctions whose row is locked
        self._waits: dict[int, _LockWait] = {}  # since when, until one of their writes ends

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="persister")

    def submit(self, unit: WriteUnit) -> None:
        parked = self._parked.get(unit.item.auction_id)
        (self._queue if parked is None else parked).append(unit)
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
                if not self._parked:
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
        except RowsBusy as busy:
            self._finish(
                [u for u in batch if u.item.auction_id not in busy.busy], busy.refused, None
            )
            self._park([u for u in batch if u.item.auction_id in busy.busy])
            return None
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

    def _park(self, units: list[WriteUnit]) -> None:
        """Hold these units (and every later one of their auctions) apart from the batches
        while their rows are locked; bring them back after a short, growing wait."""
        loop = asyncio.get_running_loop()
        self._queued_events += sum(len(u.item.events) for u in units)
        for auction_id in dict.fromkeys(u.item.auction_id for u in units):
            wait = self._waits.setdefault(auction_id, _LockWait(loop.time()))
            held = deque(u for u in units if u.item.auction_id == auction_id)
            if any(u.item.auction_id == auction_id for u in self._queue):
                held.extend(u for u in self._queue if u.item.auction_id == auction_id)
                self._queue = deque(u for u in self._queue if u.item.auction_id != auction_id)
            self._parked[auction_id] = held
            if not self._retry and loop.time() - wait.since >= LOCK_PATIENCE_S:
                self._give_up(auction_id)
            else:
                loop.call_later(wait.next_delay(), self._unpark, auction_id)

    def _unpark(self, auction_id: int) -> None:
        held = self._parked.pop(auction_id, None)
        if held is not None:
            self._queue.extendleft(reversed(held))
            self._wakeup.set()

    def _give_up(self, auction_id: int) -> None:
        held = self._parked.pop(auction_id)
        del self._waits[auction_id]
        self._queued_events -= sum(len(u.item.events) for u in held)
        metrics.PERSIST_QUEUE.set(self._queued_events)
        busy = Unavailable("the auction's row stayed locked; retry with the same bidId")
        self._finish(list(held), set(), busy)
        self._wakeup.set()

    def _finish(
        self, batch: list[WriteUnit], refused: set[int], error: BidserverError | None
    ) -> None:
        lost = OwnershipLost("this node no longer owns the auction")
        if self._waits:  # their write ended: a later lock is waited for afresh
            for unit in batch:
                self._waits.pop(unit.item.auction_id, None)
        for unit in batch:
            if unit.cancelled:
                continue
            outcome = lost if unit.item.auction_id in refused else error
            try:
                unit.on_done(outcome)
            except Exception:
                log.exception("write callback failed")


@dataclass(slots=True, eq=False)
class _LockWait:
    since: float  # when the auction's row was first found locked
    delay: float = _LOCK_RETRY_FIRST_S

    def next_delay(self) -> float:
        delay, self.delay = self.delay, min(self.delay * 2, _LOCK_RETRY_MAX_S)
        return delay
