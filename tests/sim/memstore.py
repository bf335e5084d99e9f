"""The auction store's semantics in memory, for the simulator only.

This models `storage.auctions` (the PostgreSQL adapter of `bidserver.ports.AuctionStore`)
statement by statement: a write is one atomic statement that fences each auction of the
batch on its row's `version` and `owner_epoch` (built by the adapter's own `_fence_rows`),
writes nothing at all unless every auction passed, and fails on a duplicate
`(auction_id, version)` or `(auction_id, seq)` as the primary key and the unique index do;
an append whose fence refused an auction asks, as the adapter does, whether that auction's
very write is already stored (the same events, field for field, and payloads), which
is how a retried batch whose first commit's answer was lost counts as written.

It exists so the simulator can inject faults at scale; the real adapter's tests stay on
PostgreSQL, and `tests/integration/test_sim_store_contract.py` runs one scenario against
both to keep this model from drifting.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from bidserver.auction import AuctionConfig, Closed, Event, MaxRaised
from bidserver.errors import Internal
from bidserver.ports import AppendItem, LoadedAuction
from storage import auctions as adapter

_LIVE = ("scheduled", "open")


@dataclass(slots=True)
class StoredAuction:
    """One auctions row and its slice of auction_events (events[i] is version i + 1)."""

    config: AuctionConfig
    owner_epoch: int = 0
    version: int = 0
    seq: int = 0
    status: str = "open"
    ends_at: int = 0
    events: list[Event] = field(default_factory=list)
    payloads: list[bytes | None] = field(default_factory=list)


class MemoryStore:
    """The database: committed state only; every method is one statement, atomic."""

    def __init__(self) -> None:
        self.auctions: dict[int, StoredAuction] = {}

    def create(self, config: AuctionConfig) -> None:
        self.auctions[config.auction_id] = StoredAuction(config, ends_at=config.ends_at)

    # --- reads ------------------------------------------------------------------------------

    def load(self, auction_id: int) -> LoadedAuction | None:
        row = self.auctions.get(auction_id)
        if row is None:
            return None
        return LoadedAuction(row.config, row.owner_epoch, list(row.events))

    def public_events(
        self, auction_id: int, after_seq: int, up_to_seq: int
    ) -> list[dict[str, object]]:
        row = self.auctions.get(auction_id)
        if row is None:
            return []
        out: list[dict[str, object]] = []
        for event, payload in zip(row.events, row.payloads, strict=True):
            seq = getattr(event, "seq", None)
            if seq is not None and after_seq < seq <= up_to_seq and payload is not None:
                out.append(orjson.loads(payload))
        return out

    def due(self, until_ms: int, limit: int = 1000) -> list[int]:
        live = [r for r in self.auctions.values() if r.status in _LIVE and r.ends_at <= until_ms]
        live.sort(key=lambda r: r.ends_at)
        return [r.config.auction_id for r in live[:limit]]

    def stored_payload(self, auction_id: int, seq: int) -> bytes | None:
        for event, payload in zip(
            self.auctions[auction_id].events, self.auctions[auction_id].payloads, strict=True
        ):
            if getattr(event, "seq", None) == seq:
                return payload
        return None

    # --- the write statements ----------------------------------------------------------------

    def write_items(self, items: Sequence[AppendItem], skip: set[int] | None = None) -> set[int]:
        """`storage.auctions.write_items`: auctions whose units do not chain are refused,
        then fence, then all or nothing; the refused ids."""
        broken = adapter._broken_chains(items)
        items = [item for item in items if item.auction_id not in broken]
        if not items:
            return broken
        fence = adapter._fence_rows(items)
        skipped = skip or set()  # rows another transaction holds (SKIP LOCKED)
        fenced = {int(str(f[0])) for f in fence if self._matches(f) and f[0] not in skipped}
        if len(fenced) == len(fence):
            self._apply(fence, items)
        return ({item.auction_id for item in items} - fenced) | broken

    def still_matching(self, items: Sequence[AppendItem], auction_ids: set[int]) -> set[int]:
        """`storage.auctions._locked`'s read: unwritten auctions whose row still matches."""
        broken = adapter._broken_chains(items)
        heads: dict[int, AppendItem] = {}
        for item in items:
            if item.auction_id in auction_ids and item.auction_id not in broken:
                heads.setdefault(item.auction_id, item)
        return {
            a
            for a, head in heads.items()
            if (self.auctions[a].version, self.auctions[a].owner_epoch)
            == (head.from_version, head.owner_epoch)
        }

    def already_stored(self, items: Sequence[AppendItem], auction_ids: set[int]) -> list[int]:
        """`storage.auctions._already_stored`: indexes of items whose events the log holds."""
        stored: list[int] = []
        for index, item in enumerate(items):
            if item.auction_id not in auction_ids:
                continue
            row = self.auctions[item.auction_id]
            logged = row.events[item.from_version : item.from_version + len(item.events)]
            payloads = row.payloads[item.from_version : item.from_version + len(item.events)]
            if logged == list(item.events) and payloads == list(item.payloads):
                stored.append(index)
        return stored

    def _matches(self, fence: tuple[object, ...]) -> bool:
        row = self.auctions.get(int(str(fence[0])))
        return row is not None and row.version == fence[1] and row.owner_epoch == fence[2]

    def _apply(self, fence: list[tuple[object, ...]], items: Sequence[AppendItem]) -> None:
        """The row updates and the event inserts; a duplicate key fails the whole statement."""
        inserts: dict[tuple[int, int], tuple[Event, bytes | None]] = {}
        for item in items:
            for offset, (event, payload) in enumerate(zip(item.events, item.payloads, strict=True)):
                key = (item.auction_id, item.from_version + 1 + offset)
                if key in inserts or key[1] <= len(self.auctions[key[0]].events):
                    raise Internal("database error", sqlstate="23505")
                inserts[key] = (event, payload)
        self._check_seqs(inserts)
        for (auction_id, version), (event, payload) in sorted(inserts.items()):
            row = self.auctions[auction_id]
            if version != len(row.events) + 1:  # a hole in the versions: no such write exists
                raise Internal("database error", sqlstate="23505")
            row.events.append(event)
            row.payloads.append(payload)
        for f in fence:
            row = self.auctions[int(str(f[0]))]
            row.status, row.seq, row.version = str(f[3]), int(str(f[8])), int(str(f[9]))
            row.ends_at = int(str(f[10]))

    def _check_seqs(self, inserts: dict[tuple[int, int], tuple[Event, bytes | None]]) -> None:
        seen: set[tuple[int, int]] = set()
        for (auction_id, _), (event, _) in inserts.items():
            seq = getattr(event, "seq", None)
            if seq is None:
                continue
            taken = any(getattr(e, "seq", None) == seq for e in self.auctions[auction_id].events)
            if taken or (auction_id, seq) in seen:
                raise Internal("database error", sqlstate="23505")
            seen.add((auction_id, seq))


def public_seqs(events: Sequence[Event]) -> list[int]:
    return [e.seq for e in events if not isinstance(e, MaxRaised)]


def ended(events: Sequence[Event]) -> bool:
    return any(isinstance(e, Closed) or type(e).__name__ == "Cancelled" for e in events)
