"""Prometheus metrics of the sidecar: requests and their latency by route, method and status.

The `route` label is the matched resource's canonical template (`/auctions/{id}`), never the
raw path, and every request no route matched is `unmatched`; methods outside the standard
set are `OTHER`. So the label sets stay few however clients probe the server.
"""

from __future__ import annotations

import asyncio
import time

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import Counter, Histogram

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "bidserver_http_requests_total",
    "REST requests answered, by route template, method and status",
    ["route", "method", "status"],
)
LATENCY = Histogram(
    "bidserver_http_request_duration_seconds",
    "REST request latency, from routing to the handler's answer",
    ["route", "method", "status"],
    buckets=_BUCKETS,
)


def route_of(request: web.Request) -> str:
    """The canonical template of the route that matched, or `unmatched`."""
    resource = request.match_info.route.resource
    return UNMATCHED if resource is None else resource.canonical


@web.middleware
async def observe_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except asyncio.CancelledError:
        status = 499  # the client went away first (nginx's convention)
        raise
    finally:
        method = request.method if request.method in _METHODS else "OTHER"
        labels = (route_of(request), method, str(status))
        REQUESTS.labels(*labels).inc()
        LATENCY.labels(*labels).observe(time.perf_counter() - started)
