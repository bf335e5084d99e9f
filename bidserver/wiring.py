"""The live engine of one node: event store, persister and the registry of actors.

With a placement (a cluster: `BIDSERVER_REDIS_URL` set) the registry decides only the
auctions of the shards the placement holds, fences each before loading it, and on close
hands every shard to the other nodes before it stops.
"""

from __future__ import annotations

import asyncpg
from redis.asyncio import Redis

from bidserver.baseline.engine import RowLockDirectory
from bidserver.cluster.leases import LeasePlacement
from bidserver.config import Engine as EngineKind
from bidserver.config import Settings
from bidserver.engine.handles import Directory
from bidserver.engine.persister import Persister
from bidserver.engine.registry import Registry
from storage.auctions import PgAuctionStore


class Engine:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        durable: bool = True,
        kind: EngineKind = "actor",
        placement: LeasePlacement | None = None,
    ) -> None:
        self.store = PgAuctionStore(pool)
        # Memory-acked events were already announced: a failed write is retried, not undone.
        self.persister = Persister(self.store, retry_failures=not durable)
        self.placement = placement if kind == "actor" else None
        self.registry: Directory
        if kind == "actor":
            registry = Registry(
                self.store, self.persister, durable=durable, placement=self.placement,
                fence=self.store,
            )  # fmt: skip
            if self.placement is not None:
                self.placement.bind(registry)
            self.registry = registry
        else:
            self.registry = RowLockDirectory(pool)

    def __len__(self) -> int:
        """Live auctions decided here."""
        return len(self.registry) if isinstance(self.registry, Registry) else 0

    def start(self) -> None:
        self.persister.start()
        self.registry.start()
        if self.placement is not None:
            self.placement.start()

    async def close(self) -> None:
        """Hand shards off (a cluster), stop taking commands, let actors finish their
        inboxes, then flush every write."""
        if self.placement is not None:
            await self.placement.leave()
        await self.registry.close()
        await self.persister.stop()
        if self.placement is not None:
            await self.placement.close()


def cluster_placement(settings: Settings) -> LeasePlacement | None:
    """The cluster's placement when Redis is configured and this node decides auctions."""
    if settings.redis_url is None or settings.role == "http" or settings.engine != "actor":
        return None
    lease_s = settings.lease_ms / 1000
    redis = Redis.from_url(
        settings.redis_url, socket_timeout=lease_s / 4, socket_connect_timeout=lease_s / 4
    )
    return LeasePlacement(
        redis,
        node_id=settings.node_id,
        cluster_name=settings.cluster_name,
        address=(settings.advertise_host, settings.cluster_port),
        lease_ms=settings.lease_ms,
    )
