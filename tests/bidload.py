"""Bidders under load and the checks every fault test makes afterwards.

A `BidClient` wraps one bidder's WebSocket with a single reader that matches each reply to
its request by `ref` (the bid's own id), so several bids may be in flight at once and a
second answer to the same bid is caught instead of silently skipped. `Load` runs bidders in
bounded loops, records every bid's fate with the loop time it was sent and answered, and
lets a test wait (event-driven, never by sleeping) until enough has happened.
The `check_*` helpers compare what clients were told with what the database holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

# What a rule may answer to a bid; anything else (internal, bad_request …) is a bug.
RULE_CODES = frozenset(
    {
        "auction_not_open",
        "auction_closed",
        "seller_cannot_bid",
        "already_leading",
        "max_below_current",
        "buy_now_unavailable",
        "bid_too_low",
    }
)
STEP = 1000  # every increment of the default table is at most this


@dataclass(eq=False)
class Outcome:
    """One bid as its bidder saw it; `reply` None means no answer came (connection lost)."""

    user_id: int
    auction_id: int
    bid_id: str
    amount: int
    sent_at: float
    answered_at: float | None = None
    reply: dict[str, Any] | None = None
    attempt: int = 1

    @property
    def ref(self) -> str:
        """Unique per sending, so a retry's answer is told from a repeated first answer."""
        return f"{self.bid_id}/{self.attempt}"

    @property
    def accepted(self) -> bool:
        return self.reply is not None and self.reply.get("type") == "bid_result"

    @property
    def code(self) -> str | None:
        """`accepted`, the error code, or None without an answer."""
        if self.reply is None:
            return None
        return "accepted" if self.accepted else str(self.reply.get("code"))

    def message(self) -> dict[str, Any]:
        return {
            "type": "bid",
            "ref": self.ref,
            "auctionId": self.auction_id,
            "amount": self.amount,
            "bidId": self.bid_id,
        }


class BidClient:
    """One bidder's socket; replies are matched by ref, duplicate answers are kept."""

    def __init__(self, ws: ClientConnection, user_id: int) -> None:
        self.ws = ws
        self.user_id = user_id
        self.duplicates: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._answered: set[str] = set()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def send(self, outcome: Outcome) -> None:
        """Send one bid and record its reply; raises ConnectionClosed if none can come."""
        future = asyncio.get_running_loop().create_future()
        self._pending[outcome.ref] = future
        try:
            await self.ws.send(json.dumps(outcome.message()))
            outcome.reply = await future
        finally:
            self._pending.pop(outcome.ref, None)
        outcome.answered_at = asyncio.get_running_loop().time()

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                self._on_message(json.loads(raw))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.ws.close_code
            protocol = self.ws.protocol
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionClosed(protocol.close_rcvd, protocol.close_sent))

    def _on_message(self, message: dict[str, Any]) -> None:
        ref = message.get("ref")
        if not isinstance(ref, str):
            return  # events and unsolicited errors
        future = self._pending.get(ref)
        if ref in self._answered or future is None or future.done():
            self.duplicates.append(message)
            return
        self._answered.add(ref)
        future.set_result(message)

    async def closed(self) -> None:
        """Wait for the reader to see the end of the connection."""
        await asyncio.gather(self._reader, return_exceptions=True)

    async def aclose(self) -> None:
        await self.ws.close()
        await self.closed()


