"""The sidecar's application factory; state travels in typed `web.AppKey`s."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiohttp import web

from bidserver.cluster.placement import LocalPlacement, Placement
from bidserver.config import Settings
from bidserver.engine.router import Router
from bidserver.health import METRICS_CONTENT_TYPE, Readiness, metrics_body
from httpapi import (
    accounts,
    apidocs,
    auctions,
    cluster,
    openapi,
    pages,
    photos,
    valuations,
    vehicles,
)
from httpapi.cors import cors_middleware
from httpapi.errors import error_middleware
from httpapi.forwarded import forwarded_middleware
from httpapi.keys import PLACEMENT, POOL, READINESS, ROUTER, SECRET, SETTINGS
from httpapi.observe import observe_middleware
from httpapi.ratelimit import rate_limit_middleware
from storage.pool import create_pool


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    ok = await request.app[READINESS].ready()
    return web.json_response({"ready": ok}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=metrics_body(), headers={"Content-Type": METRICS_CONTENT_TYPE})


def _pool_ctx(dsn: str) -> Callable[[web.Application], AsyncIterator[None]]:
    async def pool(app: web.Application) -> AsyncIterator[None]:
        """The sidecar's own pool, so REST load never starves the engine's persister."""
        app[POOL] = await create_pool(dsn, min_size=1, max_size=10)
        yield
        await app[POOL].close()

    return pool


def create_app(
    settings: Settings,
    dsn: str,
    secret: bytes,
    readiness: Readiness,
    router: Router,
    placement: Placement | None = None,
) -> web.Application:
    app = web.Application(
        middlewares=[
            forwarded_middleware(settings.trusted_proxies),
            observe_middleware,
            cors_middleware(settings),
            error_middleware,
            rate_limit_middleware(settings),
        ],
        client_max_size=64 * 1024,
    )
    app[SETTINGS] = settings
    app[SECRET] = secret
    app[READINESS] = readiness
    app[ROUTER] = router
    app[PLACEMENT] = placement or LocalPlacement(
        settings.node_id, (settings.advertise_host, settings.cluster_port)
    )
    app.cleanup_ctx.append(_pool_ctx(dsn))
    app.cleanup_ctx.append(valuations.valuer_ctx(settings, dsn))
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    accounts.add_routes(app)
    vehicles.add_routes(app)
    auctions.add_routes(app)
    valuations.add_routes(app)
    cluster.add_routes(app)
    openapi.add_routes(app)
    apidocs.add_routes(app)
    photos.add_routes(app)
    pages.add_routes(app)  # the web pages of CONTRACT §5, after every JSON route they share
    return app
