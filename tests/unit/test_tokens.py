"""Access tokens (CONTRACT §3/§4): HS256 only, `exp` required, expired from `exp` on."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest

from bidserver.accounts.tokens import (
    DEFAULT_ACCESS_TTL_S,
    Claims,
    TokenExpired,
    mint_access,
    verify_access,
)
from bidserver.errors import Unauthenticated

SECRET = b"k" * 32 + b"-unit-test-secret"
OTHER_SECRET = b"o" * 48
NOW = 1_795_860_000  # 2026-11-28T10:00:00Z in seconds
EXP = NOW + DEFAULT_ACCESS_TTL_S


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(
    header: dict[str, Any],
    payload: dict[str, Any],
    key: bytes | None = SECRET,
    digest: str = "sha256",
) -> str:
    """Build a JWT by hand, so the tests do not rely on PyJWT to make the bad ones."""
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    if key is None:
        return signing_input + "."
    mac = hmac.new(key, signing_input.encode(), digest).digest()
    return signing_input + "." + b64url(mac)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sub": "42", "role": "bidder", "iat": NOW, "exp": EXP, "typ": "access"}
    base.update(overrides)
    return {key: value for key, value in base.items() if value is not ...}


HS256 = {"alg": "HS256", "typ": "JWT"}


def refused(token: str, now_s: int = NOW) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        verify_access(SECRET, token, now_s)
    error = caught.value
    assert error.code == "unauthenticated"
    assert SECRET.decode() not in error.message
    assert token not in error.message or token == ""
    return error


# --- the happy path -----------------------------------------------------------------------


def test_round_trip() -> None:
    token = mint_access(SECRET, 42, "bidder", NOW)
    assert verify_access(SECRET, token, NOW) == Claims(
        user_id=42, role="bidder", expires_at_ms=EXP * 1000
    )


@pytest.mark.parametrize("role", ["bidder", "seller", "admin"])
def test_every_role_round_trips(role: str) -> None:
    token = mint_access(SECRET, 7, role, NOW, ttl_s=60)
    assert verify_access(SECRET, token, NOW) == Claims(7, role, (NOW + 60) * 1000)


def test_minted_claims_are_the_contract_ones() -> None:
    token = mint_access(SECRET, 42, "seller", NOW, ttl_s=300)
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "HS256"
    assert payload == {"sub": "42", "role": "seller", "iat": NOW, "exp": NOW + 300, "typ": "access"}


def test_default_ttl_is_fifteen_minutes() -> None:
    assert DEFAULT_ACCESS_TTL_S == 900
    token = mint_access(SECRET, 42, "bidder", NOW)
    assert verify_access(SECRET, token, NOW).expires_at_ms == (NOW + 900) * 1000


def test_without_now_the_server_clock_is_used() -> None:
    now = int(time.time())
    assert verify_access(SECRET, mint_access(SECRET, 1, "admin", now, ttl_s=600)).user_id == 1
    with pytest.raises(TokenExpired):
        verify_access(SECRET, mint_access(SECRET, 1, "admin", now - 700, ttl_s=600))


def test_a_large_user_id_round_trips() -> None:
    user_id = 2**63 - 1
    assert (
        verify_access(SECRET, mint_access(SECRET, user_id, "bidder", NOW), NOW).user_id == user_id
    )


def test_a_token_signed_by_another_party_with_our_key_is_accepted() -> None:
    token = craft(HS256, claims(sub="9"))
    assert verify_access(SECRET, token, NOW) == Claims(9, "bidder", EXP * 1000)


# --- expiry ---------------------------------------------------------------------------------


def test_valid_until_the_last_millisecond_before_exp() -> None:
    token = mint_access(SECRET, 42, "bidder", NOW)
    assert verify_access(SECRET, token, EXP - 1).user_id == 42


@pytest.mark.parametrize("now_s", [EXP, EXP + 1, EXP + 86_400])
def test_expired_from_exp_on(now_s: int) -> None:
    token = mint_access(SECRET, 42, "bidder", NOW)
    error = refused(token, now_s)
    assert isinstance(error, TokenExpired)
    assert "expired" in error.message


def test_token_expired_is_an_unauthenticated_error() -> None:
    assert issubclass(TokenExpired, Unauthenticated)
    assert TokenExpired.code == "unauthenticated"


def test_no_leeway_for_an_expired_token() -> None:
    token = craft(HS256, claims(exp=NOW))
    assert isinstance(refused(token, NOW), TokenExpired)


# --- refusals ---------------------------------------------------------------------------------


def test_missing_exp_is_invalid() -> None:
    error = refused(craft(HS256, claims(exp=...)))
    assert not isinstance(error, TokenExpired)
    assert "exp" in error.message


def test_null_exp_is_invalid() -> None:
    assert "exp" in refused(craft(HS256, claims(exp=None))).message


def test_missing_sub_is_invalid() -> None:
    assert "sub" in refused(craft(HS256, claims(sub=...))).message


def test_alg_none_is_refused() -> None:
    for alg in ("none", "None", "NONE"):
        error = refused(craft({"alg": alg, "typ": "JWT"}, claims(), key=None))
        assert "algorithm" in error.message


def test_alg_none_with_a_valid_signature_is_still_refused() -> None:
    refused(craft({"alg": "none"}, claims()))


@pytest.mark.parametrize(("alg", "digest"), [("HS384", "sha384"), ("HS512", "sha512")])
def test_other_hmac_algorithms_with_the_same_key_are_refused(alg: str, digest: str) -> None:
    token = craft({"alg": alg, "typ": "JWT"}, claims(), digest=digest)
    assert verify_access(SECRET, craft(HS256, claims(), digest="sha256"), NOW)
    assert "algorithm" in refused(token).message


@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
def test_asymmetric_algorithms_are_refused(alg: str) -> None:
    refused(craft({"alg": alg, "typ": "JWT"}, claims()))


def test_wrong_key() -> None:
    token = mint_access(OTHER_SECRET, 42, "bidder", NOW)
    assert "signature" in refused(token).message


def test_tampered_payload() -> None:
    header, _, signature = mint_access(SECRET, 42, "bidder", NOW).split(".")
    forged = b64url(json.dumps(claims(sub="1", role="admin")).encode())
    assert "signature" in refused(f"{header}.{forged}.{signature}").message


def test_tampered_signature() -> None:
    token = mint_access(SECRET, 42, "bidder", NOW)
    last = "A" if token[-2] != "A" else "B"
    refused(token[:-2] + last + token[-1])


def test_stripped_signature() -> None:
    header, payload, _ = mint_access(SECRET, 42, "bidder", NOW).split(".")
    refused(f"{header}.{payload}.")


@pytest.mark.parametrize("typ", ["refresh", "Access", "", None, 1, ...])
def test_wrong_typ(typ: object) -> None:
    assert "access token" in refused(craft(HS256, claims(typ=typ))).message


@pytest.mark.parametrize(
    "sub",
    ["abc", "", "0", "-1", "01", " 42", "42 ", "4.2", "42\n", "1e3", "\u0664\u0662", "9" * 19, 42],
    ids=repr,
)
def test_sub_must_be_the_decimal_string_of_a_positive_int(sub: object) -> None:
    refused(craft(HS256, claims(sub=sub)))


@pytest.mark.parametrize("role", ["root", "Admin", "", None, 1, ["admin"], ...], ids=repr)
def test_role_must_be_known(role: object) -> None:
    refused(craft(HS256, claims(role=role)))


@pytest.mark.parametrize("exp", [str(EXP), float(EXP), True, [EXP]], ids=repr)
def test_exp_must_be_an_integer(exp: object) -> None:
    error = refused(craft(HS256, claims(exp=exp)))
    assert not isinstance(error, TokenExpired)


@pytest.mark.parametrize("iat", ["now", 1.5, False], ids=repr)
def test_iat_when_present_must_be_an_integer(iat: object) -> None:
    refused(craft(HS256, claims(iat=iat)))


def test_iat_is_optional_and_may_be_slightly_ahead() -> None:
    assert verify_access(SECRET, craft(HS256, claims(iat=...)), NOW).user_id == 42
    assert verify_access(SECRET, craft(HS256, claims(iat=NOW + 5)), NOW).user_id == 42


def test_nbf_in_the_future_is_refused() -> None:
    refused(craft(HS256, claims(nbf=NOW + 1)))
    assert verify_access(SECRET, craft(HS256, claims(nbf=NOW)), NOW).user_id == 42


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b",
        "a.b.c",
        "...",
        "a.b.c.d",
        "Bearer " + "x" * 20,
        "\u00e9.\u00e9.\u00e9",
        b64url(b"[1,2]") + "." + b64url(b"{}") + ".",
        b64url(json.dumps(HS256).encode()) + "." + b64url(b"[1,2,3]") + ".sig",
        b64url(json.dumps(HS256).encode()) + ".!!!." + "sig",
        "x" * 9000,
    ],
    ids=lambda t: repr(t[:30]),
)
def test_garbage_strings(token: str) -> None:
    refused(token)


def test_payload_that_is_not_an_object() -> None:
    signing_input = b64url(json.dumps(HS256).encode()) + "." + b64url(b"[1,2,3]")
    mac = hmac.new(SECRET, signing_input.encode(), hashlib.sha256).digest()
    refused(signing_input + "." + b64url(mac))


@pytest.mark.parametrize("token", [None, b"a.b.c", 42])
def test_non_string_tokens(token: object) -> None:
    with pytest.raises(Unauthenticated):
        verify_access(SECRET, token, NOW)  # type: ignore[arg-type]


# --- programming errors ------------------------------------------------------------------------


@pytest.mark.parametrize("secret", [b"", b"short", b"x" * 31])
def test_short_secrets_are_a_configuration_error(secret: bytes) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        mint_access(secret, 42, "bidder", NOW)
    with pytest.raises(ValueError, match="32 bytes"):
        verify_access(secret, "a.b.c", NOW)


@pytest.mark.parametrize(
    ("user_id", "role", "ttl_s"),
    [
        (0, "bidder", 900),
        (-1, "bidder", 900),
        (True, "bidder", 900),
        (1, "root", 900),
        (1, "bidder", 0),
    ],
)
def test_mint_refuses_bad_arguments(user_id: int, role: str, ttl_s: int) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each argument has its own message
        mint_access(SECRET, user_id, role, NOW, ttl_s)
