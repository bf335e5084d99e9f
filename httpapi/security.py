"""Who is calling: the bearer token of a request, and role checks."""

from __future__ import annotations

from aiohttp import web

from bidserver.accounts.tokens import Claims, verify_access
from bidserver.errors import Forbidden, Unauthenticated
from httpapi.keys import SECRET


def optional_user(request: web.Request) -> Claims | None:
    """The caller's claims, None when anonymous; a bad token is 401, never anonymous."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("expected Authorization: Bearer <accessToken>")
    return verify_access(request.app[SECRET], token.strip())


def current_user(request: web.Request) -> Claims:
    claims = optional_user(request)
    if claims is None:
        raise Unauthenticated("log in first: Authorization: Bearer <accessToken>")
    return claims


def require_role(request: web.Request, *roles: str) -> Claims:
    claims = current_user(request)
    if claims.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}")
    return claims
