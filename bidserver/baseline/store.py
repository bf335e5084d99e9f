"""SQL of the row-lock baseline engine: the auction's row, locked, is its whole state.

The usual design of auction back ends: every command is one transaction that locks the
auction row (`SELECT … FOR UPDATE`), reads what the rules need, writes and commits. Only
the benchmark's baseline uses this; the product runs the actor engine.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from bidserver.auction import AuctionState, BidReply, Status
from bidserver.timefmt import from_iso
from storage.auctions import AUCTION_COLUMNS, config_from_row, to_ms
from storage.pool import AnyConnection

_LOCK_SQL = f"""
SELECT {AUCTION_COLUMNS}, status, ends_at, seq, version, current_price, leader_id,
       leader_max, bid_count, extensions, bidder_count, winner_id
FROM auctions WHERE id = $1 FOR UPDATE
"""

_ALIASES_SQL = """
SELECT DISTINCT ON (bidder_id) bidder_id, payload->>'bidderAlias' AS alias
FROM auction_events
WHERE auction_id = $1 AND type = 'bid' AND bidder_id = ANY($2::bigint[])
ORDER BY bidder_id, version
"""

_ANSWER_SQL = """
SELECT payload, cause_sent FROM auction_events
WHERE auction_id = $1 AND cause_bidder_id = $2 AND cause_bid_id = $3 AND payload IS NOT NULL
ORDER BY version
"""


async def lock_state(
    conn: AnyConnection, auction_id: int, user_id: int | None
) -> AuctionState | None:
    """Lock the row and rebuild the part of the state the rules read from it."""
    row = await conn.fetchrow(_LOCK_SQL, auction_id)
    if row is None:
        return None
    state = AuctionState(
        config=config_from_row(row),
        ends_at=to_ms(row["ends_at"]),
        ended=Status(row["status"]) if row["status"] in ("closed", "cancelled") else None,
        seq=row["seq"],
        version=row["version"],
        current_price=row["current_price"],
        leader_id=row["leader_id"],
        leader_max=row["leader_max"] or 0,
        bid_count=row["bid_count"],
        extensions=row["extensions"],
        winner_id=row["winner_id"],
    )
    users = [u for u in (state.leader_id, state.winner_id, user_id) if u is not None]
    rows = await conn.fetch(_ALIASES_SQL, auction_id, users)
    state.aliases.update({r["bidder_id"]: r["alias"] for r in rows})
    # Aliases are numbered by first bid: pad to the count so the next one is numbered right.
    padding = row["bidder_count"] - len(state.aliases)
    state.aliases.update({-n: "" for n in range(1, padding + 1)})
    return state


async def stored_answer(
    conn: AnyConnection, auction_id: int, bidder_id: int, bid_id: str, alias: str | None
) -> BidReply | None:
    """The first answer to a retried bidId, folded from its events' stored payloads."""
    rows = await conn.fetch(_ANSWER_SQL, auction_id, bidder_id, bid_id)
    if not rows or alias is None:
        return None
    fields: dict[str, Any] = {}
    for row in rows:
        fields.update(row["payload"])
    return BidReply(
        amount=rows[0]["cause_sent"],
        leading=fields.get("leaderAlias") == alias,
        current_price=fields.get("currentPrice") or 0,
        bid_count=fields.get("bidCount") or 0,
        bidder_alias=alias,
        seq=fields["seq"],
        ends_at=from_iso(fields["endsAt"]),
    )


async def auction_exists(pool: asyncpg.Pool, auction_id: int) -> int | None:
    """The auction's current seq, or None when there is no such auction."""
    seq: int | None = await pool.fetchval("SELECT seq FROM auctions WHERE id = $1", auction_id)
    return seq
