"""An actor's watchers: who subscribed, what they were sent, and how a late one catches up.

The actor decides what to release and when; this keeps the subscribers, the last released
`seq`, and the recent events a resuming client can be given from memory.
"""

from __future__ import annotations

import logging
from collections import deque

from bidserver.auction import Snapshot
from bidserver.engine.fanout import Subscriber
from bidserver.engine.mailbox import Subscription
from bidserver.wire import subscribed
from bidserver.wire.frames import Frames

log = logging.getLogger("bidserver.actor")

RECENT_EVENTS = 32  # replayable from memory on resume; older ones come from the database
MAX_REPLAY = 10_000  # a client further behind than this starts again from the snapshot


class Watchers:
    def __init__(self, auction_id: int, released_seq: int) -> None:
        self.auction_id = auction_id
        self.released_seq = released_seq  # the last public event subscribers were sent
        self._recent: deque[tuple[int, Frames]] = deque(maxlen=RECENT_EVENTS)
        self._subscribers: dict[Subscriber, None] = {}

    def __len__(self) -> int:
        return len(self._subscribers)

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers[subscriber] = None

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.pop(subscriber, None)

    def publish(self, seq: int, frames: Frames) -> None:
        self.released_seq = seq
        self._recent.append((seq, frames))
        self.broadcast(frames, None)

    def broadcast(self, frames: Frames, only_user: int | None) -> None:
        """Write to every subscriber (or one user's); a failing one is dropped, not fatal."""
        for subscriber in list(self._subscribers):
            if only_user is not None and subscriber.user_id != only_user:
                continue
            try:
                subscriber.push(frames)
            except Exception:
                log.exception("subscriber failed; dropped", extra={"auction": self.auction_id})
                self._subscribers.pop(subscriber, None)

    def recent_after(self, since_seq: int, up_to: int) -> list[Frames] | None:
        """Released events in (since_seq, up_to] if memory still holds them all, else None."""
        if since_seq >= up_to:
            return []
        recent = self._recent
        if not recent or recent[0][0] > since_seq + 1:
            return None
        return [frames for seq, frames in recent if since_seq < seq <= up_to]

    def catch_up(self, snap: Snapshot, since: int | None) -> Subscription:
        if since is None or since > snap.seq or snap.seq - since > MAX_REPLAY:
            return Subscription(snap, False, [], None)
        backlog = self.recent_after(since, snap.seq)
        if backlog is None:
            return Subscription(snap, True, [], since)
        return Subscription(snap, True, backlog, None)

    def reset(self, stored: Snapshot) -> None:
        """Events sent were never stored and are gone (memory ack mode): their seqs will be
        used again, so every watcher starts again from the stored state, as after
        re-subscribing (an unasked `subscribed` with `recovered: false`)."""
        self.released_seq = stored.seq
        kept = [(seq, frames) for seq, frames in self._recent if seq <= stored.seq]
        self._recent.clear()
        self._recent.extend(kept)
        self.broadcast(Frames(subscribed(stored, False)), None)
