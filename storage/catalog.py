"""The vehicle catalogue: the SQL of `GET/POST/PATCH/DELETE /vehicles`.

Searching (`GET /vehicles`) is in `storage/catalog_search.py`; this module holds the
vehicle, the query's shape and the writes.

Writes that depend on who owns a vehicle lock its row first (`FOR UPDATE`), so an
ownership check, a delete and an auction created at the same time cannot interleave.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import asyncpg

from bidserver.errors import Conflict, Forbidden, NotFound
from storage.auctions import to_dt, to_ms
from storage.errors import translate
from storage.pool import AnyConnection

SORTS: Final[Mapping[str, str]] = {
    "newest": "created_at DESC, id DESC",
    "year": "year, id",
    "-year": "year DESC, id DESC",
    "mileage": "mileage, id",
    "-mileage": "mileage DESC, id DESC",
}
DEFAULT_SORT: Final = "newest"

# What a caller may set; `seller_id`, `id` and the timestamps are the server's.
WRITABLE: Final = ("vin", "make", "model", "year", "mileage", "color", "description", "photos")

COLUMNS: Final = (
    "id, seller_id, vin, make, model, year, mileage, color, description, photos, created_at"
)


class VehicleInAuction(Conflict):
    """The vehicle has a scheduled or open auction; it cannot be deleted (or auctioned again)."""

    code = "vehicle_in_auction"


class VehicleHasAuctions(Conflict):
    """Past auctions (and their bids) refer to the vehicle, so its record stays."""

    code = "vehicle_has_auctions"


@dataclass(frozen=True, slots=True)
class Vehicle:
    id: int
    seller_id: int
    vin: str
    make: str
    model: str
    year: int
    mileage: int
    color: str
    description: str
    photos: tuple[str, ...]
    created_at: int  # epoch ms


@dataclass(frozen=True, slots=True)
class VehicleQuery:
    """One `GET /vehicles` request, already validated."""

    page: int = 1
    limit: int = 20
    make: str | None = None
    model: str | None = None
    year_min: int | None = None
    year_max: int | None = None
    q: str | None = None
    sort: str = DEFAULT_SORT
    seller_id: int | None = None


@dataclass(frozen=True, slots=True)
class Found:
    """One page of a search, and how many vehicles match in all."""

    vehicles: list[Vehicle]
    total: int
    exact: bool = True  # False: over 10,000 match (CONTRACT §4) and `total` is an estimate


async def get_vehicle(pool: asyncpg.Pool, vehicle_id: int) -> Vehicle | None:
    with translate():
        row = await pool.fetchrow(f"SELECT {COLUMNS} FROM vehicles WHERE id = $1", vehicle_id)
    return None if row is None else vehicle_of(row)


async def get_vehicles(pool: asyncpg.Pool, ids: Sequence[int]) -> dict[int, Vehicle]:
    """Several vehicles by id in one query (a page of auctions shows their vehicles)."""
    with translate():
        rows = await pool.fetch(
            f"SELECT {COLUMNS} FROM vehicles WHERE id = ANY($1::bigint[])", list(ids)
        )
    return {row["id"]: vehicle_of(row) for row in rows}


async def create_vehicle(
    pool: asyncpg.Pool, seller_id: int, fields: Mapping[str, object]
) -> Vehicle:
    names = _checked(fields)
    placeholders = ", ".join(f"${i + 2}" for i in range(len(names)))
    sql = (
        f"INSERT INTO vehicles (seller_id, {', '.join(names)}) VALUES ($1, {placeholders})"
        f" RETURNING {COLUMNS}"
    )
    with translate():
        row = await pool.fetchrow(sql, seller_id, *(fields[n] for n in names))
    assert row is not None
    return vehicle_of(row)


async def update_vehicle(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, fields: Mapping[str, object]
) -> Vehicle:
    """Change the given fields; `owner_id` None means an admin (any vehicle).

    Raises `NotFound` for a missing vehicle and `Forbidden` for someone else's.
    """
    names = _checked(fields)
    assignments = ", ".join(f"{n} = ${i + 2}" for i, n in enumerate(names))
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _lock_owned(conn, vehicle_id, owner_id)
            if names:
                sql = (
                    f"UPDATE vehicles SET {assignments}, updated_at = now() WHERE id = $1"
                    f" RETURNING {COLUMNS}"
                )
                row = await conn.fetchrow(sql, vehicle_id, *(fields[n] for n in names))
            else:
                row = await conn.fetchrow(
                    f"SELECT {COLUMNS} FROM vehicles WHERE id = $1", vehicle_id
                )
    assert row is not None
    return vehicle_of(row)


async def delete_vehicle(
    pool: asyncpg.Pool, vehicle_id: int, owner_id: int | None, now_ms: int
) -> None:
    """Delete a vehicle no auction refers to.

    Raises `NotFound`, `Forbidden`, `VehicleInAuction` (a scheduled or open auction) or
    `VehicleHasAuctions` (only past ones: their bids keep the vehicle on record).
    """
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            await _lock_owned(conn, vehicle_id, owner_id)
            found = await conn.fetchrow(_AUCTIONS_OF_SQL, vehicle_id, to_dt(now_ms))
            assert found is not None  # an aggregate always answers one row
            live, any_auction = found["live"], found["any"]
            if live:
                raise VehicleInAuction("the vehicle has a scheduled or open auction")
            if any_auction:
                raise VehicleHasAuctions("past auctions of this vehicle keep it on record")
            await conn.execute("DELETE FROM vehicles WHERE id = $1", vehicle_id)


_AUCTIONS_OF_SQL = """
SELECT coalesce(bool_or(status IN ('scheduled', 'open') AND ends_at > $2), FALSE) AS live,
       count(*) > 0 AS any
FROM auctions WHERE vehicle_id = $1
"""


async def lock_owned_vehicle(conn: AnyConnection, vehicle_id: int, owner_id: int | None) -> int:
    """Lock the vehicle row for this transaction; returns its seller (see `_lock_owned`)."""
    return await _lock_owned(conn, vehicle_id, owner_id)


async def _lock_owned(conn: AnyConnection, vehicle_id: int, owner_id: int | None) -> int:
    seller_id: int | None = await conn.fetchval(
        "SELECT seller_id FROM vehicles WHERE id = $1 FOR UPDATE", vehicle_id
    )
    if seller_id is None:
        raise NotFound(f"vehicle {vehicle_id} does not exist")
    if owner_id is not None and seller_id != owner_id:
        raise Forbidden("only the vehicle's seller or an admin may do this")
    return seller_id


def _checked(fields: Mapping[str, object]) -> Sequence[str]:
    names = [n for n in WRITABLE if n in fields]
    unknown = set(fields) - set(WRITABLE)
    if unknown:
        raise ValueError(f"not writable: {sorted(unknown)}")
    return names


def vehicle_of(row: asyncpg.Record) -> Vehicle:
    created: datetime = row["created_at"]
    return Vehicle(
        id=row["id"],
        seller_id=row["seller_id"],
        vin=row["vin"],
        make=row["make"],
        model=row["model"],
        year=row["year"],
        mileage=row["mileage"],
        color=row["color"],
        description=row["description"],
        photos=tuple(row["photos"]),
        created_at=to_ms(created),
    )
