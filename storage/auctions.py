"""The auction event store: load an auction's log, append batches under the epoch fence.

The only code that speaks SQL about auctions' live state. Appends are fenced: a batch
writes an auction only if the row still holds the version and `owner_epoch` the writer
expects, so a node that lost ownership (or whose earlier batch failed) can never write.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import orjson

from bidserver.auction import (
    AuctionConfig,
    BidKind,
    BidPlaced,
    Cancelled,
    Cause,
    Closed,
    Event,
    Extended,
    MaxRaised,
)
from bidserver.errors import Unavailable
from bidserver.ports import AppendItem, LoadedAuction, Projection, RowsBusy
from storage.errors import translate
from storage.pool import AnyConnection

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def to_ms(dt: datetime) -> int:
    return (dt - _EPOCH) // _MS


_MS = datetime(1970, 1, 1, 0, 0, 0, 1000, tzinfo=UTC) - _EPOCH


AUCTION_COLUMNS = """
id, seller_id, starts_at, COALESCE(initial_ends_at, ends_at) AS initial_ends_at,
starting_price, reserve_price, buy_now_price, anti_snipe_seconds, max_extensions, owner_epoch
"""
_AUCTION_SQL = f"SELECT {AUCTION_COLUMNS} FROM auctions WHERE id = $1"

_EVENTS_SQL = """
SELECT version, seq, type, at, kind, bidder_id, amount, leader_id, leader_max, ends_at,
       reserve_met, cause_bidder_id, cause_bid_id, cause_sent
FROM auction_events WHERE auction_id = $1 ORDER BY version
"""


async def load_auction(conn: asyncpg.Pool, auction_id: int) -> LoadedAuction | None:
    """The auction's terms as created (its end before any extension) and its whole log."""
    with translate():
        async with conn.acquire() as c, c.transaction(isolation="repeatable_read"):
            row = await c.fetchrow(_AUCTION_SQL, auction_id)
            if row is None:
                return None
            rows = await c.fetch(_EVENTS_SQL, auction_id)
    return LoadedAuction(config_from_row(row), row["owner_epoch"], [_event(r) for r in rows])


def config_from_row(row: asyncpg.Record) -> AuctionConfig:
    """The seller's terms from an auctions row selected with `_AUCTION_COLUMNS`."""
    return AuctionConfig(
        auction_id=row["id"],
        seller_id=row["seller_id"],
        starts_at=to_ms(row["starts_at"]),
        ends_at=to_ms(row["initial_ends_at"]),
        starting_price=row["starting_price"],
        reserve_price=row["reserve_price"],
        buy_now_price=row["buy_now_price"],
        anti_snipe_ms=row["anti_snipe_seconds"] * 1000,
        max_extensions=row["max_extensions"],
    )


def _cause(row: asyncpg.Record) -> Cause:
    return Cause(row["cause_bidder_id"], row["cause_bid_id"], row["cause_sent"])


def _event(row: asyncpg.Record) -> Event:
    kind, at = row["type"], to_ms(row["at"])
    if kind == "bid":
        return BidPlaced(
            row["seq"],
            at,
            BidKind(row["kind"]),
            row["bidder_id"],
            row["amount"],
            row["leader_id"],
            row["leader_max"],
            _cause(row),
        )
    if kind == "max_raised":
        return MaxRaised(at, row["bidder_id"], row["leader_max"], _cause(row))
    if kind == "extended":
        return Extended(row["seq"], at, to_ms(row["ends_at"]), _cause(row))
    if kind == "closed":
        cause = _cause(row) if row["cause_bidder_id"] is not None else None
        return Closed(row["seq"], at, row["leader_id"], row["amount"], row["reserve_met"], cause)
    return Cancelled(row["seq"], at)