@dataclass(eq=False)
class Load:
    """Bidders bidding continuously at some auctions, each bid with a fresh bidId."""

    auctions: list[int]
    pace_s: float = 0.01  # load pacing, not synchronisation: at most 1/pace_s bids/s a bidder
    max_bids: int = 2000  # per bidder, so a loop always ends
    outcomes: list[Outcome] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _amounts: dict[int, itertools.count[int]] = field(default_factory=dict)

    def next_amount(self, auction_id: int) -> int:
        """Strictly rising per auction, one step apart, so most bids clear the minimum."""
        counter = self._amounts.setdefault(auction_id, itertools.count(2))
        return next(counter) * STEP

    async def bidder(self, client: BidClient, offset: int = 0) -> None:
        loop = asyncio.get_running_loop()
        for i in range(self.max_bids):
            if self.stop.is_set():
                return
            auction_id = self.auctions[(i + offset) % len(self.auctions)]
            outcome = Outcome(
                client.user_id,
                auction_id,
                str(uuid.uuid4()),
                self.next_amount(auction_id),
                loop.time(),
            )
            self.outcomes.append(outcome)
            try:
                await client.send(outcome)
            except ConnectionClosed:
                return
            finally:
                self._changed.set()
            await asyncio.sleep(self.pace_s)

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wake on every answer until `predicate` holds; callers bound it with a timeout."""
        while not predicate():
            self._changed.clear()
            await self._changed.wait()

    def accepted(self, auction_id: int | None = None, sent_after: float = 0.0) -> list[Outcome]:
        return [
            o
            for o in self.outcomes
            if o.accepted
            and o.sent_at >= sent_after
            and (auction_id is None or o.auction_id == auction_id)
        ]

    def with_code(self, code: str) -> list[Outcome]:
        return [o for o in self.outcomes if o.code == code]


@dataclass(frozen=True, slots=True)
class StoredBid:
    auction_id: int
    bidder_id: int
    seq: int
    amount: int
    sent: int


async def stored_bids(pool: asyncpg.Pool, auction_ids: Iterable[int]) -> dict[str, StoredBid]:
    """Every stored bid record caused by a bidId, by bidId; fails on a duplicate record."""
    rows = await pool.fetch(
        "SELECT auction_id, seq, amount, cause_bidder_id, cause_bid_id, cause_sent"
        " FROM auction_events WHERE auction_id = ANY($1::bigint[]) AND type = 'bid'"
        " AND cause_bid_id IS NOT NULL AND kind <> 'proxy' ORDER BY auction_id, seq",
        list(auction_ids),
    )
    stored: dict[str, StoredBid] = {}
    for r in rows:
        bid_id = r["cause_bid_id"]
        assert bid_id not in stored, f"bid {bid_id} stored twice"
        stored[bid_id] = StoredBid(
            r["auction_id"], r["cause_bidder_id"], r["seq"], r["amount"], r["cause_sent"]
        )
    return stored


async def check_dense(pool: asyncpg.Pool, auction_id: int) -> int:
    """Public events are numbered 1..N and versions 1..M, as the projection says; returns N."""
    rows = await pool.fetch(
        "SELECT version, seq FROM auction_events WHERE auction_id = $1 ORDER BY version",
        auction_id,
    )
    versions = [r["version"] for r in rows]
    seqs = [r["seq"] for r in rows if r["seq"] is not None]
    assert versions == list(range(1, len(versions) + 1)), f"auction {auction_id}: version gap"
    assert seqs == list(range(1, len(seqs) + 1)), f"auction {auction_id}: seq gap"
    head = await pool.fetchrow("SELECT seq, version FROM auctions WHERE id = $1", auction_id)
    assert head is not None
    assert (head["seq"], head["version"]) == (len(seqs), len(versions))
    return len(seqs)


def check_acked_stored(outcomes: Iterable[Outcome], stored: dict[str, StoredBid]) -> int:
    """Every acknowledged bid is in the log with the seq and amount its bidder was told."""
    acked = 0
    for o in outcomes:
        if not o.accepted:
            continue
        assert o.reply is not None
        row = stored.get(o.bid_id)
        assert row is not None, f"acked bid {o.bid_id} is not stored"
        assert (row.auction_id, row.bidder_id, row.sent) == (o.auction_id, o.user_id, o.amount)
        assert row.seq == o.reply["seq"], f"bid {o.bid_id}: told seq {o.reply['seq']}"
        acked += 1
    return acked


def check_only_known_stored(outcomes: Iterable[Outcome], stored: dict[str, StoredBid]) -> None:
    """A stored bid was acked or its fate left open (unavailable, no answer); never refused."""
    fates = {o.bid_id: o.code for o in outcomes}
    for bid_id in stored:
        if bid_id in fates:
            assert fates[bid_id] in ("accepted", "unavailable", None), (bid_id, fates[bid_id])


def check_codes(outcomes: Iterable[Outcome]) -> dict[str | None, int]:
    """Every answer is an ack, `unavailable` or a rule's refusal; counts them (None: no answer)."""
    counts: dict[str | None, int] = defaultdict(int)
    for o in outcomes:
        counts[o.code] += 1
    unexpected = set(counts) - {"accepted", "unavailable", None, *RULE_CODES}
    assert not unexpected, f"unexpected answers: {unexpected}"
    return dict(counts)


def by_user(clients: Iterable[BidClient]) -> dict[int, BidClient]:
    return {c.user_id: c for c in clients}


async def retry(clients: dict[int, BidClient], outcomes: Iterable[Outcome]) -> list[Outcome]:
    """Send each bid again with its bidId and amount, all at once; returns the new outcomes."""
    loop = asyncio.get_running_loop()
    again = [
        Outcome(o.user_id, o.auction_id, o.bid_id, o.amount, loop.time(), attempt=o.attempt + 1)
        for o in outcomes
    ]
    await asyncio.gather(*(clients[o.user_id].send(o) for o in again))
    return again


def check_retries(
    again: Iterable[Outcome], before: dict[str, StoredBid], after: dict[str, StoredBid]
) -> dict[str, int]:
    """A retried bid answers as stored, or is decided afresh; never stored twice.

    `before` and `after` are the stored bids around the retries; returns how many retries
    got the original stored answer, a fresh acceptance, or each rule's refusal.
    """
    kinds: dict[str, int] = defaultdict(int)
    for o in again:
        assert o.reply is not None, f"retried bid {o.bid_id} got no answer"
        was, now = before.get(o.bid_id), after.get(o.bid_id)
        if o.accepted:
            assert now is not None, f"retried bid {o.bid_id} acked but not stored"
            assert (o.reply["seq"], o.reply["amount"]) == (now.seq, now.sent), o.reply
            kinds["original" if was is not None else "fresh"] += 1
        else:
            assert o.code in RULE_CODES, f"retried bid {o.bid_id} answered {o.reply}"
            assert was is None, f"stored bid {o.bid_id} refused on retry"
            assert now is None, f"refused retry of {o.bid_id} was stored"
            kinds[str(o.code)] += 1
    return dict(kinds)


async def close_all(clients: Iterable[BidClient]) -> None:
    for client in clients:
        with contextlib.suppress(ConnectionClosed, OSError):
            await client.aclose()
