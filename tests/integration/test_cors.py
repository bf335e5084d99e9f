"""CORS on the REST port (issue 10, finding 7): `BIDSERVER_CORS_ORIGINS`, default none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bidserver.config import SettingError, load_settings
from tests.support import SECRET, RunningApi, make_auction, make_user, running_api

FRONT = "https://app.example.test"
PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@asynccontextmanager
async def api(db: asyncpg.Pool, dsn: str, origins: str | None) -> AsyncIterator[RunningApi]:
    env = {"BIDSERVER_DATABASE_URL": dsn, "BIDSERVER_JWT_SECRET": SECRET.decode()}
    if origins is not None:
        env["BIDSERVER_CORS_ORIGINS"] = origins
    async with running_api(db, dsn, settings=load_settings(env)) as running:
        yield running


async def test_a_listed_origin_gets_its_preflight_and_headers(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    """Before issue 10 the preflight was a 405 and no answer carried CORS headers."""
    user = await make_user(db)
    auction_id, _ = await make_auction(db, starting_price=1000)
    async with api(db, pg_dsn, f"http://localhost:3000,{FRONT}") as a:
        path = f"{a.base}/auctions/{auction_id}/bid"
        async with a.http.options(path, headers={"Origin": FRONT, **PREFLIGHT}) as pre:
            assert pre.status == 204
            assert pre.headers["Access-Control-Allow-Origin"] == FRONT
            assert pre.headers["Access-Control-Allow-Credentials"] == "true"
            assert "POST" in pre.headers["Access-Control-Allow-Methods"]
            allowed = pre.headers["Access-Control-Allow-Headers"].lower()
            assert "authorization" in allowed
            assert "content-type" in allowed
            assert "Origin" in pre.headers["Vary"]
        headers = {"Origin": FRONT, **a.auth(user)}
        async with a.http.post(path, json={"amount": 1000}, headers=headers) as bid:
            assert bid.status == 201
            assert bid.headers["Access-Control-Allow-Origin"] == FRONT
            assert "Origin" in bid.headers["Vary"]
        # Errors carry them too, so a page can read why (and Retry-After on a 429).
        async with a.http.post(path, json={"amount": 1}, headers=headers) as refused:
            assert refused.status == 409
            assert refused.headers["Access-Control-Allow-Origin"] == FRONT
            assert "Retry-After" in refused.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("origins", [None, FRONT])
async def test_other_origins_get_nothing_and_a_preflight_says_why(
    db: asyncpg.Pool, pg_dsn: str, origins: str | None
) -> None:
    async with api(db, pg_dsn, origins) as a:
        evil = {"Origin": "https://evil.example.test"}
        async with a.http.options(f"{a.base}/me", headers={**evil, **PREFLIGHT}) as pre:
            assert pre.status == 403
            assert "BIDSERVER_CORS_ORIGINS" in (await pre.json())["error"]["message"]
            assert "Access-Control-Allow-Origin" not in pre.headers
        async with a.http.get(f"{a.base}/vehicles", headers=evil) as got:
            assert got.status == 200
            assert "Access-Control-Allow-Origin" not in got.headers
        async with a.http.get(f"{a.base}/vehicles") as plain:  # no Origin: not a browser call
            assert "Access-Control-Allow-Origin" not in plain.headers


async def test_any_origin_never_with_credentials(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api(db, pg_dsn, "*") as a:
        origin = {"Origin": "https://anywhere.example.test"}
        async with a.http.options(f"{a.base}/vehicles", headers={**origin, **PREFLIGHT}) as pre:
            assert pre.status == 204
            assert pre.headers["Access-Control-Allow-Origin"] == "*"
            assert "Access-Control-Allow-Credentials" not in pre.headers
        async with a.http.get(f"{a.base}/vehicles", headers=origin) as got:
            assert got.headers["Access-Control-Allow-Origin"] == "*"
            assert "Access-Control-Allow-Credentials" not in got.headers


@pytest.mark.parametrize(
    "value", ["app.example.test", "https://app.example.test/path", "*,https://a.test", "ftp://x"]
)
def test_a_malformed_setting_stops_start_up(value: str) -> None:
    with pytest.raises(SettingError, match="BIDSERVER_CORS_ORIGINS"):
        load_settings({"BIDSERVER_CORS_ORIGINS": value})
