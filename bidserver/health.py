"""Liveness, readiness and metrics, answered the same way on every port of a node."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
_PROBE_TIMEOUT_S = 1.0
_PROBE_TTL_S = 1.0


class Readiness:
    """Ready once started, joined (in a cluster) and the database answers; probes are cached
    so /ready is cheap."""

    def __init__(
        self, pool: asyncpg.Pool | None, *, joined: Callable[[], bool] | None = None
    ) -> None:
        self._pool = pool
        self._joined = joined
        self._started = False
        self._draining = False
        self._checked_at = float("-inf")
        self._db_ok = False

    def mark_started(self) -> None:
        self._started = True

    def mark_draining(self) -> None:
        self._draining = True

    async def ready(self) -> bool:
        if not self._started or self._draining:
            return False
        if self._joined is not None and not self._joined():
            return False
        now = asyncio.get_running_loop().time()
        if now - self._checked_at >= _PROBE_TTL_S:
            self._db_ok = await self._probe()
            self._checked_at = now
        return self._db_ok

    async def _probe(self) -> bool:
        if self._pool is None:
            return True
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                await self._pool.fetchval("SELECT 1")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True


def metrics_body() -> bytes:
    return generate_latest(REGISTRY)
