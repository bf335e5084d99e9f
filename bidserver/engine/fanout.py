"""What the engine fans out to: a watcher it can push once-encoded frames to, never awaiting."""

from __future__ import annotations

from typing import Protocol

from bidserver.wire.frames import Frames


class Subscriber(Protocol):
    """A connection watching auctions: who it is (for private notices) and a sync push."""

    @property
    def user_id(self) -> int | None: ...

    def push(self, frames: Frames) -> None:
        """Queue the frames for writing without awaiting; never raises."""
