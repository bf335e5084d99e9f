"""Reaching the database: start-up waits, pool codecs and the error boundary."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from bidserver.errors import BadRequest, Internal, Unavailable
from storage.errors import DatabaseUnreachable, translate
from storage.pool import create_pool, wait_for_database

CLOSED_PORT = "postgresql://postgres@127.0.0.1:1/postgres"


async def test_wait_for_database_gives_up_at_the_deadline() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(DatabaseUnreachable, match="BIDSERVER_DATABASE_URL") as info:
        await wait_for_database(CLOSED_PORT, timeout_s=0.5)
    elapsed = loop.time() - started
    assert 0.5 <= elapsed < 2.0
    assert isinstance(info.value, Unavailable)
    assert isinstance(info.value.__cause__, OSError)


async def test_wait_for_database_fails_fast_on_an_unknown_database(pg_dsn: str) -> None:
    missing = pg_dsn.replace("/bidserver_test_", "/bidserver_missing_", 1)
    with pytest.raises(DatabaseUnreachable, match="BIDSERVER_DATABASE_URL is unusable"):
        await wait_for_database(missing, timeout_s=30)


async def test_wait_for_database_returns_once_reachable(pg_dsn: str) -> None:
    await wait_for_database(pg_dsn, timeout_s=5)


async def test_translate_maps_a_connection_error_to_unavailable() -> None:
    with pytest.raises(Unavailable) as info, translate():
        await asyncpg.connect(CLOSED_PORT)
    assert isinstance(info.value.__cause__, OSError)


async def test_translate_maps_other_database_errors_to_internal(db: asyncpg.Pool) -> None:
    with pytest.raises(Internal) as info, translate():
        await db.execute("SELECT * FROM no_such_table")
    assert isinstance(info.value.__cause__, asyncpg.UndefinedTableError)
    assert info.value.details == {"sqlstate": "42P01"}


def test_translate_lets_product_errors_through() -> None:
    error = BadRequest("amount must be an integer")
    with pytest.raises(BadRequest) as info, translate():
        raise error
    assert info.value is error


async def test_pool_round_trips_jsonb_as_python_values(pg_dsn: str) -> None:
    pool = await create_pool(pg_dsn, max_size=2)
    try:
        value = {"reason": "outbid", "amounts": [25_000, 25_250], "final": None}
        assert await pool.fetchval("SELECT $1::jsonb", value) == value
    finally:
        await pool.close()
