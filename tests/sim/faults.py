"""The storage port the simulated node talks to: the in-memory model plus seeded faults.

Like `storage.auctions.PgAuctionStore`, every call is bounded by the adapter's timeout
(`STORE_TIMEOUT_S`): a call that stalls past it is `unavailable`, whether or not its write
committed. Faults, all drawn from the run's seed:

- `commit_fail`: the write statement fails before it commits (nothing stored);
- `lost_answer`: the statement commits but its answer is lost (stored, reported failed);
- `stall`: a call hangs 1-5 s before or after its statement (past the timeout: unavailable);
- `row_lock`: another transaction holds one auction's row lock for 1-8 s; the persister's
  statement skips that row (`FOR UPDATE SKIP LOCKED`) and `append` raises `RowsBusy`;
- `outage`: the database is away for 2-120 s: every call fails;
- `slow_start`: after a (re)start, loads and scheduler queries take 0.5-3 s for a while;
- `unexpected`: a scheduler query raises an error that is not the product's (a bug).
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, fields

from bidserver.errors import Unavailable
from bidserver.ports import AppendItem, LoadedAuction, RowsBusy
from storage.auctions import STORE_TIMEOUT_S, _bounded
from tests.sim.memstore import MemoryStore


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which fault classes a run injects; each can be switched off by name."""

    commit_fail: bool = True
    lost_answer: bool = True
    stall: bool = True
    row_lock: bool = True
    outage: bool = True
    slow_start: bool = True
    unexpected: bool = True

    @classmethod
    def none(cls) -> FaultConfig:
        return cls(**{f.name: False for f in fields(cls)})

    def without(self, names: Sequence[str]) -> FaultConfig:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in names:
            if name not in values:
                raise ValueError(f"no fault class {name!r}; known: {', '.join(values)}")
            values[name] = False
        return FaultConfig(**values)

    def enabled(self) -> list[str]:
        return [f.name for f in fields(self) if getattr(self, f.name)]


class InjectedBug(RuntimeError):
    """An error no product code expects (not a `BidserverError`)."""


@dataclass(slots=True)
class FaultState:
    """What is wrong with the database right now (the fault scheduler sets it)."""

    flaky_until: float = -1.0  # commit_fail / lost_answer / stall draw per call while set
    outage_until: float = -1.0
    slow_until: float = -1.0
    locks: dict[int, float] | None = None  # auction -> virtual time its lock is released
    quiet: bool = False  # the end of a run: no new fault starts
    last_fault_end: float = 0.0  # when the latest fault so far ends (or ended)


class FaultyStore:
    """The `AuctionStore` port for the simulated node."""

    def __init__(
        self, memory: MemoryStore, config: FaultConfig, rng: random.Random, trace: deque[str]
    ) -> None:
        self.memory = memory
        self.config = config
        self.state = FaultState(locks={})
        self._rng = rng
        self._trace = trace
        self.timeout_s = STORE_TIMEOUT_S
        self.commits = 0  # write statements that committed (the persister's progress)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    # --- the port -----------------------------------------------------------------------------

    async def load(self, auction_id: int) -> LoadedAuction | None:
        async with _bounded(self.timeout_s):
            await self._enter(slowable=True)
            return self.memory.load(auction_id)

    async def append(self, items: Sequence[AppendItem]) -> set[int]:
        async with _bounded(self.timeout_s):
            return await self._append(items)

    async def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        async with _bounded(self.timeout_s):
            await self._enter(slowable=False)
            return self.memory.public_events(auction_id, after_seq, up_to_seq)

    async def due(self, until_ms: int) -> list[int]:
        async with _bounded(self.timeout_s):
            await self._enter(slowable=True)
            if self.config.unexpected and self._flaky() and self._rng.random() < 0.05:
                self._trace.append(f"{self._now():.3f} fault: due() raises a foreign error")
                raise InjectedBug("a driver error nobody translated")
            return self.memory.due(until_ms)

    # --- the append of storage.auctions.append, statement by statement ------------------------

    async def _append(self, items: Sequence[AppendItem]) -> set[int]:
        refused: set[int] = set()
        busy: set[int] = set()
        pending = list(items)
        while pending:
            newly = await self._statement(pending)
            if not newly:
                break
            await self._enter(slowable=False)
            locked = self.memory.still_matching(pending, newly)
            busy |= locked
            done = set(self.memory.already_stored(pending, newly - locked))
            done_ids = {item.auction_id for i, item in enumerate(pending) if i in done}
            refused |= newly - locked - done_ids
            pending = [
                item
                for i, item in enumerate(pending)
                if i not in done and item.auction_id not in refused | busy
            ]
        if busy:
            raise RowsBusy(busy, refused)
        return refused

    async def _statement(self, items: Sequence[AppendItem]) -> set[int]:
        """The persister's statement: `FOR UPDATE SKIP LOCKED` leaves a locked row out."""
        await self._enter(slowable=False)
        before = self._draw_write_fault()
        if before == "commit_fail":
            raise Unavailable("database unavailable")
        if before == "stall_before":
            await asyncio.sleep(self._rng.uniform(1.0, 5.0))
        refused = self.memory.write_items(items, skip=self._locked({i.auction_id for i in items}))
        self.commits += 1
        if before == "lost_answer":
            raise Unavailable("database unavailable")
        if before == "stall_after":
            await asyncio.sleep(self._rng.uniform(1.0, 5.0))
        return refused

    def _locked(self, auction_ids: set[int]) -> set[int]:
        now, locks = self._now(), self.state.locks or {}
        return {a for a in auction_ids if locks.get(a, -1.0) > now}

    # --- faults -------------------------------------------------------------------------------

    def _flaky(self) -> bool:
        return self._now() < self.state.flaky_until

    async def _enter(self, *, slowable: bool) -> None:
        """The round trip: latency, a slow start, an outage."""
        rng = self._rng
        delay = rng.uniform(0.0005, 0.004) if rng.random() < 0.95 else rng.uniform(0.02, 0.2)
        if slowable and self._now() < self.state.slow_until:
            delay += rng.uniform(0.5, 3.0)
        await asyncio.sleep(delay)
        if self._now() < self.state.outage_until:
            raise Unavailable("database unavailable")
        if self.config.commit_fail and self._flaky() and rng.random() < 0.1:
            raise Unavailable("database unavailable")

    def _draw_write_fault(self) -> str | None:
        if not self._flaky():
            return None
        draw, config = self._rng.random(), self.config
        if config.commit_fail and draw < 0.15:
            return "commit_fail"
        if config.lost_answer and 0.15 <= draw < 0.3:
            return "lost_answer"
        if config.stall and 0.3 <= draw < 0.36:
            return "stall_before" if self._rng.random() < 0.5 else "stall_after"
        return None
