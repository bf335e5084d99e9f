"""The REST sidecar's view of the client behind trusted proxies (`BIDSERVER_TRUSTED_PROXIES`).

The first middleware: it replaces `request.remote` with the client of `X-Forwarded-For`
when the TCP peer is a trusted proxy (bidserver/clientip.py), so the per-IP rate limit and
every log line that names the client see the client, never the load balancer, and never an
address a client merely claimed.
"""

from __future__ import annotations

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from bidserver.clientip import Network, client_address


def forwarded_middleware(proxies: tuple[Network, ...]) -> Middleware:
    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if proxies:
            headers = request.headers.getall(hdrs.X_FORWARDED_FOR, [])
            client = client_address(request.remote, headers, proxies)
            if client is not None and client != request.remote:
                request = request.clone(remote=client)
        return await handler(request)

    return forwarded