# One statement, so one round trip and its own transaction: lock the rows whose version and
# epoch still match; only when every auction of the batch matched do the row updates and
# the event inserts happen. The lock makes the check see any takeover committed meanwhile.
# Rows travel as two JSON arrays of arrays (`_fence_rows`, `_event_row` give the order):
# the server unpacks them, so the node's one core does not encode thirty typed arrays
# element by element. Times are epoch milliseconds, turned into timestamps exactly.
_APPEND_SQL = """
WITH u AS (
    SELECT (f->>0)::bigint AS id, (f->>1)::bigint AS from_version, (f->>2)::bigint AS epoch,
           f->>3 AS status, (f->>4)::bigint AS current_price, (f->>5)::int AS bid_count,
           (f->>6)::bigint AS leader_id, (f->>7)::bigint AS winner_id, (f->>8)::bigint AS seq,
           (f->>9)::bigint AS version,
           timestamptz 'epoch' + (f->>10)::bigint * interval '1 millisecond' AS ends_at,
           (f->>11)::bigint AS leader_max, (f->>12)::int AS extensions,
           (f->>13)::int AS bidder_count
    FROM jsonb_array_elements($1::text::jsonb) AS f
), fenced AS (
    SELECT a.id FROM auctions AS a JOIN u ON a.id = u.id
    WHERE a.version = u.from_version AND a.owner_epoch = u.epoch
    FOR UPDATE OF a {skip}
), go AS (
    SELECT count(*) = (SELECT count(*) FROM u) AS ok FROM fenced
), updated AS (
    UPDATE auctions AS a SET
        initial_ends_at = COALESCE(a.initial_ends_at, a.ends_at),
        status = u.status, current_price = u.current_price, bid_count = u.bid_count,
        leader_id = u.leader_id, leader_max = u.leader_max, extensions = u.extensions,
        bidder_count = u.bidder_count,
        winner_id = u.winner_id, seq = u.seq, version = u.version, ends_at = u.ends_at,
        updated_at = now()
    FROM u WHERE a.id = u.id AND (SELECT ok FROM go)
), inserted AS (
    INSERT INTO auction_events (auction_id, version, seq, type, at, kind, bidder_id, amount,
        leader_id, leader_max, ends_at, reserve_met, cause_bidder_id, cause_bid_id,
        cause_sent, payload, owner_epoch)
    SELECT (e->>0)::bigint, (e->>1)::bigint, (e->>2)::bigint, e->>3,
           timestamptz 'epoch' + (e->>4)::bigint * interval '1 millisecond',
           e->>5, (e->>6)::bigint, (e->>7)::bigint, (e->>8)::bigint, (e->>9)::bigint,
           timestamptz 'epoch' + (e->>10)::bigint * interval '1 millisecond',
           (e->>11)::bool, (e->>12)::bigint, e->>13, (e->>14)::bigint,
           NULLIF(e->15, 'null'::jsonb), (e->>16)::bigint
    FROM jsonb_array_elements($2::text::jsonb) AS e
    WHERE (SELECT ok FROM go)
)
SELECT id AS fenced_id FROM fenced
"""

_FENCE_WAITS_SQL = _APPEND_SQL.format(skip="")
# The persister's batches: a row another transaction holds locked is skipped like a fenced
# one (so the batch fails fast, not after the timeout); `append` tells the two apart.
_FENCE_SKIPS_SQL = _APPEND_SQL.format(skip="SKIP LOCKED")

_Row = tuple[object, ...]
Payload = orjson.Fragment | None  # the event's wire JSON, embedded as is


def _event_row(auction_id: int, version: int, event: Event, payload: object) -> _Row:
    at = event.at
    if isinstance(event, BidPlaced):
        c = event.cause
        return (auction_id, version, event.seq, "bid", at, event.kind.value, event.bidder_id,
                event.amount, event.leader_id, event.leader_max, None, None,
                c.bidder_id, c.bid_id, c.sent, payload)  # fmt: skip
    if isinstance(event, MaxRaised):
        c = event.cause
        return (auction_id, version, None, "max_raised", at, None, event.bidder_id, None, None,
                event.max_amount, None, None, c.bidder_id, c.bid_id, c.sent, None)  # fmt: skip
    if isinstance(event, Extended):
        c = event.cause
        return (auction_id, version, event.seq, "extended", at, None, None, None, None, None,
                event.ends_at, None, c.bidder_id, c.bid_id, c.sent, payload)  # fmt: skip
    if isinstance(event, Closed):
        c2 = event.cause
        return (auction_id, version, event.seq, "closed", at, None, None, event.final_price,
                event.winner_id, None, None, event.reserve_met,
                c2.bidder_id if c2 else None, c2.bid_id if c2 else None,
                c2.sent if c2 else None, payload)  # fmt: skip
    return (auction_id, version, event.seq, "cancelled", at, None, None, None, None, None,
            None, None, None, None, None, payload)  # fmt: skip


def _broken_chains(items: Sequence[AppendItem]) -> set[int]:
    """Auctions whose units in this batch do not each start where the one before it ended
    (two writers of one auction, or a unit built on one that failed): the row's fence checks
    only the first, so such an auction is refused whole rather than half written."""
    ends: dict[int, tuple[int, int]] = {}
    broken: set[int] = set()
    for item in items:
        head = (item.owner_epoch, item.from_version)
        if ends.setdefault(item.auction_id, head) != head:
            broken.add(item.auction_id)
        ends[item.auction_id] = (item.owner_epoch, item.from_version + len(item.events))
    return broken


