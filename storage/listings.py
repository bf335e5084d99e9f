"""Auctions as REST lists and shows them: creation, pages by status, one auction, bid history.

Everything here reads the projection columns the persister keeps in the same transaction
as the events (`current_price`, `bid_count`, `seq`, effective `ends_at`, …), so lists never
wake an auction's actor. The public status is computed from the stored one and the clock:
a stored `closed`/`cancelled` wins; otherwise `scheduled` before `starts_at`, `closed` from
`ends_at` on (even before the close is announced), `open` in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import asyncpg

from storage.auctions import to_dt, to_ms
from storage.catalog import VehicleInAuction, lock_owned_vehicle
from storage.errors import translate

STATUSES: Final = ("scheduled", "open", "closed", "cancelled")

_COLUMNS: Final = """
a.id, a.vehicle_id, a.seller_id, a.status, a.starts_at, a.ends_at, a.starting_price,
a.reserve_price, a.buy_now_price, a.anti_snipe_seconds, a.max_extensions, a.current_price,
a.bid_count, a.seq, a.created_at,
CASE WHEN a.leader_id IS NULL THEN NULL ELSE (
    SELECT e.payload ->> 'leaderAlias' FROM auction_events e
    WHERE e.auction_id = a.id AND e.seq IS NOT NULL AND e.type = 'bid'
    ORDER BY e.seq DESC LIMIT 1
) END AS leader_alias
"""

# $1 is always the server's "now".
_STATUS_WHERE: Final = {
    "scheduled": "a.status IN ('scheduled', 'open') AND a.starts_at > $1",
    "open": "a.status IN ('scheduled', 'open') AND a.starts_at <= $1 AND a.ends_at > $1",
    "closed": "(a.status = 'closed' OR (a.status IN ('scheduled', 'open') AND a.ends_at <= $1))",
    "cancelled": "a.status = 'cancelled' AND $1::timestamptz IS NOT NULL",
    None: "$1::timestamptz IS NOT NULL",
}


@dataclass(frozen=True, slots=True)
class Listing:
    """An auction's terms and its stored projection; times in epoch ms."""

    id: int
    vehicle_id: int
    seller_id: int
    stored_status: str
    starts_at: int
    ends_at: int
    starting_price: int
    reserve_price: int | None
    buy_now_price: int | None
    anti_snipe_seconds: int
    max_extensions: int | None
    current_price: int | None
    bid_count: int
    leader_alias: str | None
    seq: int
    created_at: int

    def status_at(self, now_ms: int) -> str:
        if self.stored_status in ("closed", "cancelled"):
            return self.stored_status
        if now_ms < self.starts_at:
            return "scheduled"
        return "open" if now_ms < self.ends_at else "closed"

    @property
    def ended(self) -> bool:
        """Closed or cancelled for good: its projection is final, no actor needed."""
        return self.stored_status in ("closed", "cancelled")


@dataclass(frozen=True, slots=True)
class AuctionTerms:
    vehicle_id: int
    starts_at: int
    ends_at: int
    starting_price: int
    reserve_price: int | None
    buy_now_price: int | None
    anti_snipe_seconds: int
    max_extensions: int | None


@dataclass(frozen=True, slots=True)
class BidRecord:
    seq: int
    amount: int
    kind: str
    bidder_id: int
    bidder_alias: str
    at: int


async def create_auction(
    pool: asyncpg.Pool, terms: AuctionTerms, owner_id: int | None, now_ms: int
) -> Listing:
    """Create an auction of a vehicle that has no scheduled or open one.

    `owner_id` None means an admin; the auction's seller is always the vehicle's. Raises
    `NotFound` (no such vehicle), `Forbidden` (someone else's) or `VehicleInAuction`.
    """
    with translate():
        async with pool.acquire() as conn, conn.transaction():
            seller_id = await lock_owned_vehicle(conn, terms.vehicle_id, owner_id)
            live = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM auctions WHERE vehicle_id = $1"
                " AND status IN ('scheduled', 'open') AND ends_at > $2)",
                terms.vehicle_id,
                to_dt(now_ms),
            )
            if live:
                raise VehicleInAuction("the vehicle already has a scheduled or open auction")
            auction_id = await conn.fetchval(
                "INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at,"
                " starting_price, reserve_price, buy_now_price, anti_snipe_seconds,"
                " max_extensions) VALUES ($1, $2, 'scheduled', $3, $4, $5, $6, $7, $8, $9)"
                " RETURNING id",
                terms.vehicle_id,
                seller_id,
                to_dt(terms.starts_at),
                to_dt(terms.ends_at),
                terms.starting_price,
                terms.reserve_price,
                terms.buy_now_price,
                terms.anti_snipe_seconds,
                terms.max_extensions,
            )
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM auctions a WHERE a.id = $1", auction_id
            )
    assert row is not None
    return _listing(row)


