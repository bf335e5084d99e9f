"""REST accounts (CONTRACT §4): register, login, refresh and /me over real HTTP and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
import warnings
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import jwt
import pytest
import pytest_asyncio
from argon2 import PasswordHasher

from bidserver.accounts.tokens import verify_access
from tests.support import SECRET, RunningApi, running_api

PASSWORD = "correct horse battery"


@pytest_asyncio.fixture
async def api(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[RunningApi]:
    async with running_api(db, pg_dsn) as running:
        yield running


def new_email(tag: str = "user") -> str:
    return f"{tag}-{uuid.uuid4().hex[:12]}@Example.test"


async def call(
    api: RunningApi,
    method: str,
    path: str,
    body: Any = None,
    *,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    async with api.http.request(method, api.base + path, data=data, headers=hdrs) as resp:
        text = await resp.text()
        return resp.status, json.loads(text) if text else None, dict(resp.headers)


async def register(api: RunningApi, email: str, password: str = PASSWORD) -> dict[str, Any]:
    status, body, _ = await call(
        api,
        "POST",
        "/auth/register",
        {"email": email, "password": password, "displayName": "Ann Bidder"},
    )
    assert status == 201, body
    assert isinstance(body, dict)
    return body


async def login(api: RunningApi, email: str, password: str = PASSWORD) -> dict[str, Any]:
    status, body, _ = await call(api, "POST", "/auth/login", {"email": email, "password": password})
    assert status == 200, body
    assert isinstance(body, dict)
    return body


async def users_named(db: asyncpg.Pool, email: str) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM users WHERE lower(email) = lower($1)", email
    )
    return count


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(status: int, body: Any, expected_status: int, code: str) -> None:
    assert status == expected_status, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


# --- register --------------------------------------------------------------------------


async def test_register_creates_a_bidder_with_an_argon2id_hash(
    api: RunningApi, db: asyncpg.Pool
) -> None:
    email = new_email()
    body = await register(api, email)
    assert body["email"] == email
    assert body["role"] == "bidder"
    assert type(body["id"]) is int
    assert body["id"] > 0
    row = await db.fetchrow("SELECT password_hash, role FROM users WHERE id = $1", body["id"])
    assert row is not None
    assert row["role"] == "bidder"
    assert row["password_hash"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in row["password_hash"]
    assert PasswordHasher().verify(row["password_hash"], PASSWORD)


async def test_register_without_display_name_uses_the_local_part(api: RunningApi) -> None:
    email = new_email("noname")
    status, body, _ = await call(
        api, "POST", "/auth/register", {"email": email, "password": PASSWORD}
    )
    assert status == 201, body
    token = (await login(api, email))["accessToken"]
    status, me, _ = await call(api, "GET", "/me", headers=bearer(token))
    assert (status, me["displayName"]) == (200, email.partition("@")[0])


async def test_register_same_email_in_any_case_is_email_taken(
    api: RunningApi, db: asyncpg.Pool
) -> None:
    email = new_email()
    await register(api, email)
    status, body, _ = await call(
        api,
        "POST",
        "/auth/register",
        {"email": email.upper(), "password": PASSWORD, "displayName": "Again"},
    )
    assert_error(status, body, 409, "email_taken")
    assert await users_named(db, email) == 1


@pytest.mark.parametrize(
    "extra",
    [{"role": "admin"}, {"role": "bidder"}, {"id": 1}, {"isAdmin": True}, {"passwordHash": "x"}],
)
async def test_register_refuses_unknown_fields_and_stores_nothing(
    api: RunningApi, db: asyncpg.Pool, extra: dict[str, Any]
) -> None:
    email = new_email("mass")
    status, body, _ = await call(
        api,
        "POST",
        "/auth/register",
        {"email": email, "password": PASSWORD, "displayName": "Mallory", **extra},
    )
    assert_error(status, body, 422, "bad_request")
    assert await users_named(db, email) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", 42),
        ("email", None),
        ("email", ["a@b.test"]),
        ("email", "no-at-sign.example"),
        ("email", "two@@example.test"),
        ("email", "a@b@example.test"),
        ("email", "@example.test"),
        ("email", "someone@"),
        ("email", "with space@example.test"),
        ("email", "tab\t@example.test"),
        ("email", "x" * 250 + "@e.st"),
        ("email", ""),
        ("password", "nine-char"),
        ("password", "p" * 257),
        ("password", 1234567890123),
        ("password", None),
        ("password", True),
        ("displayName", 7),
        ("displayName", ""),
        ("displayName", "   "),
        ("displayName", "n" * 101),
        ("displayName", {"first": "Ann"}),
    ],
)
async def test_register_refuses_invalid_fields(
    api: RunningApi, db: asyncpg.Pool, field: str, value: Any
) -> None:
    email = new_email("invalid")
    fields: dict[str, Any] = {"email": email, "password": PASSWORD, "displayName": "Ann"}
    if value is None:
        del fields[field]
    else:
        fields[field] = value
    status, body, _ = await call(api, "POST", "/auth/register", fields)
    assert_error(status, body, 422, "bad_request")
    assert await users_named(db, email) == 0


async def test_register_accepts_the_password_length_bounds(api: RunningApi) -> None:
    await register(api, new_email("ten"), "p" * 10)
    await register(api, new_email("max"), "p" * 256)


@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b"[1, 2]", b'"a string"', b"null", b'{"email": NaN}', b"\xff\xfe"],
)
@pytest.mark.parametrize("path", ["/auth/register", "/auth/login", "/auth/refresh"])
async def test_malformed_bodies_are_400(api: RunningApi, path: str, raw: bytes) -> None:
    status, body, _ = await call(api, "POST", path, raw=raw)
    assert_error(status, body, 400, "bad_request")


async def test_an_oversized_body_is_refused(api: RunningApi) -> None:
    big = {"email": new_email(), "password": PASSWORD, "displayName": "x" * 70_000}
    status, _, _ = await call(api, "POST", "/auth/register", big)
    assert status in (400, 413)


# --- login -----------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_for_the_user(api: RunningApi) -> None:
    email = new_email()
    user = await register(api, email)
    status, body, headers = await call(
        api, "POST", "/auth/login", {"email": email, "password": PASSWORD}
    )
    assert status == 200, body
    assert body["tokenType"] == "Bearer"
    assert body["expiresIn"] == 900
    assert isinstance(body["refreshToken"], str)
    assert len(body["refreshToken"]) >= 40
    claims = verify_access(SECRET, body["accessToken"])
    assert (claims.user_id, claims.role) == (user["id"], "bidder")
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    assert 890_000 <= claims.expires_at_ms - now_ms <= 901_000
    assert headers["Cache-Control"] == "no-store"


async def test_login_email_is_case_insensitive(api: RunningApi) -> None:
    email = new_email()
    user = await register(api, email)
    body = await login(api, email.upper())
    assert verify_access(SECRET, body["accessToken"]).user_id == user["id"]


async def test_wrong_password_and_unknown_email_get_the_same_401(api: RunningApi) -> None:
    email = new_email()
    await register(api, email)
    answers = []
    for attempt in (
        {"email": email, "password": "wrong password!"},
        {"email": new_email("nobody"), "password": "wrong password!"},
        {"email": new_email("nobody"), "password": PASSWORD},
        {"email": email, "password": ""},
        {"email": "not-an-email", "password": PASSWORD},
        {"email": email, "password": "p" * 5000},
    ):
        status, body, _ = await call(api, "POST", "/auth/login", attempt)
        answers.append((status, body))
    assert all(answer == answers[0] for answer in answers), answers
    assert_error(*answers[0], 401, "unauthenticated")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "a@b.test"},
        {"password": PASSWORD},
        {"email": 5, "password": PASSWORD},
        {"email": "a@b.test", "password": 1234567890},
        {"email": "a@b.test", "password": PASSWORD, "role": "admin"},
        {"email": "a@b.test", "password": PASSWORD, "remember": True},
    ],
)
async def test_login_refuses_invalid_bodies(api: RunningApi, body: dict[str, Any]) -> None:
    status, answer, _ = await call(api, "POST", "/auth/login", body)
    assert_error(status, answer, 422, "bad_request")


async def test_an_old_password_hash_is_upgraded_at_login(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email("legacy")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    user_id = await db.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ($1, $2, 'Legacy', 'seller') RETURNING id",
        email,
        weak,
    )
    body = await login(api, email)
    assert verify_access(SECRET, body["accessToken"]).role == "seller"
    stored = await db.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    await login(api, email)  # and the new hash works


# --- refresh ---------------------------------------------------------------------------


async def test_refresh_rotates_the_token(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email()
    user = await register(api, email)
    first = await login(api, email)
    status, second, headers = await call(
        api, "POST", "/auth/refresh", {"refreshToken": first["refreshToken"]}
    )
    assert status == 200, second
    assert set(second) >= {"accessToken", "tokenType", "expiresIn", "refreshToken"}
    assert (second["tokenType"], second["expiresIn"]) == ("Bearer", 900)
    assert second["refreshToken"] != first["refreshToken"]
    assert verify_access(SECRET, second["accessToken"]).user_id == user["id"]
    assert headers["Cache-Control"] == "no-store"
    # the successor works in turn
    status, body, _ = await call(
        api, "POST", "/auth/refresh", {"refreshToken": second["refreshToken"]}
    )
    assert status == 200, body


async def test_refresh_tokens_are_stored_only_as_sha256(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email()
    user = await register(api, email)
    token = (await login(api, email))["refreshToken"]
    ids = [
        r["id"]
        for r in await db.fetch("SELECT id FROM refresh_tokens WHERE user_id = $1", user["id"])
    ]
    assert ids == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in ids


async def test_a_reused_refresh_token_is_refused_and_revokes_its_successor(
    api: RunningApi,
) -> None:
    email = new_email()
    await register(api, email)
    first = (await login(api, email))["refreshToken"]
    status, rotated, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": first})
    assert status == 200
    status, body, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": first})
    assert_error(status, body, 401, "unauthenticated")
    # a replay means the token leaked: the whole family is logged out
    status, body, _ = await call(
        api, "POST", "/auth/refresh", {"refreshToken": rotated["refreshToken"]}
    )
    assert_error(status, body, 401, "unauthenticated")


async def test_an_expired_refresh_token_is_refused(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email()
    await register(api, email)
    token = (await login(api, email))["refreshToken"]
    await db.execute(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        hashlib.sha256(token.encode()).hexdigest(),
    )
    status, body, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": token})
    assert_error(status, body, 401, "unauthenticated")


@pytest.mark.parametrize("token", ["unknown-token", "x" * 43, "y" * 5000])
async def test_an_unknown_refresh_token_is_401(api: RunningApi, token: str) -> None:
    status, body, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": token})
    assert_error(status, body, 401, "unauthenticated")


@pytest.mark.parametrize(
    "body",
    [{}, {"refreshToken": 5}, {"refreshToken": ""}, {"refreshToken": "t", "userId": 1}],
)
async def test_refresh_refuses_invalid_bodies(api: RunningApi, body: dict[str, Any]) -> None:
    status, answer, _ = await call(api, "POST", "/auth/refresh", body)
    assert_error(status, answer, 422, "bad_request")


async def test_an_access_token_is_not_a_refresh_token(api: RunningApi) -> None:
    email = new_email()
    await register(api, email)
    access = (await login(api, email))["accessToken"]
    status, body, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": access})
    assert_error(status, body, 401, "unauthenticated")


# --- /me -------------------------------------------------------------------------------


async def test_me_describes_the_caller(api: RunningApi) -> None:
    email = new_email()
    user = await register(api, email)
    token = (await login(api, email))["accessToken"]
    status, body, _ = await call(api, "GET", "/me", headers=bearer(token))
    assert status == 200, body
    assert body == {"id": user["id"], "email": email, "displayName": "Ann Bidder", "role": "bidder"}


async def test_me_shows_the_stored_role(api: RunningApi, db: asyncpg.Pool) -> None:
    user_id = await db.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ($1, 'x', 'Sam', 'seller') RETURNING id",
        new_email("seller"),
    )
    status, body, _ = await call(api, "GET", "/me", headers=api.auth(user_id, "seller"))
    assert (status, body["role"], body["id"]) == (200, "seller", user_id)


def _unsigned(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _hs512(claims: dict[str, Any]) -> str:
    """Signed with the right key but the wrong algorithm (PyJWT warns the key is short)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jwt.encode(claims, SECRET, algorithm="HS512")


