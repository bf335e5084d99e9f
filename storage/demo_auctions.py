"""The SQL of the demo's live auctions: what is live, which cars are free, create, reset.

Only the demo seller's auctions are read or written here; a node's demo keeper and
`bidserver seed-demo` call these inside the seeding lock (`storage.seed.lock`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bidserver.demo import DemoAuction
from storage.pool import AnyConnection


@dataclass(frozen=True, slots=True)
class LiveAuction:
    starts_at: datetime
    ends_at: datetime


_INSERT = """
INSERT INTO auctions (vehicle_id, seller_id, status, starts_at, ends_at, starting_price,
                      reserve_price, buy_now_price, anti_snipe_seconds, max_extensions)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


async def live(conn: AnyConnection, seller: int, now: datetime) -> list[LiveAuction]:
    """The seller's auctions that are open or scheduled and not yet past their end."""
    rows = await conn.fetch(
        "SELECT starts_at, ends_at FROM auctions"
        " WHERE seller_id = $1 AND status IN ('scheduled', 'open') AND ends_at > $2",
        seller,
        now,
    )
    return [LiveAuction(row["starts_at"], row["ends_at"]) for row in rows]


async def free_vehicles(conn: AnyConnection, seller: int) -> list[str]:
    """VINs of the seller's cars with no live auction, the longest unauctioned first."""
    rows = await conn.fetch(
        "SELECT v.vin FROM vehicles v"
        " LEFT JOIN LATERAL (SELECT max(a.ends_at) AS last_end,"
        "   bool_or(a.status IN ('scheduled', 'open')) AS busy"
        "   FROM auctions a WHERE a.vehicle_id = v.id) a ON true"
        " WHERE v.seller_id = $1 AND a.busy IS NOT TRUE"
        " ORDER BY a.last_end NULLS FIRST, v.id",
        seller,
    )
    return [row["vin"] for row in rows]


async def insert(
    conn: AnyConnection, seller: int, auctions: Sequence[tuple[int, DemoAuction]]
) -> None:
    """Create `(vehicle id, auction)` pairs for the seller."""
    await conn.executemany(
        _INSERT,
        [
            (
                vehicle_id,
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
            for vehicle_id, a in auctions
        ],
    )


async def delete_all(conn: AnyConnection, seller: int) -> int:
    """Every auction of the seller with its event log (bids included); returns how many."""
    await conn.execute(
        "DELETE FROM auction_events WHERE auction_id IN"
        " (SELECT id FROM auctions WHERE seller_id = $1)",
        seller,
    )
    deleted: int = await conn.fetchval(
        "WITH gone AS (DELETE FROM auctions WHERE seller_id = $1 RETURNING 1)"
        " SELECT count(*) FROM gone",
        seller,
    )
    return deleted
