"""Applying decided events to a state, shared by both engines: wire frames and a store item.

Each public event's message is built right after its own `evolve`, because the contract
shows every record's fields "as after this record"; the JSON text made here is both what
subscribers get and the payload stored for resuming clients.
"""

from __future__ import annotations

from collections.abc import Sequence

from bidserver.auction import AuctionState, Event, MaxRaised, evolve
from bidserver.ports import AppendItem, Projection
from bidserver.wire import event_message
from bidserver.wire.frames import Frames


def apply_events(
    state: AuctionState, events: Sequence[Event], epoch: int, now: int
) -> tuple[list[tuple[int, Frames]], AppendItem]:
    """Evolve `state` through `events`; returns (seq, frames) per public event and the item."""
    from_version = state.version
    frames, payloads = record_events(state, events)
    item = AppendItem(
        state.config.auction_id, epoch, from_version, events, payloads, projection(state, now)
    )
    return frames, item


def record_events(
    state: AuctionState, events: Sequence[Event]
) -> tuple[list[tuple[int, Frames]], list[bytes | None]]:
    """Evolve `state` through `events`: (seq, frames) per public event, a payload per event."""
    frames: list[tuple[int, Frames]] = []
    payloads: list[bytes | None] = []
    for event in events:
        evolve(state, event)
        if isinstance(event, MaxRaised):
            payloads.append(None)
            continue
        message = Frames(event_message(state, event))
        frames.append((event.seq, message))
        payloads.append(message.utf8())
    return frames, payloads


def projection(state: AuctionState, now: int) -> Projection:
    """The auctions row as after the state: what REST and the baseline read from the table."""
    ended = state.ended
    live = "scheduled" if now < state.config.starts_at else "open"
    return Projection(
        status=ended.value if ended else live,
        current_price=state.current_price,
        bid_count=state.bid_count,
        leader_id=state.leader_id,
        leader_max=state.leader_max if state.leader_id is not None else None,
        extensions=state.extensions,
        bidder_count=len(state.aliases),
        winner_id=state.winner_id,
        seq=state.seq,
        version=state.version,
        ends_at=state.ends_at,
    )
