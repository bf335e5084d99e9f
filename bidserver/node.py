"""One node: database, WebSocket port and REST port, with a graceful SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator

from aiohttp import web
from websockets.asyncio.server import Server, ServerConnection
from websockets.asyncio.server import serve as ws_serve

from bidserver import devsecret, logs
from bidserver.config import Settings
from bidserver.database import prepare
from bidserver.health import Readiness
from bidserver.wshttp import http_hook
from httpapi.app import create_app
from storage.pool import create_pool

log = logging.getLogger("bidserver.node")
DRAIN_TIMEOUT_S = 25.0


async def _not_yet(connection: ServerConnection) -> None:
    # The bidding engine arrives with the live-engine issue; until then say so plainly.
    await connection.close(1013, "bidding engine not available yet")


@contextlib.asynccontextmanager
async def _ws_port(settings: Settings, readiness: Readiness) -> AsyncIterator[Server | None]:
    if settings.role == "http":
        yield None
        return
    server = await ws_serve(
        _not_yet, settings.host, settings.ws_port, process_request=http_hook(readiness)
    )
    try:
        yield server
    finally:
        server.close(close_connections=True)
        await server.wait_closed()


@contextlib.asynccontextmanager
async def _http_port(settings: Settings, readiness: Readiness) -> AsyncIterator[None]:
    runner = web.AppRunner(create_app(readiness), handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.http_port).start()
        yield
    finally:
        await runner.cleanup()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


async def serve(settings: Settings) -> int:
    logs.configure(settings.log_level, settings.node_id)
    stop = _stop_event()
    dsn = await prepare(settings)
    if settings.jwt_secret is None:
        devsecret.load_or_create(settings.data_dir)
    pool = await create_pool(dsn)
    readiness = Readiness(pool)
    try:
        async with _ws_port(settings, readiness), _http_port(settings, readiness):
            readiness.mark_started()
            log.info(
                "serving",
                extra={
                    "ws": f"ws://{settings.host}:{settings.ws_port}/ws",
                    "http": f"http://{settings.host}:{settings.http_port}/",
                },
            )
            await stop.wait()
            log.info("draining")
            readiness.mark_draining()
    finally:
        await pool.close()
    log.info("stopped")
    return 0
