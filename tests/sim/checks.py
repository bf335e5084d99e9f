"""The invariants: after every step, and once everything has settled at the end of a run.

After every step (and as each answer or event arrives, in `tests.sim.clients`):
- the stored log of every auction has a dense `seq`, nothing after its close, and no
  extension that a record did not cause (CONTRACT §2 Soft close);
- the persister is never stuck: while units wait, writes commit within `STUCK_AFTER_S` of
  the database last misbehaving; the close scheduler is alive.
At the end (faults over, every auction past its end):
- every auction is closed in storage and every watcher still subscribed holds every
  event up to the stored last one, the close exactly once;
- nothing acknowledged is lost: every accepted bidId (and buy-now) is stored, and in memory
  mode every event broadcast is the one stored;
- sending every accepted bidId again gets the first answer again.
"""

from __future__ import annotations

from bidserver.auction import (
    BidKind,
    BidPlaced,
    BidReply,
    Cancelled,
    Closed,
    Event,
    Extended,
    MaxRaised,
)
from tests.sim.clients import stored_cause
from tests.sim.clock import EPOCH_MS
from tests.sim.world import World

STUCK_AFTER_S = 30.0
CLOSE_LATE_S = 20.0  # timers fire at the end; the scheduler looks every 5 s, 60 s ahead


def check_log(world: World, auction_id: int, events: list[Event]) -> None:
    seq = 0
    ended_at: int | None = None
    for index, event in enumerate(events):
        if ended_at is not None:
            world.report(f"auction {auction_id}: {event} stored after its end (version {ended_at})")
            return
        if isinstance(event, MaxRaised):
            continue
        if event.seq != seq + 1:
            world.report(f"auction {auction_id}: stored seq {event.seq} follows {seq}")
            return
        seq = event.seq
        if isinstance(event, Closed | Cancelled):
            ended_at = index + 1
        if (
            isinstance(event, Extended)
            and not _made_by_record(events, index, event)
            and "soft_close_extension" not in world.options.skip_checks
        ):
            world.report(f"auction {auction_id}: {event} extended without a record")


def _made_by_record(events: list[Event], index: int, extended: Extended) -> bool:
    before = events[index - 1] if index > 0 else None
    return isinstance(before, BidPlaced) and before.cause == extended.cause


class Watchdog:
    """Notices a persister that holds units but stopped committing while the store is fine."""

    def __init__(self) -> None:
        self.progress_at = 0.0
        self.commits = -1
        self.checked: dict[int, int] = {}  # auction -> events already checked
        self.late: dict[int, int] = {}  # auction -> the end it was reported late for

    def step(self, world: World) -> None:
        for auction_id, row in world.memory.auctions.items():
            if len(row.events) != self.checked.get(auction_id):
                check_log(world, auction_id, row.events)
                self.checked[auction_id] = len(row.events)
        node = world.live_node()
        now = world.now()
        self._closes_come(world, now)
        if not node.scheduler_alive():
            world.report(f"node {node.generation}: the close scheduler's loop has died")
        if not node.busy() or world.store.commits != self.commits:
            self.commits, self.progress_at = world.store.commits, now
            return
        calm_since = max(self.progress_at, world.store.state.last_fault_end)
        if now - calm_since > STUCK_AFTER_S:
            world.report(
                f"the persister is stuck: {node.persister.queued_events} events "
                f"queued, nothing committed for {now - self.progress_at:.0f} s, the "
                f"database fine for {now - world.store.state.last_fault_end:.0f} s"
            )
            self.progress_at = now  # report once per window

    def _closes_come(self, world: World, now: float) -> None:
        """Once the database is fine, an auction past its end is closed within CLOSE_LATE_S."""
        if "close_liveness" in world.options.skip_checks:
            return
        calm = max(world.store.state.last_fault_end, world.restarted_at)
        for auction_id, row in world.memory.auctions.items():
            end = (row.ends_at - EPOCH_MS) / 1000
            late = now - max(end, calm)
            if (
                row.status in ("scheduled", "open")
                and late > CLOSE_LATE_S
                and (self.late.get(auction_id) != row.ends_at)
            ):
                self.late[auction_id] = row.ends_at
                world.report(
                    f"auction {auction_id} ended at {end:.1f} s but is still "
                    f"{row.status} in storage {late:.0f} s after (database fine)"
                )


def check_final(world: World) -> None:
    node = world.live_node()
    if node.busy():
        world.report(f"after settling, {node.persister.queued_events} events never stored")
    for auction_id, row in world.memory.auctions.items():
        if row.status in ("scheduled", "open"):
            world.report(
                f"auction {auction_id} ended at {row.ends_at} (virtual "
                f"{(row.ends_at - 1_795_860_000_000) / 1000:.1f} s) but storage says "
                f"{row.status}"
            )
    _check_watchers(world)
    _check_acks_stored(world)


def _check_watchers(world: World) -> None:
    for watcher in world.watchers:
        row = world.memory.auctions[watcher.auction_id]
        if not world.durable:
            for seq, utf8 in watcher.received:
                watcher.check_stored(seq, utf8)
        if not watcher.wants:
            continue
        if watcher.attached_to != world.generation:
            world.report(
                f"watcher {watcher.number} of auction {watcher.auction_id} could not "
                "subscribe again"
            )
        elif watcher.last_seq != row.seq:
            world.report(
                f"watcher {watcher.number} of auction {watcher.auction_id} holds seq "
                f"{watcher.last_seq}; storage has {row.seq} ({row.status})"
            )
        elif watcher.terminal > 1:
            world.report(f"watcher {watcher.number} got the close {watcher.terminal} times")


def _check_acks_stored(world: World) -> None:
    """Nothing acknowledged is lost, in either ack mode."""
    for record in world.bids:
        if record.bid_id is None or not isinstance(record.first, BidReply):
            continue
        if not stored_cause(world.memory, record.auction_id, record.bidder, record.bid_id):
            world.report(
                f"acknowledged {record.command} on auction {record.auction_id} "
                f"({record.first}) is not stored"
            )
    for auction_id, bidder, seq in world.buy_nows:
        events = world.memory.auctions[auction_id].events
        if not any(
            isinstance(e, BidPlaced)
            and e.seq <= seq
            and e.bidder_id == bidder
            and e.kind is BidKind.BUY_NOW
            for e in events
        ):
            world.report(
                f"acknowledged buy-now of {bidder} on auction {auction_id} at seq "
                f"{seq} is not stored"
            )
