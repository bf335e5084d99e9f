"""Writes the demo data set (`bidserver.demo`) in one transaction; running it again is a no-op.

Idempotence: demo users are inserted with `ON CONFLICT DO NOTHING` on the case-insensitive
email key (an existing account keeps its password), and the catalogue and auctions are
written only when the demo seller owns no vehicle yet. A transaction-scoped advisory lock
makes two concurrent runs take turns, so they cannot both write the catalogue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from bidserver.demo import DEMO_SELLER, DemoAuction, DemoUser, DemoVehicle
from bidserver.errors import Conflict
from storage.errors import translate

_LOCK_KEY = "bidserver.seed-demo"


@dataclass(frozen=True, slots=True)
class SeededUser:
    user: DemoUser
    id: int
    created: bool


@dataclass(frozen=True, slots=True)
class SeedResult:
    users: list[SeededUser]
    catalogue_created: bool
    vehicles: int  # the demo seller's vehicles after the run
    open_auctions: int  # the demo seller's auctions by status after the run
    scheduled_auctions: int


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

_INSERT_AUCTION = """
INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at, starting_price,
                      reserve_price, buy_now_price, anti_snipe_seconds, max_extensions)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


async def seed_demo(
    conn: asyncpg.Connection,
    users: Sequence[tuple[DemoUser, str]],
    vehicles: Sequence[DemoVehicle],
    auctions: Sequence[DemoAuction],
) -> SeedResult:
    """Insert `users` (each with its password hash), then the catalogue if it is missing."""
    with translate():
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", _LOCK_KEY)
            seeded = [await _user(conn, user, password_hash) for user, password_hash in users]
            seller = next(s.id for s in seeded if s.user.email == DEMO_SELLER.email)
            has_catalogue = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM vehicles WHERE seller_id = $1)", seller
            )
            if not has_catalogue:
                await _catalogue(conn, seller, vehicles, auctions)
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM vehicles WHERE seller_id = $1) AS vehicles,"
                " count(*) FILTER (WHERE status = 'open') AS open,"
                " count(*) FILTER (WHERE status = 'scheduled') AS scheduled"
                " FROM auctions WHERE seller_id = $1",
                seller,
            )
    assert counts is not None
    return SeedResult(
        users=seeded,
        catalogue_created=not has_catalogue,
        vehicles=counts["vehicles"],
        open_auctions=counts["open"],
        scheduled_auctions=counts["scheduled"],
    )


async def _user(conn: asyncpg.Connection, user: DemoUser, password_hash: str) -> SeededUser:
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
    return SeededUser(user, row["id"], created=False)


async def _catalogue(
    conn: asyncpg.Connection,
    seller: int,
    vehicles: Sequence[DemoVehicle],
    auctions: Sequence[DemoAuction],
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
    rows = await conn.fetch("SELECT id, vin FROM vehicles WHERE seller_id = $1", seller)
    ids = {row["vin"]: row["id"] for row in rows}
    await conn.executemany(
        _INSERT_AUCTION,
        [
            (
                ids[vehicles[a.vehicle].vin],
                seller,
                a.status,
                a.starts_at,
                a.ends_at,
                a.starting_price,
                a.reserve_price,
                a.buy_now_price,
                a.anti_snipe_seconds,
                a.max_extensions,
            )
            for a in auctions
        ],
    )
