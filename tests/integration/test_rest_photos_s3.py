"""Photos over REST with the S3 adapter, chosen by the settings (CONTRACT §4, issue 15).

The node is configured as on ECS: `BIDSERVER_MEDIA_BUCKET` names a bucket of a real S3
endpoint (moto's server on loopback, reached through `AWS_ENDPOINT_URL_S3` as the SDK reads
it) and `BIDSERVER_MEDIA_URL` a CDN in front of it. Uploads land in the bucket, pages link
the CDN, `/media/` redirects there; without a CDN the node serves the bucket's bytes; a
bucket that cannot be written answers 503 and adds nothing to the vehicle.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest
from PIL import Image

from bidserver.config import Settings, load_settings
from tests.s3server import CREDENTIALS, keys, make_bucket, s3_server
from tests.support import SECRET, RunningApi, make_auction, make_user, running_api

CDN = "https://photos.example.test"
BROWSER = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env, s3_server() as endpoint:
        for key, value in CREDENTIALS.items():
            env.setenv(key, value)
        env.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        env.delenv("AWS_PROFILE", raising=False)
        yield endpoint


def _settings(dsn: str, tmp_path: Path, bucket: str, media_url: str | None) -> Settings:
    env = {
        "BIDSERVER_DATABASE_URL": dsn,
        "BIDSERVER_JWT_SECRET": SECRET.decode(),
        "BIDSERVER_DATA_DIR": str(tmp_path),
        "BIDSERVER_MEDIA_BUCKET": bucket,
    }
    return load_settings(env | ({"BIDSERVER_MEDIA_URL": media_url} if media_url else {}))


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 90, 200)).save(out, "JPEG")
    return out.getvalue()


async def _upload(api: RunningApi, vehicle: int, seller: int) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("file", _jpeg(), filename="car.jpg", content_type="image/jpeg")
    return await api.http.post(
        f"{api.base}/vehicles/{vehicle}/photos", data=form, headers=api.auth(seller, "seller")
    )


async def _seller_vehicle(pool: asyncpg.Pool) -> tuple[int, int]:
    _, seller = await make_auction(pool)
    vehicle = await pool.fetchval("SELECT id FROM vehicles WHERE seller_id = $1", seller)
    return seller, vehicle


async def test_an_upload_lands_in_the_bucket_and_pages_link_the_cdn(
    clean_db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = await make_bucket(s3_endpoint)
    seller, vehicle = await _seller_vehicle(clean_db)
    other = await make_user(clean_db, "seller")
    settings = _settings(pg_dsn, tmp_path, bucket, CDN)
    async with running_api(clean_db, pg_dsn, settings=settings) as api:
        form = aiohttp.FormData()
        form.add_field("file", _jpeg(), filename="car.jpg", content_type="image/jpeg")
        async with api.http.post(
            f"{api.base}/vehicles/{vehicle}/photos", data=form, headers=api.auth(other, "seller")
        ) as r:
            assert r.status == 403
        assert await keys(s3_endpoint, bucket) == []  # a refused upload stores nothing
        async with await _upload(api, vehicle, seller) as r:
            assert r.status == 201
            made = await r.json()
        name = made["url"].removeprefix("/media/")
        thumb = made["thumbUrl"].removeprefix("/media/")
        assert await keys(s3_endpoint, bucket) == sorted([name, thumb])
        assert not (tmp_path / "media").exists()  # nothing on this host's disk
        async with api.http.get(f"{api.base}/vehicles/{vehicle}") as r:
            assert (await r.json())["photos"] == [made["url"]]  # the stable path
        async with api.http.get(api.base + made["url"], allow_redirects=False) as r:
            assert r.status == 302
            assert r.headers["Location"] == f"{CDN}/{name}"
        async with api.http.get(f"{api.base}/vehicles/{vehicle}", headers={"Accept": BROWSER}) as r:
            assert r.status == 200
            page = await r.text()
            policy = r.headers["Content-Security-Policy"]
        assert f'src="{CDN}/{name}"' in page
        assert "/media/" not in page
        assert f"img-src 'self' {CDN};" in policy
        async with api.http.get(f"{api.base}/auctions/active", headers={"Accept": BROWSER}) as r:
            assert f'src="{CDN}/{thumb}"' in await r.text()


async def test_without_a_cdn_the_node_serves_the_bucket(
    clean_db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, s3_endpoint: str
) -> None:
    bucket = await make_bucket(s3_endpoint)
    seller, vehicle = await _seller_vehicle(clean_db)
    settings = _settings(pg_dsn, tmp_path, bucket, None)
    async with running_api(clean_db, pg_dsn, settings=settings) as api:
        async with await _upload(api, vehicle, seller) as r:
            assert r.status == 201
            made = await r.json()
        async with api.http.get(api.base + made["thumbUrl"]) as r:
            assert r.status == 200
            assert "immutable" in r.headers["Cache-Control"]
            assert max(Image.open(io.BytesIO(await r.read())).size) == 480
        async with api.http.get(f"{api.base}/media/{'0' * 32}.jpg") as r:
            assert r.status == 404
        async with api.http.get(f"{api.base}/vehicles/{vehicle}", headers={"Accept": BROWSER}) as r:
            assert "img-src 'self';" in r.headers["Content-Security-Policy"]


async def test_a_bucket_that_cannot_be_written_is_503_and_adds_nothing(
    clean_db: asyncpg.Pool, pg_dsn: str, tmp_path: Path, s3_endpoint: str
) -> None:
    seller, vehicle = await _seller_vehicle(clean_db)
    settings = _settings(pg_dsn, tmp_path, "photos-never-made", CDN)
    async with running_api(clean_db, pg_dsn, settings=settings) as api:
        async with await _upload(api, vehicle, seller) as r:
            assert r.status == 503
            assert (await r.json())["error"]["code"] == "unavailable"
        async with api.http.get(f"{api.base}/vehicles/{vehicle}") as r:
            assert (await r.json())["photos"] == []
        async with api.http.get(f"{api.base}/health") as r:
            assert r.status == 200  # and the node keeps serving
