"""Which auctions have a live actor on this node: activation, the close scheduler, passivation.

An actor is activated on first use by rebuilding its state from the event log. Auctions
nobody touches are activated ahead of their end by the scheduler, so a close is announced
even when nobody bids; idle actors are dropped to keep memory proportional to activity.

In a cluster (a `Placement` is given) only auctions of shards this node holds are activated,
each after bumping its epoch in PostgreSQL (the fence) and then loading it. The placement
tells the registry when shards go: `lose` halts their actors at once (the lease may be
gone), `hand_off` stops them after their inboxes and waits for their writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from functools import partial

from bidserver import metrics
from bidserver.cluster.placement import Placement
from bidserver.cluster.shards import shard_of
from bidserver.engine.actor import AuctionActor
from bidserver.engine.persister import Persister
from bidserver.errors import BidserverError, NotFound, Unavailable
from bidserver.ports import AuctionStore, LoadedAuction, OwnershipStore
from bidserver.timefmt import now_ms

log = logging.getLogger("bidserver.registry")

SCHEDULE_HORIZON_MS = 60_000  # activate auctions ending within this window
SCHEDULE_EVERY_S = 5.0
IDLE_AFTER_S = 60.0
OWNER_WAIT_S = 1.0  # a command for an auction on the move waits this long for its new owner
HAND_OFF_WRITES_S = 5.0  # a handoff waits this long for the writes already decided


class DecidedElsewhere(Unavailable):
    """Another node decides this auction (or none does yet): the command was not decided."""

    def __init__(self, auction_id: int, owner: str | None) -> None:
        where = f"node {owner}" if owner else "no node yet"
        super().__init__(f"auction {auction_id} is decided by {where}; retry")
        self.owner = owner


class Registry:
    def __init__(
        self,
        store: AuctionStore,
        persister: Persister,
        *,
        durable: bool,
        placement: Placement | None = None,
        fence: OwnershipStore | None = None,
    ) -> None:
        self._store = store
        self._placement = placement
        self._fence = fence if placement is not None else None
        self._persister = persister
        self._durable = durable
        self._actors: dict[int, AuctionActor] = {}
        self._loading: dict[int, asyncio.Task[AuctionActor]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def live(self, auction_id: int) -> AuctionActor | None:
        """The fast path: an already active actor, without awaiting anything."""
        actor = self._actors.get(auction_id)
        if actor is not None and self._placement is not None:
            return actor if self._placement.decides(auction_id) else None
        return actor

    async def get(self, auction_id: int) -> AuctionActor:
        if self._placement is not None:
            await self._owned(self._placement, auction_id)
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

    async def _owned(self, placement: Placement, auction_id: int) -> None:
        """Return once this node decides the auction; else `DecidedElsewhere`."""
        if placement.decides(auction_id):
            return
        owner = await placement.wait_owner(auction_id, OWNER_WAIT_S)
        if owner != placement.node_id or not placement.decides(auction_id):
            raise DecidedElsewhere(auction_id, owner)

    async def _activate(self, auction_id: int) -> AuctionActor:
        """Load once however many callers wait; a missing auction is `not_found`."""
        try:
            loaded = await self._load(auction_id)
            if loaded is None:
                raise NotFound(f"auction {auction_id} does not exist")
            placement = self._placement
            if placement is not None and not placement.decides(auction_id):
                raise DecidedElsewhere(auction_id, None)  # the shard went while we loaded
            actor = AuctionActor(
                loaded,
                self._store,
                self._persister,
                durable=self._durable,
                decides=None if placement is None else partial(placement.decides, auction_id),
                on_fenced=None if placement is None else self._fenced,
            )
            actor.start()
            self._actors[auction_id] = actor
            metrics.LIVE_ACTORS.set(len(self._actors))
            return actor
        finally:
            del self._loading[auction_id]

    async def _load(self, auction_id: int) -> LoadedAuction | None:
        """In a cluster: fence first (bump the epoch), then load, and write with that epoch."""
        if self._fence is None:
            return await self._store.load(auction_id)
        epoch = await self._fence.take_over(auction_id)
        if epoch is None:
            return None
        loaded = await self._store.load(auction_id)
        return None if loaded is None else dataclasses.replace(loaded, owner_epoch=epoch)

    def _fenced(self, actor: AuctionActor) -> None:
        if self._actors.get(actor.auction_id) is actor:
            del self._actors[actor.auction_id]
            metrics.LIVE_ACTORS.set(len(self._actors))

    # --- what the placement calls ---------------------------------------------------------

    def _take(self, shards: set[int]) -> list[AuctionActor]:
        taken = [a for i, a in self._actors.items() if shard_of(i) in shards]
        for actor in taken:
            del self._actors[actor.auction_id]
        metrics.LIVE_ACTORS.set(len(self._actors))
        return taken

    def lose(self, shards: set[int]) -> None:
        for actor in self._take(shards):
            actor.halt()

    async def hand_off(self, shards: set[int]) -> None:
        actors = self._take(shards)
        await asyncio.gather(*(actor.stop() for actor in actors))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HAND_OFF_WRITES_S):
                await asyncio.gather(*(actor.settled() for actor in actors))

    def live_count(self) -> int:
        return len(self._actors)

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
        placement = self._placement
        for auction_id in await self._store.due(now_ms() + SCHEDULE_HORIZON_MS):
            if placement is not None and not placement.decides(auction_id):
                continue
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
