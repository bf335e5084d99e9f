"""What goes into an auction actor's inbox and what waits in it for release.

The actor (`bidserver.engine.actor`) owns the logic; these are its messages, the callbacks they
carry, and the records of what a command produced until its write commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bidserver.auction import (
    BidCommand,
    BidReply,
    CancelAuction,
    CloseIfDue,
    Event,
    Notice,
    Snapshot,
)
from bidserver.engine.fanout import Subscriber
from bidserver.engine.persister import WriteUnit
from bidserver.errors import BidserverError
from bidserver.wire.frames import Frames

Reply = BidReply | BidserverError
ReplyFn = Callable[[Reply], None]


@dataclass(frozen=True, slots=True)
class Subscription:
    """What a subscriber gets at release: the snapshot and how to catch up from sinceSeq."""

    snapshot: Snapshot
    recovered: bool
    backlog: list[Frames]  # from memory
    fetch_after: int | None  # if set: fetch (fetch_after, snapshot.seq] from the database


SubscribeFn = Callable[[Subscription | BidserverError], bool]
SnapshotFn = Callable[[Snapshot | BidserverError], None]


@dataclass(slots=True, eq=False)
class Release:
    reply: Callable[[], None] | None = None
    frames: list[tuple[int, Frames]] = field(default_factory=list)
    notices: tuple[Notice, ...] = ()
    on_fail: Callable[[BidserverError], None] | None = None
    unit: WriteUnit | None = None
    pending: bool = False


@dataclass(frozen=True, slots=True)
class BidRequest:
    command: BidCommand
    reply: ReplyFn
    received: float


@dataclass(frozen=True, slots=True)
class SubscribeRequest:
    subscriber: Subscriber
    since_seq: int | None
    done: SubscribeFn


@dataclass(frozen=True, slots=True)
class AdminRequest:
    command: CancelAuction | CloseIfDue
    done: SnapshotFn | None


@dataclass(slots=True)
class Turn:
    """Events decided since the actor last yielded: the persister gets them as one unit."""

    from_version: int
    events: list[Event] = field(default_factory=list)
    payloads: list[bytes | None] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)


STOP = object()
RECOVER = object()  # a write failed: reload from the database now, not on the next command
Message = BidRequest | SubscribeRequest | AdminRequest | object


def fail_subscription(done: SubscribeFn, error: BidserverError) -> None:
    done(error)


def refuse(message: Message, error: BidserverError) -> None:
    if isinstance(message, BidRequest):
        message.reply(error)
    elif isinstance(message, SubscribeRequest):
        message.done(error)
    elif isinstance(message, AdminRequest) and message.done is not None:
        message.done(error)
