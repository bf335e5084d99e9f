"""REST routes: accounts (CONTRACT §4): register, login, refresh, me.

Login answers a wrong password and an unknown email with the same 401 and body, and spends
the same argon2 work on both (`verify_unknown_user`), so neither the answer nor its timing
tells which emails have accounts. Token answers carry `Cache-Control: no-store`.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from bidserver.accounts.passwords import (
    MAX_PASSWORD_CHARS,
    email_problem,
    hash_password,
    needs_rehash,
    password_problem,
    verify_password,
    verify_unknown_user,
)
from bidserver.accounts.tokens import DEFAULT_ACCESS_TTL_S, mint_access
from bidserver.errors import Unauthenticated
from httpapi.errors import Invalid
from httpapi.keys import POOL, SECRET
from httpapi.security import current_user
from httpapi.validation import read_object, string
from storage import users
from storage.users import User

ACCESS_TTL_S = DEFAULT_ACCESS_TTL_S
MAX_DISPLAY_NAME_CHARS = 100
_BAD_CREDENTIALS = "email or password is wrong"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _email(body: dict[str, Any]) -> str:
    value = body.get("email")
    if value is None:
        raise Invalid("email is required", field="email")
    problem = email_problem(value)
    if problem is not None:
        raise Invalid(problem, field="email")
    assert isinstance(value, str)
    return value


def _password(body: dict[str, Any], *, check_policy: bool) -> str:
    value = body.get("password")
    if value is None:
        raise Invalid("password is required", field="password")
    if not isinstance(value, str):
        raise Invalid("password must be a string", field="password")
    if check_policy:
        problem = password_problem(value)
        if problem is not None:
            raise Invalid(problem, field="password")
    return value


def _public(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "displayName": user.display_name,
        "role": user.role,
    }


async def register(request: web.Request) -> web.Response:
    body = await read_object(request, ("email", "password", "displayName"))
    email = _email(body)
    password = _password(body, check_policy=True)
    display_name = string(body, "displayName", required=False, max_len=MAX_DISPLAY_NAME_CHARS)
    user = await users.create_user(
        request.app[POOL],
        email=email,
        password_hash=await hash_password(password),
        display_name=display_name or email.partition("@")[0],
        role="bidder",
    )
    return web.json_response(_public(user), status=201)


def _tokens(request: web.Request, user: User, refresh_token: str) -> web.Response:
    access = mint_access(request.app[SECRET], user.id, user.role, int(time.time()), ACCESS_TTL_S)
    body = {
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": ACCESS_TTL_S,
        "refreshToken": refresh_token,
    }
    return web.json_response(body, headers=_NO_STORE)


async def _authenticate(request: web.Request, email: str, password: str) -> User:
    """The user whose credentials these are; one answer for every way they can be wrong."""
    pool = request.app[POOL]
    user = await users.get_by_email(pool, email) if email_problem(email) is None else None
    if len(password) > MAX_PASSWORD_CHARS:
        raise Unauthenticated(_BAD_CREDENTIALS)  # no account can have it: no work to hide
    if user is None:
        await verify_unknown_user(password)
        raise Unauthenticated(_BAD_CREDENTIALS)
    if not await verify_password(user.password_hash, password):
        raise Unauthenticated(_BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):
        await users.set_password_hash(pool, user.id, await hash_password(password))
    return user


async def login(request: web.Request) -> web.Response:
    body = await read_object(request, ("email", "password"))
    email = body.get("email")
    if not isinstance(email, str):
        raise Invalid("email must be a string", field="email")
    password = _password(body, check_policy=False)
    user = await _authenticate(request, email, password)
    refresh = await users.issue_refresh_token(request.app[POOL], user.id)
    return _tokens(request, user, refresh)


async def refresh(request: web.Request) -> web.Response:
    body = await read_object(request, ("refreshToken",))
    token = body.get("refreshToken")
    if not isinstance(token, str) or not token:
        raise Invalid("refreshToken must be a non-empty string", field="refreshToken")
    issued = await users.rotate_refresh_token(request.app[POOL], token)
    return _tokens(request, issued.user, issued.token)


async def me(request: web.Request) -> web.Response:
    claims = current_user(request)
    user = await users.get_by_id(request.app[POOL], claims.user_id)
    if user is None:
        raise Unauthenticated("this token's user no longer exists")
    return web.json_response(_public(user))


def add_routes(app: web.Application) -> None:
    """Registered by the application factory."""
    app.router.add_post("/auth/register", register)
    app.router.add_post("/auth/login", login)
    app.router.add_post("/auth/refresh", refresh)
    app.router.add_get("/me", me)
