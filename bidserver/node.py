"""One node: database, engine, WebSocket port and REST port, with a graceful SIGTERM drain."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator

from aiohttp import web

from bidserver import devsecret, logs, seeding, startup
from bidserver.cluster.placement import LocalPlacement, Placement
from bidserver.config import SettingError, Settings
from bidserver.database import prepare
from bidserver.engine.handles import NotOwnedHere
from bidserver.engine.router import Router
from bidserver.gateway.server import Gateway
from bidserver.gateway.session import GatewayContext
from bidserver.health import Readiness
from bidserver.wiring import Engine, cluster_placement
from httpapi.app import create_app
from storage.pool import create_pool

log = logging.getLogger("bidserver.node")
DRAIN_TIMEOUT_S = 25.0  # SIGTERM to exit within 30 s, whatever the database does


@contextlib.asynccontextmanager
async def _http_port(settings: Settings, app: web.Application) -> AsyncIterator[None]:
    if settings.role == "ws":
        yield
        return
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, settings.host, settings.http_port).start()
        except OSError as exc:  # taken since the start-up check: still one line
            raise startup.bind_error(
                "BIDSERVER_HTTP_PORT", settings.host, settings.http_port, exc
            ) from None
        yield
    finally:
        await runner.cleanup()


def _stop_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


GEN0_THRESHOLD = 5_000


def _settle_heap() -> None:
    """Keep full collections off the bid path.

    Start-up objects (modules, settings, pools) live for the whole run: freezing them takes
    them out of every later collection. `python -m bench hot --rate 2000`: p99 11 ms with
    it, 16-30 ms without. A bid allocates a few dozen short-lived containers, so at the
    default gen-0 threshold (700) the collector ran ~400 times a second and took 7 % of the
    core; at 5,000 it takes under 1.5 % (`hot --rate 10000 --connections 200`: p99 25 ms
    → 10-14 ms). Raising it before the answers and releases stopped feeding the old
    generation made p99 worse, so that order mattered.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, *gc.get_threshold()[1:])


def _banner(settings: Settings) -> None:
    """Human-readable start line on stdout; the JSON logs go to stderr."""
    host = settings.host
    page_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    lines = [
        f"bidserver is running: open http://{page_host}:{settings.http_port}/ in a browser",
        f"  WebSocket  ws://{host}:{settings.ws_port}/ws",
        f"  REST       http://{host}:{settings.http_port}/",
        f"  health     http://{host}:{settings.http_port}/health",
        f"  API docs   http://{host}:{settings.http_port}/docs",
        f"  protocol   http://{host}:{settings.http_port}/asyncapi.json and docs/protocol.md",
        "  money is an integer of whole currency units: 25000 is $25,000",
    ]
    if settings.demo:
        lines.append(
            "  demo       auctions are replaced as they close;"
            " `bidserver seed-demo --reset` starts it afresh"
        )
    lines.append("  stop with Ctrl-C")
    print("\n".join(lines), flush=True)


async def serve(settings: Settings) -> int:
    logs.configure(settings.log_level, settings.node_id)
    startup.claim(settings)  # data dir and ports: fail in one line before any work
    stop = _stop_event()
    dsn = await prepare(settings)
    secret = settings.jwt_secret or devsecret.load_or_create(settings.data_dir)
    pool = await create_pool(dsn, min_size=2, max_size=10)
    lease_placement = cluster_placement(settings)
    engine = Engine(
        pool,
        durable=settings.ack_mode == "durable",
        kind=settings.engine,
        placement=lease_placement,
    )
    readiness = Readiness(pool, joined=lease_placement.joined if lease_placement else None)
    ctx = GatewayContext(engine.registry, engine.store, secret, settings.ws_rate_limit)
    gateway = Gateway(ctx, readiness)
    owns = settings.role != "http"
    directory = engine.registry if owns else NotOwnedHere()
    placement: Placement = lease_placement or LocalPlacement(
        settings.node_id, (settings.advertise_host, settings.cluster_port), lambda: len(engine)
    )
    app = create_app(settings, dsn, secret, readiness, Router(directory), placement)
    if owns:
        engine.start()
    keeper = asyncio.create_task(seeding.keep_alive(pool)) if settings.demo else None
    try:
        if settings.role != "http":
            await _ws_port(settings, gateway)
        async with _http_port(settings, app):
            readiness.mark_started()
            log.info(
                "serving",
                extra={
                    "role": settings.role,
                    "engine": settings.engine,
                    "ack_mode": settings.ack_mode,
                },
            )
            _settle_heap()
            _banner(settings)
            await stop.wait()
            log.info("draining")
            readiness.mark_draining()
            await _drain(engine, gateway)
    except SettingError:
        await engine.close()  # a port lost since the check: stop what started, then one line
        await gateway.close()
        raise
    finally:
        if keeper is not None:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
        await pool.close()
    log.info("stopped")
    return 0


async def _ws_port(settings: Settings, gateway: Gateway) -> None:
    try:
        await gateway.start(settings.host, settings.ws_port, settings.allowed_origins)
    except OSError as exc:
        raise startup.bind_error(
            "BIDSERVER_WS_PORT", settings.host, settings.ws_port, exc
        ) from None


async def _drain(engine: Engine, gateway: Gateway) -> None:
    """Stop taking work, flush every accepted bid, then close sockets with 1001."""
    gateway.stop_accepting()
    try:
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            await engine.close()
    except TimeoutError:
        print("bidserver: drain timed out; some writes may be unflushed", file=sys.stderr)
    await gateway.close()
