"""Photos over REST (CONTRACT §4) and the content negotiation of shared paths (§5)."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import asyncpg
from PIL import Image

from bidserver.config import load_settings
from bidserver.media.store import local_store
from httpapi.pages.negotiate import prefers_html
from tests.e2e.images import NOT_AN_IMAGE, bomb_png
from tests.support import SECRET, make_auction, make_user, running_api

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/webp,*/*;q=0.8"


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (1200, 900), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _form(data: bytes, name: str = "file") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field(name, data, filename="x.jpg", content_type="image/jpeg")
    return form


async def test_upload_strips_metadata_thumbnails_and_serves_for_ever(
    clean_db: asyncpg.Pool, pg_dsn: str, tmp_path: Path
) -> None:
    settings = load_settings(
        {
            "BIDSERVER_DATABASE_URL": pg_dsn,
            "BIDSERVER_JWT_SECRET": SECRET.decode(),
            "BIDSERVER_DATA_DIR": str(tmp_path),
        }
    )
    _, seller = await make_auction(clean_db)
    other = await make_user(clean_db, "seller")
    vehicle = await clean_db.fetchval("SELECT id FROM vehicles WHERE seller_id = $1", seller)
    async with running_api(clean_db, pg_dsn, settings=settings) as api:
        url = f"{api.base}/vehicles/{vehicle}/photos"
        async with api.http.post(url, data=_form(_jpeg_with_gps())) as r:
            assert r.status == 401
        async with api.http.post(
            url, data=_form(_jpeg_with_gps()), headers=api.auth(other, "seller")
        ) as r:
            assert r.status == 403
        assert local_store(tmp_path).names() == []
        async with api.http.post(
            url, data=_form(NOT_AN_IMAGE), headers=api.auth(seller, "seller")
        ) as r:
            assert r.status == 415
            assert (await r.json())["error"]["code"] == "bad_request"
        async with api.http.post(
            url, data=_form(bomb_png()), headers=api.auth(seller, "seller")
        ) as r:
            assert r.status == 422
        async with api.http.post(
            url, data=_form(b"x", "photo"), headers=api.auth(seller, "seller")
        ) as r:
            assert r.status == 422
        assert local_store(tmp_path).names() == []
        async with api.http.post(
            url, data=_form(_jpeg_with_gps()), headers=api.auth(seller, "seller")
        ) as r:
            assert r.status == 201
            made = await r.json()
        async with api.http.get(f"{api.base}/vehicles/{vehicle}") as r:
            assert (await r.json())["photos"] == [made["url"]]
        async with api.http.get(api.base + made["url"]) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "image/jpeg"
            assert "immutable" in r.headers["Cache-Control"]
            stored = Image.open(io.BytesIO(await r.read()))
            assert stored.size == (1200, 900)
            assert not stored.getexif()
            assert "exif" not in stored.info
        async with api.http.get(api.base + made["thumbUrl"]) as r:
            assert max(Image.open(io.BytesIO(await r.read())).size) == 480
        async with api.http.get(f"{api.base}/media/../secret") as r:
            assert r.status == 404


async def test_shared_paths_answer_json_unless_html_is_preferred(
    clean_db: asyncpg.Pool, pg_dsn: str
) -> None:
    auction, _ = await make_auction(clean_db)
    async with running_api(clean_db, pg_dsn) as api:
        for path in ("/auctions/active", f"/auctions/{auction}", "/vehicles", "/vehicles/1"):
            for accept in (None, "*/*", "application/json", "text/html, application/json"):
                headers = {} if accept is None else {"Accept": accept}
                async with api.http.get(api.base + path, headers=headers) as r:
                    assert r.status == 200, (path, accept)
                    assert r.content_type == "application/json", (path, accept)
                    assert "Accept" in r.headers.get("Vary", ""), path
            async with api.http.get(api.base + path, headers={"Accept": BROWSER}) as r:
                assert r.status == 200, path
                assert r.content_type == "text/html", path
                assert "script-src 'self'" in r.headers["Content-Security-Policy"]
                assert "<title>" in await r.text()


def test_prefers_html() -> None:
    assert prefers_html(BROWSER)
    assert prefers_html("text/html")
    assert prefers_html("text/*")
    assert not prefers_html(None)
    assert not prefers_html("*/*")
    assert not prefers_html("application/json")
    assert not prefers_html("text/html, application/json")
    assert not prefers_html("text/html;q=0.5, */*")
    assert not prefers_html("text/html;q=0")
    assert not prefers_html("text/html;q=oops")


async def test_a_malformed_multipart_body_is_422_not_a_server_error(
    clean_db: asyncpg.Pool, pg_dsn: str
) -> None:
    _, seller = await make_auction(clean_db)
    vehicle = await clean_db.fetchval("SELECT id FROM vehicles WHERE seller_id = $1", seller)
    bodies = {
        "multipart/form-data": b"--x\r\n\r\n",  # no boundary
        "multipart/form-data; boundary=b": (  # a control character in a part's header
            b'--b\r\nContent-Disposition: form-data; name="\x1ar"\r\n\r\nx\r\n--b--\r\n'
        ),
    }
    async with running_api(clean_db, pg_dsn) as api:
        for content_type, body in bodies.items():
            headers = {**api.auth(seller, "seller"), "Content-Type": content_type}
            url = f"{api.base}/vehicles/{vehicle}/photos"
            async with api.http.post(url, data=body, headers=headers) as r:
                assert r.status == 422, (content_type, await r.text())
