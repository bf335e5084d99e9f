"""Connection pools and the start-up wait for the database."""

from __future__ import annotations

import asyncio
import json
from typing import TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage.errors import DatabaseUnreachable, is_connection_error, translate

# What repositories accept: a bare connection or one borrowed from a pool.
AnyConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy

CONNECT_TIMEOUT_S = 5.0  # a hung connect fails instead of holding a request for 60 s
COMMAND_TIMEOUT_S = 10.0  # no statement of ours legitimately runs this long
_FIRST_RETRY_S = 0.05
_MAX_RETRY_S = 1.0


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Let callers pass and receive plain dicts/lists, not JSON text, for json columns."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=json.dumps, decoder=json.loads
        )


class _Connection(asyncpg.Connection):
    """No reset query on release: nothing of ours leaves session state behind (no SET, LISTEN,
    cursors or session advisory locks), and the default one costs a round trip per use,
    a third of a batch write's. An open transaction is still rolled back by asyncpg."""

    def get_reset_query(self) -> str:
        return ""


async def create_pool(dsn: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """Open a pool whose every connection carries the JSON codecs, even after a reconnect."""
    with translate():
        return await asyncpg.create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            init=_init_connection,
            connection_class=_Connection,
            timeout=CONNECT_TIMEOUT_S,
            command_timeout=COMMAND_TIMEOUT_S,
        )


async def wait_for_database(dsn: str, timeout_s: float = 30.0) -> None:
    """Ride out a database that is still starting, so a node and its database may start together.

    Errors that waiting cannot cure (bad credentials, unknown database, malformed URL) fail at
    once; either way the error names the setting to fix.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    delay = _FIRST_RETRY_S
    while True:
        try:
            await _probe(dsn, deadline - loop.time())
            return
        except Exception as exc:
            if not is_connection_error(exc) or loop.time() >= deadline:
                raise _unreachable(exc, timeout_s) from exc
        await asyncio.sleep(min(delay, max(deadline - loop.time(), 0)))  # back-off only
        delay = min(delay * 2, _MAX_RETRY_S)


async def _probe(dsn: str, remaining_s: float) -> None:
    """One connection attempt that never outlives the caller's deadline."""
    conn = await asyncpg.connect(dsn, timeout=max(remaining_s, 0.01))
    await conn.close()


def _unreachable(exc: BaseException, timeout_s: float) -> DatabaseUnreachable:
    reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if not is_connection_error(exc):
        return DatabaseUnreachable(f"BIDSERVER_DATABASE_URL is unusable ({reason})")
    return DatabaseUnreachable(
        f"BIDSERVER_DATABASE_URL: database unreachable for {timeout_s:g} s ({reason})"
    )
