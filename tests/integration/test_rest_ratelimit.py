"""REST rate limits (CONTRACT §1, §4) and request metrics, over real HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from bidserver.config import SettingError, load_settings
from tests.support import SECRET, RunningApi, make_user, running_api


@asynccontextmanager
async def api_with(
    db: asyncpg.Pool, dsn: str, http: str = "5/60", ws: str = "50/200"
) -> AsyncIterator[RunningApi]:
    settings = load_settings(
        {
            "BIDSERVER_DATABASE_URL": dsn,
            "BIDSERVER_JWT_SECRET": SECRET.decode(),
            "BIDSERVER_HTTP_RATE_LIMIT": http,
            "BIDSERVER_WS_RATE_LIMIT": ws,
        }
    )
    async with running_api(db, dsn, settings=settings) as api:
        yield api


async def status_of(
    api: RunningApi, method: str, path: str, headers: dict[str, str] | None = None
) -> int:
    async with api.http.request(method, api.base + path, headers=headers, json={}) as resp:
        await resp.read()
        return resp.status


async def test_over_the_ip_limit_is_429_with_retry_after(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api_with(db, pg_dsn, "5/60") as api:
        statuses = [await status_of(api, "GET", "/me") for _ in range(5)]
        assert statuses == [401] * 5
        async with api.http.get(api.base + "/me") as resp:
            body = await resp.json()
            assert resp.status == 429
            assert body["error"]["code"] == "rate_limited"
            retry_after = resp.headers["Retry-After"]
            assert retry_after.isdigit()
            assert 1 <= int(retry_after) <= 60
        # every path counts against the same address, whatever the answer
        assert await status_of(api, "POST", "/auth/login") == 429
        assert await status_of(api, "GET", "/no/such/path") == 429


async def test_health_ready_and_metrics_are_exempt(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api_with(db, pg_dsn, "3/60") as api:
        for _ in range(10):
            assert await status_of(api, "GET", "/health") == 200
            assert await status_of(api, "GET", "/metrics") == 200
        assert [await status_of(api, "GET", "/me") for _ in range(3)] == [401] * 3
        assert await status_of(api, "GET", "/me") == 429
        assert await status_of(api, "GET", "/health") == 200
        assert await status_of(api, "GET", "/ready") == 200
        assert await status_of(api, "GET", "/metrics") == 200


async def test_forwarded_headers_do_not_escape_the_limit(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api_with(db, pg_dsn, "3/60") as api:
        answers = [
            await status_of(
                api,
                "GET",
                "/me",
                {"X-Forwarded-For": f"203.0.113.{n}", "Forwarded": f"for=198.51.100.{n}"},
            )
            for n in range(6)
        ]
        assert answers == [401, 401, 401, 429, 429, 429]


async def test_zero_turns_the_ip_limit_off(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api_with(db, pg_dsn, "0") as api:
        assert {await status_of(api, "GET", "/me") for _ in range(60)} == {401}


async def test_each_app_counts_on_its_own(db: asyncpg.Pool, pg_dsn: str) -> None:
    async with api_with(db, pg_dsn, "2/60") as first:
        assert [await status_of(first, "GET", "/me") for _ in range(3)] == [401, 401, 429]
    async with api_with(db, pg_dsn, "2/60") as second:
        assert await status_of(second, "GET", "/me") == 401


async def test_bid_endpoints_are_limited_per_user(db: asyncpg.Pool, pg_dsn: str) -> None:
    alice, bob = await make_user(db), await make_user(db)
    async with api_with(db, pg_dsn, "0", ws="1/3") as api:
        for path in ("/auctions/1/bid", "/auctions/1/max-bid", "/auctions/1/buy-now"):
            assert await status_of(api, "POST", path, api.auth(alice)) != 429
        async with api.http.post(
            api.base + "/auctions/2/bid", json={"amount": 1000}, headers=api.auth(alice)
        ) as resp:
            body = await resp.json()
            assert resp.status == 429
            assert body["error"]["code"] == "rate_limited"
            assert resp.headers["Retry-After"] == "1"
        # another user, anonymous callers and other endpoints are not held up
        assert await status_of(api, "POST", "/auctions/1/bid", api.auth(bob)) != 429
        assert {await status_of(api, "POST", "/auctions/1/bid") for _ in range(5)} == {401}
        assert await status_of(api, "GET", "/me", api.auth(alice)) == 200


def _samples(text: str, name: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, _, value = line.rpartition(" ")
            found[labels[len(name) :]] = float(value)
    return found


async def test_metrics_label_requests_by_route_template(db: asyncpg.Pool, pg_dsn: str) -> None:
    user = await make_user(db)
    async with api_with(db, pg_dsn, "0") as api:
        await status_of(api, "GET", "/me", api.auth(user))
        await status_of(api, "GET", "/me")
        for n in range(3):
            await status_of(api, "GET", f"/definitely-not-a-route-{n}")
        for n in (101, 102):
            await status_of(api, "GET", f"/vehicles/{n}")
        async with api.http.get(api.base + "/metrics") as resp:
            text = await resp.text()
    counts = _samples(text, "bidserver_http_requests_total")
    assert counts['{method="GET",route="/me",status="200"}'] >= 1
    assert counts['{method="GET",route="/me",status="401"}'] >= 1
    assert counts['{method="GET",route="unmatched",status="404"}'] >= 3
    assert "definitely-not-a-route" not in text
    assert not re.search(r'route="/vehicles/\d+"', text)
    buckets = _samples(text, "bidserver_http_request_duration_seconds_count")
    assert buckets['{method="GET",route="/me",status="200"}'] >= 1


async def test_forwarded_clients_behind_a_trusted_proxy_get_their_own_budget(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    settings = load_settings(
        {
            "BIDSERVER_DATABASE_URL": pg_dsn,
            "BIDSERVER_JWT_SECRET": SECRET.decode(),
            "BIDSERVER_HTTP_RATE_LIMIT": "2/60",
            "BIDSERVER_TRUSTED_PROXIES": "127.0.0.0/8, ::1",  # the test client is the proxy
        }
    )
    async with running_api(db, pg_dsn, settings=settings) as api:

        def via(header: str) -> dict[str, str]:
            return {"X-Forwarded-For": header}

        alice, bob = via("198.51.100.1"), via("198.51.100.2")
        assert [await status_of(api, "GET", "/me", alice) for _ in range(2)] == [401, 401]
        assert await status_of(api, "GET", "/me", alice) == 429
        # Another client behind the same proxy is not punished for alice's requests …
        assert await status_of(api, "GET", "/me", bob) == 401
        # … and alice cannot dodge her limit by prepending made-up addresses.
        for spoof in ("203.0.113.5, 198.51.100.1", "10.1.1.1,198.51.100.1", "junk, 198.51.100.1"):
            assert await status_of(api, "GET", "/me", via(spoof)) == 429


async def test_forwarded_headers_from_untrusted_peers_are_ignored(
    db: asyncpg.Pool, pg_dsn: str
) -> None:
    async with api_with(db, pg_dsn, "2/60") as api:  # no trusted proxies (the default)
        for n in range(2):
            assert await status_of(api, "GET", "/me", {"X-Forwarded-For": f"198.51.100.{n}"}) == 401
        # A new address in the header buys no new budget: the TCP peer is the client.
        assert await status_of(api, "GET", "/me", {"X-Forwarded-For": "198.51.100.77"}) == 429


def test_trusted_proxies_setting_is_checked_at_start_up() -> None:
    env = {"BIDSERVER_TRUSTED_PROXIES": "10.0.0.0/8, 10.0.0.0/99"}
    message = r"^BIDSERVER_TRUSTED_PROXIES: not a network: '10\.0\.0\.0/99'"
    with pytest.raises(SettingError, match=message):
        load_settings(env)
    assert load_settings({}).trusted_proxies == ()
