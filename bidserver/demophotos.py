"""The demo photo step of `bidserver seed-demo` (`bidserver.seeding`): a drawn picture for
every demo vehicle. A step of its own after the catalogue, so it also pictures an older
demo database whose vehicles have none. Idempotent: a
vehicle that already has a photo stored by this server is left alone.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bidserver.media.demo import demo_photo
from bidserver.media.images import Processed, encoded
from bidserver.media.store import content_name, local_store
from storage.photos import Unpictured, set_photos, unpictured_vehicles
from storage.pool import AnyConnection


def _draw(todo: list[Unpictured]) -> list[tuple[int, Processed]]:
    return [(v.id, encoded(demo_photo(v.vin, v.model, v.color), fast=True)) for v in todo]


async def add_demo_photos(conn: AnyConnection, seller: int, data_dir: Path) -> int:
    """Picture every vehicle of `seller` without a photo of ours; returns how many."""
    todo = await unpictured_vehicles(conn, seller)
    drawn = await asyncio.to_thread(_draw, todo)
    store = local_store(data_dir)
    photos: dict[int, list[str]] = {}
    for vehicle_id, processed in drawn:
        name = content_name(processed.photo, "jpg")
        await store.put(name, processed.photo)
        await store.put(content_name(processed.photo, "jpg", thumb=True), processed.thumb)
        photos[vehicle_id] = [store.url(name)]
    await set_photos(conn, photos)
    return len(photos)
