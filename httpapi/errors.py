"""One place maps the product's errors to HTTP statuses and `{"error": {...}}` bodies."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from bidserver.errors import (
    BadRequest,
    BidserverError,
    Conflict,
    Forbidden,
    Internal,
    NotFound,
    RateLimited,
    Rejection,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger("httpapi")


class Invalid(BadRequest):
    """A well-formed body with an invalid, unknown or mistyped field: 422, not 400."""


class UnsupportedType(BadRequest):
    """A request body of a media type the route does not take (an upload that is no image)."""


_STATUS: tuple[tuple[type[BidserverError], int], ...] = (
    (Invalid, 422),
    (UnsupportedType, 415),
    (BadRequest, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Rejection, 409),
    (Conflict, 409),
    (RateLimited, 429),
    (Unavailable, 503),
)


def status_of(error: BidserverError) -> int:
    for cls, status in _STATUS:
        if isinstance(error, cls):
            return status
    return 500


def error_response(error: BidserverError, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    status = status_of(error)
    if status < 500:  # a server fault's details (e.g. an SQLSTATE) stay in the logs
        body.update({k: v for k, v in error.details.items() if k not in body})
    return web.json_response({"error": body}, status=status, headers=headers)


_HTTP_CODES = {404: "not_found", 405: "bad_request", 413: "bad_request", 400: "bad_request"}


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except BidserverError as exc:
        headers = (
            {"Retry-After": str(exc.details["retryAfter"])} if "retryAfter" in exc.details else None
        )
        return error_response(exc, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal")
        body = {"error": {"code": code, "message": exc.reason}}
        return web.json_response(body, status=exc.status, headers=_allow(exc))
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "client": request.remote})
        return error_response(Internal("internal error"))


def _allow(exc: web.HTTPException) -> dict[str, str] | None:
    allow = exc.headers.get("Allow")
    return {"Allow": allow} if allow else None
