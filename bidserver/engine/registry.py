"""Which auctions have a live actor on this node: activation, the close scheduler, passivation.

An actor is activated on first use by rebuilding its state from the event log. Auctions
nobody touches are activated ahead of their end by the scheduler, so a close is announced
even when nobody bids; idle actors are dropped to keep memory proportional to activity.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from bidserver import metrics
from bidserver.engine.actor import AuctionActor
from bidserver.engine.persister import Persister
from bidserver.errors import BidserverError, NotFound, Unavailable
from bidserver.ports import AuctionStore
from bidserver.timefmt import now_ms

log = logging.getLogger("bidserver.registry")

SCHEDULE_HORIZON_MS = 60_000  # activate auctions ending within this window
SCHEDULE_EVERY_S = 5.0
IDLE_AFTER_S = 60.0


class Registry:
    def __init__(self, store: AuctionStore, persister: Persister, *, durable: bool) -> None:
        self._store = store
        self._persister = persister
        self._durable = durable
        self._actors: dict[int, AuctionActor] = {}
        self._loading: dict[int, asyncio.Task[AuctionActor]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def live(self, auction_id: int) -> AuctionActor | None:
        """The fast path: an already active actor, without awaiting anything."""
        return self._actors.get(auction_id)

    async def get(self, auction_id: int) -> AuctionActor:
        actor = self._actors.get(auction_id)
        if actor is not None:
            return actor
        if self._closing:
            raise Unavailable("this node is shutting down")
        loading = self._loading.get(auction_id)
        if loading is None:
            loading = asyncio.create_task(self._activate(auction_id))
            loading.add_done_callback(_retrieve)
            self._loading[auction_id] = loading
        return await asyncio.shield(loading)

    async def _activate(self, auction_id: int) -> AuctionActor:
        """Load once however many callers wait; a missing auction is `not_found`."""
        try:
            loaded = await self._store.load(auction_id)
            if loaded is None:
                raise NotFound(f"auction {auction_id} does not exist")
            actor = AuctionActor(loaded, self._store, self._persister, durable=self._durable)
            actor.start()
            self._actors[auction_id] = actor
            metrics.LIVE_ACTORS.set(len(self._actors))
            return actor
        finally:
            del self._loading[auction_id]

    def start(self) -> None:
        self._task = asyncio.create_task(self._maintain(), name="registry")

    async def _maintain(self) -> None:
        while True:
            try:
                await self._activate_due()
                await self._passivate_idle()
            except BidserverError as exc:
                log.warning("scheduler pass failed", extra={"error": repr(exc)})
            await asyncio.sleep(SCHEDULE_EVERY_S)  # periodic work, not synchronisation

    async def _activate_due(self) -> None:
        for auction_id in await self._store.due(now_ms() + SCHEDULE_HORIZON_MS):
            if auction_id not in self._actors:
                with contextlib.suppress(BidserverError):
                    await self.get(auction_id)

    async def _passivate_idle(self) -> None:
        limit = asyncio.get_running_loop().time() - IDLE_AFTER_S
        horizon = now_ms() + SCHEDULE_HORIZON_MS
        for auction_id, actor in list(self._actors.items()):
            ends_soon = actor.state.ended is None and actor.state.ends_at <= horizon
            if actor.idle() and actor.last_active < limit and not ends_soon:
                del self._actors[auction_id]
                await actor.stop()
        metrics.LIVE_ACTORS.set(len(self._actors))

    async def close(self) -> None:
        """Stop activating, let every actor finish its inbox, then stop them."""
        self._closing = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        actors = list(self._actors.values())
        self._actors.clear()
        await asyncio.gather(*(actor.stop() for actor in actors))
        metrics.LIVE_ACTORS.set(0)

    def __len__(self) -> int:
        return len(self._actors)


def _retrieve(task: asyncio.Task[AuctionActor]) -> None:
    """Mark a failed activation's error as seen even if every waiter went away."""
    if not task.cancelled():
        task.exception()
