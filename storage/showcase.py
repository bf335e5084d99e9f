"""Reads only the web pages need: which auction shows a vehicle."""

from __future__ import annotations

import asyncpg

from storage.errors import translate


async def latest_auction_of(pool: asyncpg.Pool, vehicle_id: int) -> int | None:
    """The id of the vehicle's most recent auction, if it ever had one."""
    with translate():
        found: int | None = await pool.fetchval(
            "SELECT id FROM auctions WHERE vehicle_id = $1 ORDER BY created_at DESC, id DESC"
            " LIMIT 1",
            vehicle_id,
        )
    return found