async def get_listing(pool: asyncpg.Pool, auction_id: int) -> Listing | None:
    with translate():
        row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM auctions a WHERE a.id = $1", auction_id)
    return None if row is None else _listing(row)


async def list_auctions(
    pool: asyncpg.Pool,
    status: str | None,
    now_ms: int,
    page: int,
    limit: int,
    *,
    seller_id: int | None = None,
) -> tuple[list[Listing], int]:
    """A page of auctions (optionally of one public status, one seller), newest first."""
    where = _STATUS_WHERE[status]
    order = "a.created_at DESC, a.id DESC"
    return await _page(pool, where, order, now_ms, page, limit, seller_id)


async def active_auctions(
    pool: asyncpg.Pool, now_ms: int, page: int, limit: int, *, seller_id: int | None = None
) -> tuple[list[Listing], int]:
    """A page of open auctions (optionally of one seller), soonest (effective) end first."""
    return await _page(
        pool, _STATUS_WHERE["open"], "a.ends_at, a.id", now_ms, page, limit, seller_id
    )


async def _page(
    pool: asyncpg.Pool,
    where: str,
    order: str,
    now_ms: int,
    page: int,
    limit: int,
    seller_id: int | None,
) -> tuple[list[Listing], int]:
    now = to_dt(now_ms)
    offset = (page - 1) * limit
    # $2 is the seller or NULL: one statement shape for both.
    where = f"({where}) AND ($2::bigint IS NULL OR a.seller_id = $2)"
    with translate():
        async with pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM auctions a WHERE {where}"
                f" ORDER BY {order} LIMIT $3 OFFSET $4",
                now,
                seller_id,
                limit,
                offset,
            )
            if (rows and len(rows) < limit) or (not rows and offset == 0):
                total = offset + len(rows)
            else:
                total = await conn.fetchval(
                    f"SELECT count(*) FROM auctions a WHERE {where}", now, seller_id
                )
    return [_listing(r) for r in rows], int(total)


async def bid_history(
    pool: asyncpg.Pool, auction_id: int, before_seq: int | None, limit: int
) -> list[BidRecord] | None:
    """Bid records newest first (seq below `before_seq` if given); None if no such auction."""
    with translate():
        async with pool.acquire() as conn:
            exists = await conn.fetchval(
                "SELECT EXISTS (SELECT 1 FROM auctions WHERE id = $1)", auction_id
            )
            if not exists:
                return None
            rows = await conn.fetch(
                "SELECT seq, amount, kind, bidder_id, at, payload ->> 'bidderAlias' AS alias"
                " FROM auction_events WHERE auction_id = $1 AND seq IS NOT NULL AND seq < $2"
                " AND type = 'bid' ORDER BY seq DESC LIMIT $3",
                auction_id,
                before_seq if before_seq is not None else 2**62,
                limit,
            )
    return [
        BidRecord(r["seq"], r["amount"], r["kind"], r["bidder_id"], r["alias"], to_ms(r["at"]))
        for r in rows
    ]


def _listing(row: asyncpg.Record) -> Listing:
    return Listing(
        id=row["id"],
        vehicle_id=row["vehicle_id"],
        seller_id=row["seller_id"],
        stored_status=row["status"],
        starts_at=to_ms(row["starts_at"]),
        ends_at=to_ms(row["ends_at"]),
        starting_price=row["starting_price"],
        reserve_price=row["reserve_price"],
        buy_now_price=row["buy_now_price"],
        anti_snipe_seconds=row["anti_snipe_seconds"],
        max_extensions=row["max_extensions"],
        current_price=row["current_price"],
        bid_count=row["bid_count"],
        leader_alias=row["leader_alias"],
        seq=row["seq"],
        created_at=to_ms(row["created_at"]),
    )
