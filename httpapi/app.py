"""The sidecar's application factory; state travels in typed `web.AppKey`s."""

from __future__ import annotations

from aiohttp import web

from bidserver.health import METRICS_CONTENT_TYPE, Readiness, metrics_body

READINESS = web.AppKey("readiness", Readiness)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    ok = await request.app[READINESS].ready()
    return web.json_response({"ready": ok}, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(body=metrics_body(), headers={"Content-Type": METRICS_CONTENT_TYPE})


def create_app(readiness: Readiness) -> web.Application:
    app = web.Application()
    app[READINESS] = readiness
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app