def _bad_tokens(user_id: int) -> list[str]:
    now = int(datetime.now(UTC).timestamp())
    good = {"sub": str(user_id), "role": "bidder", "iat": now, "exp": now + 600, "typ": "access"}
    return [
        jwt.encode(good, b"another-secret-another-secret-32b!", algorithm="HS256"),
        jwt.encode({**good, "exp": now - 1}, SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in good.items() if k != "exp"}, SECRET, algorithm="HS256"),
        jwt.encode({**good, "role": "admin"}, b"x" * 32, algorithm="HS256"),
        _hs512(good),
        _unsigned(good),
        _unsigned({**good, "role": "admin"}),
        "not.a.token",
        "garbage",
    ]


async def test_me_refuses_missing_and_bad_tokens(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email()
    user = await register(api, email)
    attempts: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Token {(await login(api, email))['accessToken']}"},
    ]
    attempts += [bearer(token) for token in _bad_tokens(user["id"])]
    for headers in attempts:
        status, body, _ = await call(api, "GET", "/me", headers=headers)
        assert status == 401, (headers, body)
        assert body["error"]["code"] == "unauthenticated"


async def test_me_with_a_token_in_the_query_string_is_401(api: RunningApi) -> None:
    email = new_email()
    await register(api, email)
    token = (await login(api, email))["accessToken"]
    status, body, _ = await call(api, "GET", f"/me?token={token}&access_token={token}")
    assert_error(status, body, 401, "unauthenticated")


