"""The harness itself: the loop the suite runs on and the isolation its fixtures promise."""

from __future__ import annotations

import asyncio

import asyncpg
import uvloop
from redis.asyncio import Redis


async def test_async_tests_run_on_uvloop() -> None:
    assert isinstance(asyncio.get_running_loop(), uvloop.Loop)


async def test_clean_db_starts_empty_with_identities_reset(clean_db: asyncpg.Pool) -> None:
    assert await clean_db.fetchval("SELECT count(*) FROM users") == 0
    user_id = await clean_db.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ('first@example.com', 'x', 'First', 'bidder') RETURNING id"
    )
    assert user_id == 1


async def test_redis_speaks_bytes_under_the_run_prefix(redis: Redis, redis_prefix: str) -> None:
    key = f"{redis_prefix}greeting"
    await redis.set(key, b"\x00hello")
    assert await redis.get(key) == b"\x00hello"
    assert key.startswith("test:")
