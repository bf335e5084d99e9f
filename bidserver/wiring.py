"""The live engine of one node: event store, persister and the registry of actors."""

from __future__ import annotations

import asyncpg

from bidserver.baseline.engine import RowLockDirectory
from bidserver.config import Engine as EngineKind
from bidserver.engine.handles import Directory
from bidserver.engine.persister import Persister
from bidserver.engine.registry import Registry
from storage.auctions import PgAuctionStore


class Engine:
    def __init__(
        self, pool: asyncpg.Pool, *, durable: bool = True, kind: EngineKind = "actor"
    ) -> None:
        self.store = PgAuctionStore(pool)
        # Memory-acked events were already announced: a failed write is retried, not undone.
        self.persister = Persister(self.store, retry_failures=not durable)
        self.registry: Directory = (
            Registry(self.store, self.persister, durable=durable)
            if kind == "actor"
            else RowLockDirectory(pool)
        )

    def start(self) -> None:
        self.persister.start()
        self.registry.start()

    async def close(self) -> None:
        """Stop taking commands, let actors finish their inboxes, then flush every write."""
        await self.registry.close()
        await self.persister.stop()