async def test_me_for_a_user_that_no_longer_exists_is_401(
    api: RunningApi, db: asyncpg.Pool
) -> None:
    user_id = await db.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ($1, 'x', 'Gone', 'bidder') RETURNING id",
        new_email("gone"),
    )
    headers = api.auth(user_id)
    await db.execute("DELETE FROM users WHERE id = $1", user_id)
    status, body, _ = await call(api, "GET", "/me", headers=headers)
    assert_error(status, body, 401, "unauthenticated")
    status, body, _ = await call(api, "GET", "/me", headers=api.auth(10**12))
    assert_error(status, body, 401, "unauthenticated")


async def test_refresh_for_a_deleted_user_is_401(api: RunningApi, db: asyncpg.Pool) -> None:
    email = new_email()
    user = await register(api, email)
    token = (await login(api, email))["refreshToken"]
    await db.execute("DELETE FROM users WHERE id = $1", user["id"])
    status, body, _ = await call(api, "POST", "/auth/refresh", {"refreshToken": token})
    assert_error(status, body, 401, "unauthenticated")


async def test_wrong_methods_are_refused(api: RunningApi) -> None:
    status, body, headers = await call(api, "GET", "/auth/login")
    assert status == 405
    assert body["error"]["code"] == "bad_request"
    assert "POST" in headers.get("Allow", "")
    status, _, _ = await call(api, "POST", "/me", {})
    assert status == 405


async def test_unknown_email_costs_as_much_as_a_wrong_password(api: RunningApi) -> None:
    """Timing must not tell which emails exist: both paths pay for one argon2 check."""
    email = new_email()
    await register(api, email)

    async def timed(address: str) -> float:
        started = time.perf_counter()
        status, _, _ = await call(
            api, "POST", "/auth/login", {"email": address, "password": "wrong password!"}
        )
        assert status == 401
        return time.perf_counter() - started

    await timed(new_email("warm-up"))
    known = sorted([await timed(email) for _ in range(5)])[2]
    unknown = sorted([await timed(new_email("nobody")) for _ in range(5)])[2]
    assert unknown >= 0.5 * known, (known, unknown)


@pytest.mark.parametrize("name", ["Ann\u0000Bidder", "Ann\ud800"])
async def test_unstorable_text_is_invalid_not_a_server_error(
    api: RunningApi, db: asyncpg.Pool, name: str
) -> None:
    email = f"{uuid.uuid4().hex}@example.test"
    body = json.dumps({"email": email, "password": PASSWORD, "displayName": name})
    async with api.http.post(
        f"{api.base}/auth/register", data=body, headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 422
        assert (await response.json())["error"]["field"] == "displayName"
    assert await db.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 0
