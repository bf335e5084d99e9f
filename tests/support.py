"""Test data and a running engine on real PostgreSQL, shared by the integration suites."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web
from websockets.asyncio.client import ClientConnection, connect

from bidserver.accounts.tokens import mint_access
from bidserver.config import Engine as EngineKind
from bidserver.config import Settings, WsRateLimit, load_settings
from bidserver.engine.router import Router
from bidserver.gateway.server import Gateway
from bidserver.gateway.session import GatewayContext
from bidserver.health import Readiness
from bidserver.wiring import Engine
from httpapi.app import create_app

SECRET = b"test-secret-test-secret-test-secret!"
_emails = itertools.count(1)
_VIN = "1HGCM82633A004352"


async def make_user(pool: asyncpg.Pool, role: str = "bidder") -> int:
    n = next(_emails)
    user_id: int = await pool.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ($1, 'x', $2, $3) RETURNING id",
        f"user{n}-{role}@example.test",
        f"User {n}",
        role,
    )
    return user_id


async def make_auction(
    pool: asyncpg.Pool,
    *,
    seller_id: int | None = None,
    starts_in: timedelta = timedelta(hours=-1),
    ends_in: timedelta = timedelta(hours=1),
    starting_price: int = 1000,
    reserve_price: int | None = None,
    buy_now_price: int | None = None,
    anti_snipe_seconds: int = 120,
    max_extensions: int | None = None,
) -> tuple[int, int]:
    """A vehicle and its auction; returns (auction id, seller id)."""
    seller = seller_id or await make_user(pool, "seller")
    vehicle = await pool.fetchval(
        "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage)"
        " VALUES ($1, $2, 'Honda', 'Accord', 2003, 100000) RETURNING id",
        seller,
        _VIN,
    )
    now = datetime.now(UTC)
    auction: int = await pool.fetchval(
        "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at,"
        " starting_price, reserve_price, buy_now_price, anti_snipe_seconds, max_extensions)"
        " VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        vehicle,
        seller,
        now + starts_in,
        now + ends_in,
        starting_price,
        reserve_price,
        buy_now_price,
        anti_snipe_seconds,
        max_extensions,
    )
    return auction, seller


def token_for(user_id: int, role: str = "bidder", ttl_s: int = 900) -> str:
    now = int(datetime.now(UTC).timestamp())
    return mint_access(SECRET, user_id, role, now, ttl_s)


@dataclass
class RunningEngine:
    engine: Engine
    url: str
    pool: asyncpg.Pool

    @asynccontextmanager
    async def client(
        self, user_id: int | None = None, **kwargs: Any
    ) -> AsyncIterator[ClientConnection]:
        headers = kwargs.pop("additional_headers", {})
        if user_id is not None:
            headers["Authorization"] = f"Bearer {token_for(user_id)}"
        async with connect(self.url, additional_headers=headers, **kwargs) as ws:
            yield ws


_GENEROUS = WsRateLimit(10_000, 20_000)


@asynccontextmanager
async def running_engine(
    pool: asyncpg.Pool,
    *,
    durable: bool = True,
    kind: EngineKind = "actor",
    rate: WsRateLimit = _GENEROUS,
    origins: frozenset[str] = frozenset({"http://localhost:8080"}),
) -> AsyncIterator[RunningEngine]:
    """An engine and gateway on an ephemeral port of 127.0.0.1, closed on exit."""
    engine = Engine(pool, durable=durable, kind=kind)
    readiness = Readiness(pool)
    gateway = Gateway(GatewayContext(engine.registry, engine.store, SECRET, rate), readiness)
    engine.start()
    server = await gateway.start("127.0.0.1", 0, origins)
    readiness.mark_started()
    port = next(iter(server.sockets)).getsockname()[1]
    try:
        yield RunningEngine(engine, f"ws://127.0.0.1:{port}/ws", pool)
    finally:
        gateway.stop_accepting()
        await engine.close()
        await gateway.close()


async def request(ws: ClientConnection, message: dict[str, Any]) -> dict[str, Any]:
    """Send one message and return the next message that echoes its ref."""
    await ws.send(json.dumps(message))
    while True:
        reply = json.loads(await ws.recv())
        if reply.get("ref") == message.get("ref"):
            return dict(reply)


async def next_of_type(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message = json.loads(await ws.recv())
        if message.get("type") == kind:
            return dict(message)


@dataclass
class RunningApi:
    """The REST sidecar (and the engine behind its bid endpoints) on an ephemeral port."""

    base: str
    http: aiohttp.ClientSession
    engine: Engine
    pool: asyncpg.Pool

    def auth(self, user_id: int, role: str = "bidder") -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(user_id, role)}"}


@asynccontextmanager
async def running_api(
    pool: asyncpg.Pool, dsn: str, *, settings: Settings | None = None
) -> AsyncIterator[RunningApi]:
    engine = Engine(pool)
    readiness = Readiness(pool)
    app = create_app(
        settings
        or load_settings({"BIDSERVER_DATABASE_URL": dsn, "BIDSERVER_JWT_SECRET": SECRET.decode()}),
        dsn,
        SECRET,
        readiness,
        Router(engine.registry),
    )
    engine.start()
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    readiness.mark_started()
    port = runner.addresses[0][1]
    try:
        async with aiohttp.ClientSession() as http:
            yield RunningApi(f"http://127.0.0.1:{port}", http, engine, pool)
    finally:
        await runner.cleanup()
        await engine.close()