def _fence_rows(items: Sequence[AppendItem]) -> list[_Row]:
    """Several units of one auction in a batch become one fenced row update."""
    first: dict[int, AppendItem] = {}
    last: dict[int, Projection] = {}
    for item in items:
        first.setdefault(item.auction_id, item)
        last[item.auction_id] = item.projection
    return [
        (h.auction_id, h.from_version, h.owner_epoch, p.status, p.current_price, p.bid_count,
         p.leader_id, p.winner_id, p.seq, p.version, p.ends_at, p.leader_max,
         p.extensions, p.bidder_count)
        for h in first.values()
        for p in (last[h.auction_id],)
    ]  # fmt: skip


async def append(pool: asyncpg.Pool, items: Sequence[AppendItem]) -> set[int]:
    """Write every item in one transaction; returns the auctions whose fence refused them.

    A refused auction writes nothing; the others commit together. An item that a previous
    attempt already committed (its answer was lost with the connection) counts as written,
    so a retried batch neither duplicates nor loses it. An auction whose row another
    transaction holds locked is left out, not waited for: the others commit, and `RowsBusy`
    names it. Raises `Unavailable` when the database cannot be reached or the commit's fate
    is unknown.
    """
    refused: set[int] = set()
    busy: set[int] = set()
    pending = list(items)
    while pending:
        newly = await _append_once(pool, pending)
        if not newly:
            break
        locked = await _locked(pool, pending, newly)
        busy |= locked
        done = {id(i) for i in await _already_stored(pool, pending, newly - locked)}
        # An auction with nothing of its own found stored is truly fenced out.
        refused |= newly - locked - {i.auction_id for i in pending if id(i) in done}
        pending = [
            i
            for i in pending
            if id(i) not in done and i.auction_id not in refused and i.auction_id not in busy
        ]
    if busy:
        raise RowsBusy(busy, refused)
    return refused


async def _locked(pool: asyncpg.Pool, items: list[AppendItem], auction_ids: set[int]) -> set[int]:
    """Of the auctions the statement did not write, those whose row still matches the fence
    (version and epoch): it was skipped for another transaction's lock, not refused."""
    broken = _broken_chains(items)
    heads: dict[int, AppendItem] = {}
    for item in items:
        if item.auction_id in auction_ids and item.auction_id not in broken:
            heads.setdefault(item.auction_id, item)
    if not heads:
        return set()
    with translate():
        rows = await pool.fetch(
            "SELECT id, version, owner_epoch FROM auctions WHERE id = ANY($1::bigint[])",
            list(heads),
        )
    return {
        r["id"]
        for r in rows
        if (r["version"], r["owner_epoch"])
        == (heads[r["id"]].from_version, heads[r["id"]].owner_epoch)
    }


async def _already_stored(
    pool: asyncpg.Pool, items: list[AppendItem], auction_ids: set[int]
) -> list[AppendItem]:
    """Items of these auctions whose very events the log already holds at their versions."""
    stored: list[AppendItem] = []
    with translate():
        for item in (i for i in items if i.auction_id in auction_ids):
            rows = await pool.fetch(_STORED_SQL, item.auction_id, item.from_version,
                                    item.from_version + len(item.events))  # fmt: skip
            if [_stored_identity(r) for r in rows] == _identities(item):
                stored.append(item)
    return stored


_STORED_SQL = """
SELECT auction_id, version, seq, type, at, kind, bidder_id, amount, leader_id, leader_max,
       ends_at, reserve_met, cause_bidder_id, cause_bid_id, cause_sent, payload, owner_epoch
FROM auction_events WHERE auction_id = $1 AND version > $2 AND version <= $3 ORDER BY version
"""
_AT, _ENDS_AT, _PAYLOAD = 4, 10, 15  # positions in `_event_row`'s tuple and `_STORED_SQL`


def _identities(item: AppendItem) -> list[_Row]:
    """The item's rows as the log would hold them: every column, the payload parsed."""
    return [
        (
            *_event_row(
                item.auction_id,
                item.from_version + 1 + n,
                event,
                None if payload is None else orjson.loads(payload),
            ),
            item.owner_epoch,
        )
        for n, (event, payload) in enumerate(zip(item.events, item.payloads, strict=True))
    ]


def _stored_identity(record: asyncpg.Record) -> _Row:
    """A stored row in `_event_row`'s shape: the whole write, so a different write (another
    leader, max, cause or bidId at the same seq) never passes for this one."""
    row = list(record.values())
    for at in (_AT, _ENDS_AT):
        row[at] = None if row[at] is None else to_ms(row[at])
    return tuple(row)


