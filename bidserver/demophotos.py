"""The demo photo step of `bidserver seed-demo` (`bidserver.seeding`): a drawn picture for
every demo vehicle. A step of its own after the catalogue, so it also pictures an older
demo database whose vehicles have none. Idempotent: a
vehicle that already has a photo stored by this server is left alone. The pictures go to the
node's media store (`bidserver.mediastores`): the data dir, or the S3 bucket.
"""

from __future__ import annotations

import asyncio

from bidserver.media.demo import demo_photo
from bidserver.media.images import Processed, encoded
from bidserver.media.store import MediaStore, content_name, media_path
from bidserver.mediastores import translate_media
from storage.photos import Unpictured, set_photos, unpictured_vehicles
from storage.pool import AnyConnection


def _draw(todo: list[Unpictured]) -> list[tuple[int, Processed]]:
    return [(v.id, encoded(demo_photo(v.vin, v.model, v.color), fast=True)) for v in todo]


async def add_demo_photos(conn: AnyConnection, seller: int, store: MediaStore) -> int:
    """Picture every vehicle of `seller` without a photo of ours; returns how many."""
    todo = await unpictured_vehicles(conn, seller)
    drawn = await asyncio.to_thread(_draw, todo)
    photos: dict[int, list[str]] = {}
    with translate_media():
        for vehicle_id, processed in drawn:
            name = content_name(processed.photo, "jpg")
            await store.put(name, processed.photo)
            await store.put(content_name(processed.photo, "jpg", thumb=True), processed.thumb)
            photos[vehicle_id] = [media_path(name)]
    await set_photos(conn, photos)
    return len(photos)
