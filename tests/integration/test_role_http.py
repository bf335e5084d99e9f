"""A REST-only node (`--role http`) owns no auction: it never decides a bid itself."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import asyncpg
from aiohttp import web

from bidserver.config import load_settings
from bidserver.engine.handles import NotOwnedHere
from bidserver.engine.router import Router
from bidserver.health import Readiness
from httpapi.app import create_app
from tests.support import SECRET, make_auction, make_user, token_for


@asynccontextmanager
async def rest_only(pool: asyncpg.Pool, dsn: str) -> AsyncIterator[str]:
    env = {"BIDSERVER_DATABASE_URL": dsn, "BIDSERVER_JWT_SECRET": SECRET.decode()}
    readiness = Readiness(pool)
    app = create_app(load_settings(env), dsn, SECRET, readiness, Router(NotOwnedHere()))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def test_bids_are_unavailable_and_reads_come_from_the_table(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    auction_id, _ = await make_auction(db, starting_price=1000)
    bidder = await make_user(db)
    headers = {"Authorization": f"Bearer {token_for(bidder)}"}
    async with rest_only(db, pg_dsn) as base, aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/auctions/{auction_id}/bid", json={"amount": 25000}, headers=headers
        ) as response:
            assert response.status == 503
            assert (await response.json())["error"]["code"] == "unavailable"
        async with http.get(f"{base}/auctions/{auction_id}") as response:
            assert response.status == 200
            body = await response.json()
            assert (body["status"], body["bidCount"], body["minimumNextBid"]) == ("open", 0, 1000)
    assert (
        await db.fetchval("SELECT count(*) FROM auction_events WHERE auction_id = $1", auction_id)
        == 0
    )
