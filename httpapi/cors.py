"""CORS for the REST API: pages on other origins may call it, but only those listed.

`BIDSERVER_CORS_ORIGINS` (default: none) lists exact origins, or is `*`. A listed origin
gets its own origin echoed back, `Vary: Origin` and `Access-Control-Allow-Credentials`; `*`
lets any page read answers but never with credentials (browsers refuse that mix, and it
would let any site act with a visitor's cookies). Preflights are answered here, before the
rate limit and the routes, for every path; a preflight from an origin that is not allowed
gets 403 naming the setting, so a front-end developer sees why. This is separate from
`BIDSERVER_ALLOWED_ORIGINS`, which decides which pages may open a WebSocket.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bidserver.config import Settings
from bidserver.errors import Forbidden
from httpapi.errors import error_response

ALLOW_METHODS = "GET, POST, PATCH, DELETE"
ALLOW_HEADERS = "Authorization, Content-Type"
EXPOSE_HEADERS = "Retry-After, Location"
MAX_AGE_S = 600


def _headers(origin: str, any_origin: bool) -> dict[str, str]:
    if any_origin:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE_HEADERS}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def cors_middleware(settings: Settings) -> Middleware:
    origins = settings.cors_origins
    any_origin = "*" in origins

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        allowed = origin is not None and (any_origin or origin in origins)
        preflight = (
            request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        )
        if preflight and origin is not None:
            return _preflight(origin, allowed, any_origin)
        if not allowed or origin is None:
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects and the like travel as exceptions
            exc.headers.update(_headers(origin, any_origin))
            raise
        response.headers.update(_headers(origin, any_origin))
        return response

    return cors


def _preflight(origin: str, allowed: bool, any_origin: bool) -> web.StreamResponse:
    if not allowed:
        return error_response(
            Forbidden(
                f"origin {origin[:100]} is not in BIDSERVER_CORS_ORIGINS", origin=origin[:100]
            )
        )
    headers = _headers(origin, any_origin)
    headers.update(
        {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": str(MAX_AGE_S),
        }
    )
    return web.Response(status=204, headers=headers)
