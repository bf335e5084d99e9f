"""One simulated bidserver node: the real persister, registry (actors, scheduler) and router.

`crash` is a `kill -9`: every task of the node ends where it is, nothing is flushed, and
the dead process makes no more database calls. `stop` is the graceful stop of `serve`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from bidserver.engine.persister import Persister
from bidserver.engine.registry import Registry
from bidserver.engine.router import Router
from bidserver.errors import Unavailable
from bidserver.ports import AppendItem, LoadedAuction
from tests.sim.faults import FaultyStore


class NodeStore:
    """A node's connection to the database: it dies with the node."""

    def __init__(self, store: FaultyStore) -> None:
        self._store = store
        self.dead = False

    def _alive(self) -> None:
        if self.dead:
            raise Unavailable("this process is dead")

    async def load(self, auction_id: int) -> LoadedAuction | None:
        self._alive()
        return await self._store.load(auction_id)

    async def append(self, items: Sequence[AppendItem]) -> set[int]:
        self._alive()
        return await self._store.append(items)

    async def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        self._alive()
        return await self._store.public_events(auction_id, after_seq, up_to_seq)

    async def due(self, until_ms: int) -> list[int]:
        self._alive()
        return await self._store.due(until_ms)


class Node:
    def __init__(self, store: FaultyStore, *, durable: bool, generation: int) -> None:
        self.generation = generation
        self.store = NodeStore(store)
        self.persister = Persister(self.store, retry_failures=not durable)
        self.registry = Registry(self.store, self.persister, durable=durable)
        self.router = Router(self.registry)
        self.alive = True

    def start(self) -> None:
        self.persister.start()
        self.registry.start()

    def scheduler_alive(self) -> bool:
        task = self.registry._task
        return task is not None and not task.done()

    def crash(self) -> None:
        self.alive = False
        self.store.dead = True
        for actor in self.registry._actors.values():
            actor._stopped = True
            if actor._task is not None:
                actor._task.cancel()
            if actor._timer is not None:
                actor._timer.cancel()
        for task in (self.registry._task, self.persister._task):
            if task is not None:
                task.cancel()

    async def stop(self) -> None:
        await self.registry.close()
        await self.persister.stop()
        self.alive = False
        self.store.dead = True

    def busy(self) -> bool:
        """Units wait in the persister (queued or in the batch being written)."""
        return not self.persister._idle.is_set()


async def settle_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel whatever still runs at the end of a run, so the loop closes clean."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks(loop) if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
