"""The schema as the database sees it: migrations, money types and the guards in the DDL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import pytest_asyncio

from storage.migrate import apply_migrations, load_migrations
from storage.pool import AnyConnection

TABLES = {"users", "refresh_tokens", "vehicles", "auctions", "auction_events", "schema_migrations"}

MONEY_COLUMNS = [
    ("auctions", "starting_price"),
    ("auctions", "reserve_price"),
    ("auctions", "buy_now_price"),
    ("auctions", "current_price"),
    ("auction_events", "amount"),
    ("auction_events", "leader_max"),
    ("auctions", "leader_max"),
    ("sales", "price"),
]


@pytest_asyncio.fixture
async def tx(db: asyncpg.Pool) -> AsyncIterator[AnyConnection]:
    """A connection inside a transaction that is rolled back, so rows never outlive a test."""
    async with db.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield conn
        finally:
            await transaction.rollback()


async def _auction(conn: AnyConnection, starting_price: int = 1000) -> int:
    seller = await conn.fetchval(
        "INSERT INTO users (email, password_hash, display_name, role)"
        " VALUES ('s@example.com', 'x', 'Seller', 'seller') RETURNING id"
    )
    vehicle = await conn.fetchval(
        "INSERT INTO vehicles (seller_id, vin, make, model, year, mileage)"
        " VALUES ($1, '1HGCM82633A004352', 'Honda', 'Accord', 2003, 1000) RETURNING id",
        seller,
    )
    start = datetime(2026, 11, 28, 10, tzinfo=UTC)
    auction: int = await conn.fetchval(
        "INSERT INTO auctions (vehicle_id, seller_id, starts_at, ends_at, starting_price)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        vehicle,
        seller,
        start,
        start + timedelta(hours=1),
        starting_price,
    )
    return auction


async def test_migrations_create_every_table(db: asyncpg.Pool) -> None:
    rows = await db.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
    )
    assert {row["table_name"] for row in rows} >= TABLES


async def test_rerun_applies_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        assert await apply_migrations(conn) == []
    recorded = await db.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
    assert [(r["version"], r["name"]) for r in recorded] == [
        (m.version, m.name) for m in load_migrations()
    ]


async def test_concurrent_runners_apply_each_migration_once(
    new_database: Callable[[], Awaitable[str]],
) -> None:
    dsn = await new_database()
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        results = await asyncio.gather(apply_migrations(first), apply_migrations(second))
        rows = await first.fetch("SELECT version FROM schema_migrations ORDER BY version")
    finally:
        await first.close()
        await second.close()
    expected = [m.name for m in load_migrations()]
    assert sorted(results[0] + results[1]) == expected
    assert [r["version"] for r in rows] == [m.version for m in load_migrations()]


@pytest.mark.parametrize(("table", "column"), MONEY_COLUMNS)
async def test_money_columns_are_bigint(db: asyncpg.Pool, table: str, column: str) -> None:
    data_type = await db.fetchval(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2",
        table,
        column,
    )
    assert data_type == "bigint"


async def test_every_price_or_amount_column_is_bigint(db: asyncpg.Pool) -> None:
    rows = await db.fetch(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema()"
        " AND (column_name LIKE '%price' OR column_name LIKE '%amount' OR column_name LIKE '%max')"
    )
    assert rows, "the schema has no money columns"
    assert {(r["table_name"], r["column_name"], r["data_type"]) for r in rows} == {
        (t, c, "bigint") for t, c in MONEY_COLUMNS
    }


@pytest.mark.parametrize("price", [0, -1])
async def test_starting_price_must_be_positive(tx: AnyConnection, price: int) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await _auction(tx, starting_price=price)


async def test_positive_starting_price_is_accepted(tx: AnyConnection) -> None:
    assert await _auction(tx, starting_price=1) > 0


async def _event(conn: AnyConnection, auction: int, version: int, seq: int | None) -> None:
    await conn.execute(
        "INSERT INTO auction_events (auction_id, version, seq, type, at)"
        " VALUES ($1, $2, $3, 'bid', now())",
        auction,
        version,
        seq,
    )


async def test_duplicate_seq_in_one_auction_is_rejected(tx: AnyConnection) -> None:
    auction = await _auction(tx)
    await _event(tx, auction, version=1, seq=1)
    with pytest.raises(asyncpg.UniqueViolationError, match="auction_events_seq_key"):
        await _event(tx, auction, version=2, seq=1)


async def test_private_events_without_seq_do_not_collide(tx: AnyConnection) -> None:
    auction = await _auction(tx)
    await _event(tx, auction, version=1, seq=None)
    await _event(tx, auction, version=2, seq=None)
    assert await tx.fetchval("SELECT count(*) FROM auction_events WHERE seq IS NULL") == 2
