"""A throwaway database for one run, and the users, vehicles and auctions a scenario needs.

The SQL follows `tests/support.py` (make_user, make_auction), in bulk: an auction starts
an hour ago and ends in a day, so it is open, and no bid of a run comes near the
anti-sniping window. The database is `bench_<random>` on the given server (or on an
embedded PostgreSQL), and is dropped (WITH FORCE) at the end of the run.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

VIN = "1HGCM82633A004352"
MAKES = (
    ("Honda", "Accord"),
    ("Honda", "Civic"),
    ("Toyota", "Corolla"),
    ("Ford", "Focus"),
    ("Volkswagen", "Golf"),
)
STARTING_PRICE = 1000


def with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{database}"))


@dataclass
class BenchDatabase:
    admin_dsn: str
    dsn: str
    name: str
    embedded_dir: Path | None = None

    @classmethod
    async def create(cls, server_dsn: str, *, embedded: bool) -> BenchDatabase:
        embedded_dir = None
        if embedded:
            from storage.embedded import start_embedded_postgres

            embedded_dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
            server_dsn = start_embedded_postgres(embedded_dir)
        name = f"bench_{secrets.token_hex(4)}"
        conn = await asyncpg.connect(server_dsn, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return cls(server_dsn, with_database(server_dsn, name), name, embedded_dir)

    async def drop(self) -> None:
        try:
            conn = await asyncpg.connect(self.admin_dsn, timeout=10)
            try:
                await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await conn.close()
        finally:
            if self.embedded_dir is not None:
                from storage.embedded import stop_embedded_postgres

                stop_embedded_postgres(self.embedded_dir)
                shutil.rmtree(self.embedded_dir, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class Seeded:
    user_ids: list[int]
    seller_id: int
    auction_ids: list[int]


async def seed(dsn: str, *, users: int, auctions: int, vehicles: int = 0) -> Seeded:
    """`users` bidders, one seller, `auctions` open auctions and `vehicles` extra vehicles."""
    tag = secrets.token_hex(3)
    conn = await asyncpg.connect(dsn, timeout=10)
    try:
        async with conn.transaction():
            seller: int = await conn.fetchval(
                "INSERT INTO users (email, password_hash, display_name, role)"
                " VALUES ($1, 'x', 'Bench seller', 'seller') RETURNING id",
                f"bench-seller-{tag}@example.test",
            )
            rows = await conn.fetch(
                "INSERT INTO users (email, password_hash, display_name, role)"
                " SELECT 'bench-' || $1 || '-' || g || '@example.test', 'x', 'Bidder ' || g,"
                " 'bidder' FROM generate_series(1, $2) AS g RETURNING id",
                tag,
                users,
            )
            vehicle_ids = await _vehicles(conn, seller, max(auctions, vehicles))
            auction_rows = await conn.fetch(
                "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at,"
                " starting_price, anti_snipe_seconds)"
                " SELECT v, $2, 'scheduled', now() - interval '1 hour', now() + interval '1 day',"
                " $3, 120 FROM unnest($1::bigint[]) WITH ORDINALITY AS t(v, i) ORDER BY i"
                " RETURNING id",
                vehicle_ids[:auctions],
                seller,
                STARTING_PRICE,
            )
    finally:
        await conn.close()
    return Seeded(
        user_ids=[int(r["id"]) for r in rows],
        seller_id=seller,
        auction_ids=sorted(int(r["id"]) for r in auction_rows),
    )


async def _vehicles(conn: asyncpg.Connection, seller: int, count: int) -> list[int]:
    """Vehicles of a few makes, models, years and mileages, so that filters select subsets."""
    makes = [m for m, _ in MAKES]
    models = [m for _, m in MAKES]
    rows = await conn.fetch(
        "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage, description)"
        " SELECT $1, $2, ($3::text[])[1 + g % 5], ($4::text[])[1 + g % 5], 2000 + g % 25,"
        " 1000 * (g % 200), 'bench vehicle ' || g"
        " FROM generate_series(1, $5) AS g ORDER BY g RETURNING id",
        seller,
        VIN,
        makes,
        models,
        count,
    )
    return [int(r["id"]) for r in rows]
