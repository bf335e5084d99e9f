"""Passwords: argon2id hashing off the event loop, bounded, and the credential rules.

Parameters are OWASP's minimum for argon2id (m = 19 MiB, t = 2, p = 1): about 20-40 ms
and 19 MiB per hash. Hashing runs in worker threads behind a semaphore of
`MAX_CONCURRENT_HASHES`, so a login flood costs at most that many hashes' memory and cores
at a time; callers beyond `MAX_WAITING_HASHES` in the queue are told `unavailable` (503,
`Retry-After: 1`) instead of piling up.

`verify_unknown_user` burns the same work against a dummy hash, so a login for an unknown
email takes as long as one with a wrong password and timing does not tell which emails exist.
"""

from __future__ import annotations

import asyncio
import secrets
import weakref
from collections.abc import Callable
from typing import TypeVar

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from bidserver.errors import Unavailable

TIME_COST = 2
MEMORY_COST_KIB = 19 * 1024  # 19456 KiB
PARALLELISM = 1
HASH_LEN = 32
SALT_LEN = 16

MAX_CONCURRENT_HASHES = 4
MAX_WAITING_HASHES = 256

MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 256
MAX_EMAIL_CHARS = 254

_HASHER = PasswordHasher(
    time_cost=TIME_COST,
    memory_cost=MEMORY_COST_KIB,
    parallelism=PARALLELISM,
    hash_len=HASH_LEN,
    salt_len=SALT_LEN,
    type=Type.ID,
)

T = TypeVar("T")


class _Gate:
    """A semaphore plus a bounded queue; one per event loop (semaphores bind to a loop)."""

    def __init__(self) -> None:
        self.semaphore = asyncio.Semaphore(MAX_CONCURRENT_HASHES)
        self.waiting = 0


_GATES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Gate] = weakref.WeakKeyDictionary()
_dummy_hash: str | None = None


def _gate() -> _Gate:
    loop = asyncio.get_running_loop()
    gate = _GATES.get(loop)
    if gate is None:
        gate = _GATES[loop] = _Gate()
    return gate


async def _run(work: Callable[[], T]) -> T:
    gate = _gate()
    if gate.waiting >= MAX_WAITING_HASHES:
        raise Unavailable("too many password checks in progress; retry shortly", retryAfter=1)
    gate.waiting += 1
    try:
        async with gate.semaphore:
            return await asyncio.to_thread(work)
    finally:
        gate.waiting -= 1


async def hash_password(password: str) -> str:
    """An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$…`) with a random salt."""
    return await _run(lambda: _HASHER.hash(password))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False for a mismatch or an unusable stored hash."""
    return await _run(lambda: _verify(password_hash, password))


async def verify_unknown_user(password: str) -> bool:
    """The cost of a real check for an email that has no account; always False."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_urlsafe(16))
    await verify_password(_dummy_hash, password)
    return False


def needs_rehash(password_hash: str) -> bool:
    """True when the stored hash was made with weaker (or other) parameters than today's."""
    try:
        return _HASHER.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return False


def password_problem(password: object) -> str | None:
    """Why `password` cannot be set (None when it can): 10 to 256 characters."""
    if not isinstance(password, str):
        return "password must be a string"
    if len(password) < MIN_PASSWORD_CHARS:
        return f"password must be at least {MIN_PASSWORD_CHARS} characters"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"password must be at most {MAX_PASSWORD_CHARS} characters"
    return None


def email_problem(email: object) -> str | None:
    """A loose syntax check: one `@` with text on both sides, no spaces, at most 254 chars."""
    if not isinstance(email, str) or not email:
        return "email must be a non-empty string"
    if len(email) > MAX_EMAIL_CHARS:
        return f"email must be at most {MAX_EMAIL_CHARS} characters"
    local, at, domain = email.partition("@")
    if not at or not local or not domain or "@" in domain:
        return "email must look like name@example.com"
    if any(c.isspace() or not c.isprintable() for c in email):
        return "email must not contain spaces or control characters"
    return None
