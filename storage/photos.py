"""Vehicle photos in the catalogue: the SQL of `POST /vehicles/{id}/photos` and the demo step.

An upload is checked twice: before its bytes are read (the vehicle exists, is the caller's,
has room), so a refused upload costs nothing and stores nothing; and again, under the
vehicle's row lock, when its URL is appended, so two uploads at once cannot pass the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from bidserver.errors import BadRequest
from storage.catalog import Vehicle, get_vehicle, lock_owned_vehicle
from storage.errors import translate
from storage.pool import AnyConnection

MEDIA_PREFIX = "/media/"


class PhotosFull(BadRequest):
    """The vehicle holds as many photos as it may."""


async def room_for_photo(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, max_photos: int
) -> None:
    """Raise `NotFound`, `Forbidden` or `PhotosFull` unless one more photo may be added."""
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _check(conn, vehicle_id, owner_id, max_photos)


async def append_photo(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, url: str, max_photos: int
) -> Vehicle:
    """Append `url` to the vehicle's photos (`owner_id` None: an admin); the same checks."""
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _check(conn, vehicle_id, owner_id, max_photos)
            await conn.execute(
                "UPDATE vehicles SET photos = array_append(photos, $2), updated_at = now()"
                " WHERE id = $1",
                vehicle_id,
                url,
            )
    found = await get_vehicle(pool, vehicle_id)
    assert found is not None  # the row lock kept it until the commit; deletes need no photos
    return found


async def _check(conn: AnyConnection, vehicle_id: int, owner_id: int | None, most: int) -> None:
    await lock_owned_vehicle(conn, vehicle_id, owner_id)
    count = await conn.fetchval(
        "SELECT cardinality(photos) FROM vehicles WHERE id = $1", vehicle_id
    )
    if count >= most:
        raise PhotosFull(f"a vehicle holds at most {most} photos")


@dataclass(frozen=True, slots=True)
class Unpictured:
    id: int
    vin: str
    model: str
    color: str


async def unpictured_vehicles(conn: AnyConnection, seller_id: int) -> list[Unpictured]:
    """The seller's vehicles with no photo of this server's own (the demo photo step)."""
    with translate():
        rows = await conn.fetch(
            "SELECT id, vin, model, color FROM vehicles WHERE seller_id = $1 AND NOT EXISTS"
            " (SELECT 1 FROM unnest(photos) AS p WHERE starts_with(p, $2)) ORDER BY id",
            seller_id,
            MEDIA_PREFIX,
        )
    return [Unpictured(r["id"], r["vin"], r["model"], r["color"]) for r in rows]


async def set_photos(conn: AnyConnection, photos: dict[int, list[str]]) -> None:
    """Replace the photos of these vehicles (id to URLs), all in one statement."""
    with translate():
        await conn.executemany(
            "UPDATE vehicles SET photos = $2 WHERE id = $1", list(photos.items())
        )