async def write_items(
    conn: AnyConnection | asyncpg.Pool, items: Sequence[AppendItem], *, skip_locked: bool = False
) -> set[int]:
    """Fence and write in one statement; returns the refused auctions, having written nothing
    at all when there are any. Auctions whose units do not chain are refused unwritten; with
    `skip_locked`, so are those whose rows another transaction holds (instead of waiting)."""
    broken = _broken_chains(items)
    if broken:
        items = [item for item in items if item.auction_id not in broken]
        if not items:
            return broken
    fence = _fence_rows(items)
    rows = [
        (
            *_event_row(
                item.auction_id,
                item.from_version + 1 + offset,
                event,
                None if payload is None else orjson.Fragment(payload),
            ),
            item.owner_epoch,
        )
        for item in items
        for offset, (event, payload) in enumerate(zip(item.events, item.payloads, strict=True))
    ]
    args = (orjson.dumps(fence).decode(), orjson.dumps(rows).decode())
    sql = _FENCE_SKIPS_SQL if skip_locked else _FENCE_WAITS_SQL
    written = {r["fenced_id"] for r in await conn.fetch(sql, *args)}
    return ({item.auction_id for item in items} - written) | broken


async def _append_once(pool: asyncpg.Pool, items: Sequence[AppendItem]) -> set[int]:
    with translate():
        return await write_items(pool, items, skip_locked=True)


async def public_events(
    pool: asyncpg.Pool, auction_id: int, after_seq: int, up_to_seq: int
) -> list[dict[str, object]]:
    """Stored wire payloads of the public events in (after_seq, up_to_seq], in seq order."""
    with translate():
        rows = await pool.fetch(
            "SELECT payload FROM auction_events WHERE auction_id = $1 AND seq > $2 AND seq <= $3"
            " ORDER BY seq",
            auction_id,
            after_seq,
            up_to_seq,
        )
    return [r["payload"] for r in rows]


async def due_auctions(pool: asyncpg.Pool, until_ms: int, limit: int = 1000) -> list[int]:
    """Live auctions whose end falls before `until_ms`, for the close scheduler."""
    with translate():
        rows = await pool.fetch(
            "SELECT id FROM auctions WHERE status IN ('scheduled', 'open') AND ends_at <= $1"
            " ORDER BY ends_at LIMIT $2",
            to_dt(until_ms),
            limit,
        )
    return [r["id"] for r in rows]


_TAKE_OVER_SQL = """
UPDATE auctions SET owner_epoch = owner_epoch + 1 WHERE id = $1 RETURNING owner_epoch
"""


async def take_over(pool: asyncpg.Pool, auction_id: int) -> int | None:
    """Fence out every earlier writer: the new epoch, or None for no such auction.

    Committed before the new owner loads, so any batch of an older epoch that commits after
    this is refused, and any that committed before it is in what the new owner loads.
    """
    with translate():
        epoch: int | None = await pool.fetchval(_TAKE_OVER_SQL, auction_id)
        return epoch


async def owner_epoch(pool: asyncpg.Pool, auction_id: int) -> int | None:
    with translate():
        epoch: int | None = await pool.fetchval(
            "SELECT owner_epoch FROM auctions WHERE id = $1", auction_id
        )
        return epoch


STORE_TIMEOUT_S = 2.0  # a bidder deserves an answer even from a black-holed database


class PgAuctionStore:
    """The PostgreSQL adapter of `bidserver.ports.AuctionStore`.

    Every call is bounded: a database that hangs (a dropped route, a stuck lock) becomes
    `unavailable` after `timeout_s`, like one that refuses, so bids are always answered.
    """

    def __init__(self, pool: asyncpg.Pool, *, timeout_s: float = STORE_TIMEOUT_S) -> None:
        self.pool = pool
        self.timeout_s = timeout_s

    async def load(self, auction_id: int) -> LoadedAuction | None:
        async with _bounded(self.timeout_s):
            return await load_auction(self.pool, auction_id)

    async def append(self, items: Sequence[AppendItem]) -> set[int]:
        async with _bounded(self.timeout_s):
            return await append(self.pool, items)

    async def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        async with _bounded(self.timeout_s):
            return await public_events(self.pool, auction_id, after_seq, up_to_seq)

    async def due(self, until_ms: int) -> list[int]:
        async with _bounded(self.timeout_s):
            return await due_auctions(self.pool, until_ms)

    async def take_over(self, auction_id: int) -> int | None:
        async with _bounded(self.timeout_s):
            return await take_over(self.pool, auction_id)


@asynccontextmanager
async def _bounded(seconds: float) -> AsyncIterator[None]:
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise Unavailable("the database did not answer in time") from None
