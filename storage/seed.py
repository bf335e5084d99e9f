"""The SQL of `bidserver seed-demo`'s first steps: demo logins and the demo catalogue.

Idempotence: demo users are inserted with `ON CONFLICT DO NOTHING` on the case-insensitive
email key (an existing account keeps its password unless the demo is reset), and the
catalogue is written only when the demo seller owns no vehicle yet. `lock` (a
transaction-scoped advisory lock) makes concurrent runs, and a node's demo keeper, take
turns. The steps themselves are put together in `bidserver/seeding.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bidserver.demo import DemoUser, DemoVehicle
from bidserver.errors import Conflict
from storage.pool import AnyConnection

_LOCK_KEY = "bidserver.seed-demo"


@dataclass(frozen=True, slots=True)
class SeededUser:
    user: DemoUser
    id: int
    created: bool


_INSERT_USER = """
INSERT INTO users (email, password_hash, display_name, role) VALUES ($1, $2, $3, $4)
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING id
"""

_INSERT_VEHICLE = """
INSERT INTO vehicles (seller_id, vin, make, model, year, mileage, color, description, photos,
                      created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
"""


async def lock(conn: AnyConnection) -> None:
    """Take turns with every other seeder until the caller's transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK_KEY)


async def user_id(conn: AnyConnection, email: str) -> int | None:
    found: int | None = await conn.fetchval(
        "SELECT id FROM users WHERE lower(email) = lower($1)", email
    )
    return found


async def upsert_user(
    conn: AnyConnection, user: DemoUser, password_hash: str, *, reset_password: bool = False
) -> SeededUser:
    """Create a demo login, or find it (and with `reset_password`, give it its demo password)."""
    new_id = await conn.fetchval(
        _INSERT_USER, user.email, password_hash, user.display_name, user.role
    )
    if new_id is not None:
        return SeededUser(user, new_id, created=True)
    row = await conn.fetchrow(
        "SELECT id, role FROM users WHERE lower(email) = lower($1)", user.email
    )
    assert row is not None
    if row["role"] != user.role:
        # Someone registered a demo address first: never hand them the demo catalogue.
        raise Conflict(
            f"{user.email} already exists with role {row['role']}, not {user.role};"
            " seed-demo will not use it"
        )
    if reset_password:
        await conn.execute(
            "UPDATE users SET password_hash = $2 WHERE id = $1", row["id"], password_hash
        )
    return SeededUser(user, row["id"], created=False)


async def has_catalogue(conn: AnyConnection, seller: int) -> bool:
    found: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM vehicles WHERE seller_id = $1)", seller
    )
    return found


async def insert_catalogue(
    conn: AnyConnection, seller: int, vehicles: Sequence[DemoVehicle]
) -> None:
    await conn.executemany(
        _INSERT_VEHICLE,
        [
            (
                seller,
                v.vin,
                v.make,
                v.model,
                v.year,
                v.mileage,
                v.color,
                v.description,
                list(v.photos),
                v.created_at,
            )
            for v in vehicles
        ],
    )


async def vehicle_ids(conn: AnyConnection, seller: int) -> dict[str, int]:
    """The seller's vehicles by VIN."""
    rows = await conn.fetch("SELECT id, vin FROM vehicles WHERE seller_id = $1", seller)
    return {row["vin"]: row["id"] for row in rows}


async def count_vehicles(conn: AnyConnection, seller: int) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM vehicles WHERE seller_id = $1", seller)
    return count


async def delete_catalogue(conn: AnyConnection, seller: int) -> None:
    """The seller's vehicles; their auctions must be gone first (see `demo_auctions`)."""
    await conn.execute("DELETE FROM vehicles WHERE seller_id = $1", seller)
