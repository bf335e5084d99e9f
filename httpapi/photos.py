"""REST routes: vehicle photos (CONTRACT §4): `POST /vehicles/{id}/photos`, `GET /media/{name}`.

An upload is refused before its bytes are read when the caller may not add a photo to the
vehicle; then it is read (one multipart `file`, at most 10 MiB), decoded and re-encoded in a
worker thread (`bidserver.media.images`), and only then stored: a refused upload stores
nothing. Media names are derived from the content, so `/media/` answers may be cached for
ever. The store is a port (`MediaStore`) chosen by the settings (`bidserver.mediastores`):
files in `DATA_DIR/media`, or an S3 bucket. A vehicle keeps `/media/{name}` paths; when a
CDN fronts the bucket (`BIDSERVER_MEDIA_URL`), `/media/{name}` redirects there.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from bidserver.errors import NotFound
from bidserver.media import images
from bidserver.media.store import (
    IMMUTABLE,
    NAME,
    MediaStore,
    MediaUnavailable,
    content_name,
    content_type,
    media_path,
)
from bidserver.mediastores import media_store, translate_media
from httpapi.errors import Invalid, UnsupportedType
from httpapi.keys import MEDIA, POOL, SETTINGS
from httpapi.security import require_role
from httpapi.validation import path_id
from httpapi.vehicles import EDITORS, MAX_PHOTOS
from storage import photos
from storage.photos import PhotosFull

UPLOAD_GATE: Final = web.AppKey("upload_gate", asyncio.Semaphore)
MAX_CONCURRENT_DECODES: Final = 2  # each may hold up to ~160 MB of pixels
_MULTIPART_OVERHEAD: Final = 64 * 1024
REDIRECT_CACHE: Final = "public, max-age=86400"  # the CDN's address may change one day

log = logging.getLogger("httpapi.photos")


async def upload_photo(request: web.Request) -> web.Response:
    claims = require_role(request, *EDITORS)
    vehicle_id = path_id(request)
    owner = None if claims.role == "admin" else claims.user_id
    pool = request.app[POOL]
    try:
        await photos.room_for_photo(pool, vehicle_id, owner, MAX_PHOTOS)
        data = await _read_file(request)
        processed = await _process(request.app[UPLOAD_GATE], data)
        urls = await _store(request, vehicle_id, owner, processed)
    except PhotosFull as exc:
        raise Invalid(exc.message, field="file") from None
    return web.json_response(urls, status=201)


async def _read_file(request: web.Request) -> bytes:
    """The bytes of the one `file` part; anything else in the body is refused."""
    if request.content_type != "multipart/form-data":
        raise UnsupportedType("send the photo as multipart/form-data with one part named file")
    limit = images.MAX_UPLOAD_BYTES
    if (request.content_length or 0) > limit + _MULTIPART_OVERHEAD:
        raise Invalid(f"the file is larger than {limit // (1024 * 1024)} MiB", field="file")
    try:
        found = await _only_file(await request.multipart(), limit)
    except (ValueError, AssertionError, RuntimeError, HttpProcessingError):  # no boundary, …
        raise Invalid("the multipart body is malformed", field="file") from None
    if not found:
        raise Invalid("file is required (one multipart part named file)", field="file")
    return found


async def _only_file(reader: MultipartReader, limit: int) -> bytes | None:
    found: bytes | None = None
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name != "file":
            raise Invalid(f"unknown field: {getattr(part, 'name', None)}", field="file")
        if found is not None:
            raise Invalid("send one file per request", field="file")
        found = await _read_part(part, limit)
    return found


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise Invalid(f"the file is larger than {limit // (1024 * 1024)} MiB", field="file")
        chunks.append(chunk)
    return b"".join(chunks)


async def _process(gate: asyncio.Semaphore, data: bytes) -> images.Processed:
    async with gate:
        try:
            return await asyncio.to_thread(images.process, data)
        except images.NotAnImage as exc:
            raise UnsupportedType(f"{exc}: send a JPEG, PNG or WebP photo") from None
        except images.BadImage as exc:
            raise Invalid(str(exc), field="file") from None


async def _store(
    request: web.Request, vehicle_id: int, owner: int | None, processed: images.Processed
) -> dict[str, str]:
    """Store the photo and its thumbnail, then add it to the vehicle; undo what it stored new."""
    store = request.app[MEDIA]
    name = content_name(processed.photo, "jpg")
    thumb = content_name(processed.photo, "jpg", thumb=True)
    created: list[str] = []
    try:
        with translate_media():
            for made, data in ((name, processed.photo), (thumb, processed.thumb)):
                if await store.put(made, data):
                    created.append(made)
        await photos.append_photo(
            request.app[POOL], vehicle_id, owner, media_path(name), MAX_PHOTOS
        )
    except BaseException:
        await _forget(store, created)  # refused after all (deleted or filled meanwhile)
        raise
    return {"url": media_path(name), "thumbUrl": media_path(thumb)}


async def _forget(store: MediaStore, names: list[str]) -> None:
    """Remove what a refused upload stored new; a store that fails here leaves an orphan."""
    for name in names:
        try:
            await store.delete(name)
        except MediaUnavailable as exc:
            log.warning(
                "photo left behind by a refused upload", extra={"media": name, "error": str(exc)}
            )


async def media(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    etag = f'"{name}"'
    if NAME.fullmatch(name) is None:
        raise NotFound("no such photo")
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers={"ETag": etag, "Cache-Control": IMMUTABLE})
    store = request.app[MEDIA]
    public = store.url(name)
    if public != media_path(name):  # a CDN serves the store: send the browser there
        raise web.HTTPFound(public, headers={"Cache-Control": REDIRECT_CACHE})
    with translate_media():
        data = await store.get(name)
    if data is None:
        raise NotFound("no such photo")
    headers = {
        "Cache-Control": IMMUTABLE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return web.Response(body=data, content_type=content_type(name), headers=headers)


async def _close_media(app: web.Application) -> None:
    await app[MEDIA].aclose()


def add_routes(app: web.Application) -> None:
    """Registered by the application factory; photos go where the settings say
    (`bidserver.mediastores`) unless the factory's caller put a `MediaStore` under `MEDIA`."""
    if MEDIA not in app:
        app[MEDIA] = media_store(app[SETTINGS])
    app.on_cleanup.append(_close_media)
    app[UPLOAD_GATE] = asyncio.Semaphore(MAX_CONCURRENT_DECODES)
    app.router.add_post("/vehicles/{id}/photos", upload_photo)
    app.router.add_get("/media/{name}", media)
