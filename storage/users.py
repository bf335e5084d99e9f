"""Users and refresh tokens: the only code that speaks SQL about accounts.

Emails are unique case-insensitively (`users_email_lower_key` on `lower(email)`); the address
is kept as the user typed it and looked up by `lower()`.

Refresh tokens are 32 random bytes (URL-safe base64) handed to the client once; the table
keeps only their SHA-256 (hex) as `id`, so a leaked table grants nothing. Each use rotates:
the presented token is revoked and a new one issued in one statement, so two concurrent uses
of one token cannot both succeed. Presenting a token that was already rotated (a replay: the
token leaked, or a client raced itself) revokes every live token of its user.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

import asyncpg

from bidserver.errors import EmailTaken, Unauthenticated
from storage.errors import translate
from storage.pool import AnyConnection

Db = asyncpg.Pool | AnyConnection

REFRESH_TTL = timedelta(days=14)
REFRESH_TOKEN_BYTES = 32
MAX_REFRESH_TOKEN_CHARS = 128


@dataclass(frozen=True, slots=True)
class User:
    id: int
    email: str
    display_name: str
    role: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class IssuedRefresh:
    user: User
    token: str


_COLUMNS = "id, email, display_name, role, password_hash"
_INVALID_REFRESH = "refresh token is invalid, expired or already used; log in again"


def _user(row: asyncpg.Record) -> User:
    return User(
        id=row["id"],
        email=row["email"],
        display_name=row["display_name"],
        role=row["role"],
        password_hash=row["password_hash"],
    )


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_user(
    db: Db, *, email: str, password_hash: str, display_name: str, role: str
) -> User:
    """Insert a user; `EmailTaken` when the email exists in any letter case."""
    with translate():
        try:
            row = await db.fetchrow(
                f"INSERT INTO users (email, password_hash, display_name, role)"
                f" VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
                email,
                password_hash,
                display_name,
                role,
            )
        except asyncpg.UniqueViolationError:
            raise EmailTaken("a user with this email already exists") from None
    assert row is not None
    return _user(row)


async def get_by_email(db: Db, email: str) -> User | None:
    with translate():
        row = await db.fetchrow(
            f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower($1)", email
        )
    return None if row is None else _user(row)


async def get_by_id(db: Db, user_id: int) -> User | None:
    with translate():
        row = await db.fetchrow(f"SELECT {_COLUMNS} FROM users WHERE id = $1", user_id)
    return None if row is None else _user(row)


async def set_password_hash(db: Db, user_id: int, password_hash: str) -> None:
    """Replace a stored hash (after a successful login found it made with old parameters)."""
    with translate():
        await db.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash
        )


async def issue_refresh_token(db: Db, user_id: int, ttl: timedelta = REFRESH_TTL) -> str:
    """A new refresh token for `user_id`; the user's expired tokens are pruned on the way."""
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    with translate():
        await db.execute(
            "DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < now()", user_id
        )
        await db.execute(
            "INSERT INTO refresh_tokens (id, user_id, expires_at) VALUES ($1, $2, now() + $3)",
            hash_refresh_token(token),
            user_id,
            ttl,
        )
    return token


_ROTATE_SQL = """
WITH old AS (
    UPDATE refresh_tokens SET revoked_at = now()
    WHERE id = $1 AND revoked_at IS NULL AND expires_at > now()
    RETURNING user_id
), fresh AS (
    INSERT INTO refresh_tokens (id, user_id, expires_at)
    SELECT $2, u.id, now() + $3 FROM old JOIN users u ON u.id = old.user_id
    RETURNING user_id
)
SELECT u.id, u.email, u.display_name, u.role, u.password_hash
FROM fresh JOIN users u ON u.id = fresh.user_id
"""

_REVOKE_FAMILY_SQL = """
UPDATE refresh_tokens SET revoked_at = now()
WHERE revoked_at IS NULL
  AND user_id = (SELECT user_id FROM refresh_tokens WHERE id = $1 AND revoked_at IS NOT NULL)
"""


async def rotate_refresh_token(db: Db, token: str, ttl: timedelta = REFRESH_TTL) -> IssuedRefresh:
    """Spend `token` and issue its successor; `Unauthenticated` if unknown, used or expired."""
    if not token or len(token) > MAX_REFRESH_TOKEN_CHARS:
        raise Unauthenticated(_INVALID_REFRESH)
    presented = hash_refresh_token(token)
    successor = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    with translate():
        row = await db.fetchrow(_ROTATE_SQL, presented, hash_refresh_token(successor), ttl)
        if row is None:
            await db.execute(_REVOKE_FAMILY_SQL, presented)
    if row is None:
        raise Unauthenticated(_INVALID_REFRESH)
    return IssuedRefresh(_user(row), successor)


async def revoke_refresh_tokens(db: Db, user_id: int) -> None:
    """Log a user out everywhere."""
    with translate():
        await db.execute(
            "UPDATE refresh_tokens SET revoked_at = now()"
            " WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
