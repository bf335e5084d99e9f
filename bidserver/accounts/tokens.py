"""Access tokens: HS256 JWTs with `sub` (user id as a string), `role`, `iat`, `exp`, `typ`.

Verification pins the algorithm to HS256 (so `none`, HS384/HS512 and RS256 tokens are
refused even when signed with the same key), requires `exp` and `sub`, and checks every time
claim against the caller's clock with no leeway: a token is expired from its `exp` on
(CONTRACT §3). Pure: the clock comes from `bidserver.timefmt.now_ms` unless given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import jwt

from bidserver.errors import Unauthenticated
from bidserver.timefmt import now_ms

ALGORITHM = "HS256"
ACCESS_TYPE = "access"
ROLES = frozenset({"bidder", "seller", "admin"})
DEFAULT_ACCESS_TTL_S = 900
MIN_SECRET_BYTES = 32
MAX_TOKEN_CHARS = 8192
_MAX_ID = 2**63 - 1
_DECIMAL_ID = re.compile(r"[1-9][0-9]{0,18}")

# Time claims are checked below against the caller's clock, not PyJWT's own reading of it.
_DECODE_OPTIONS: Any = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "require": ["exp", "sub"],
}

# Fixed messages per PyJWT failure: never echo the token, its claims or the key.
_FAILURES: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "token signature is invalid"),
    (jwt.InvalidAlgorithmError, "token algorithm is not allowed (HS256 only)"),
    (jwt.DecodeError, "token is malformed"),
)


class TokenExpired(Unauthenticated):
    """The token was valid but its `exp` has passed; a fresh `auth` message fixes it."""


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    role: str
    expires_at_ms: int


def mint_access(
    secret: bytes, user_id: int, role: str, now_s: int, ttl_s: int = DEFAULT_ACCESS_TTL_S
) -> str:
    """Sign an access token for `user_id` valid from `now_s` for `ttl_s` seconds."""
    _check_secret(secret)
    if type(user_id) is not int or not 0 < user_id <= _MAX_ID:
        raise ValueError("user_id must be a positive int")
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}")
    if ttl_s <= 0:
        raise ValueError("ttl_s must be positive")
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": now_s,
        "exp": now_s + ttl_s,
        "typ": ACCESS_TYPE,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_access(secret: bytes, token: str, now_s: int | None = None) -> Claims:
    """Check signature and claims; raise `Unauthenticated` (`TokenExpired` once expired)."""
    _check_secret(secret)
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        raise Unauthenticated("token must be a non-empty string of at most 8 KiB")
    payload = _decode(secret, token)
    user_id = _subject(payload.get("sub"))
    role = payload.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise Unauthenticated("token role is not one of bidder, seller, admin")
    if payload.get("typ") != ACCESS_TYPE:
        raise Unauthenticated("token is not an access token")
    now = now_ms() if now_s is None else now_s * 1000
    expires_at_ms = _check_times(payload, now)
    return Claims(user_id=user_id, role=role, expires_at_ms=expires_at_ms)


def _check_secret(secret: bytes) -> None:
    if not isinstance(secret, bytes) or len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"the JWT secret must be at least {MIN_SECRET_BYTES} bytes")


def _decode(secret: bytes, token: str) -> dict[str, Any]:
    try:
        return jwt.decode(token, secret, algorithms=[ALGORITHM], options=_DECODE_OPTIONS, leeway=0)
    except jwt.MissingRequiredClaimError as exc:
        raise Unauthenticated(f"token has no {exc.claim} claim") from None
    except jwt.PyJWTError as exc:
        raise Unauthenticated(_failure_message(exc)) from None


def _failure_message(exc: jwt.PyJWTError) -> str:
    for kind, message in _FAILURES:
        if isinstance(exc, kind):
            return message
    return "token is invalid"


def _subject(sub: object) -> int:
    if not isinstance(sub, str) or _DECIMAL_ID.fullmatch(sub) is None or int(sub) > _MAX_ID:
        raise Unauthenticated("token subject is not a user id")
    return int(sub)


def _time_claim(payload: dict[str, Any], name: str) -> int | None:
    value = payload.get(name)
    if value is not None and type(value) is not int:
        raise Unauthenticated(f"token {name} claim is not an integer")
    return value


def _check_times(payload: dict[str, Any], now: int) -> int:
    """Return `exp` in milliseconds; `now` is epoch milliseconds."""
    _time_claim(payload, "iat")
    not_before = _time_claim(payload, "nbf")
    if not_before is not None and now < not_before * 1000:
        raise Unauthenticated("token is not valid yet")
    expires = _time_claim(payload, "exp")
    if expires is None:
        raise Unauthenticated("token has no exp claim")
    if now >= expires * 1000:
        raise TokenExpired("token has expired")
    return expires * 1000
