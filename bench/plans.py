"""What the parent tells each worker process, and what each worker sends back.

Everything here crosses a process boundary (pickled under the `spawn` start method), so it
is plain frozen data. The `Channel` carries the shared state of one run: the progress and
result queue, the go and stop events, the common start time, and the global bid counter
that makes amounts rise in the order bids actually leave the generator.
"""

from __future__ import annotations

import multiprocessing as mp
from dataclasses import dataclass, field
from multiprocessing.context import SpawnContext
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event
from typing import Any


@dataclass(frozen=True, slots=True)
class Timing:
    duration: float
    warmup: float
    grace: float = 5.0
    send: str = "timer"  # "timer": uvloop timers (≈1 ms granularity); "spin": busy-poll


@dataclass(frozen=True, slots=True)
class BidPlan:
    """Bids from this worker's bidder connections at the auctions, open or closed loop."""

    ws_url: str
    tokens: tuple[str, ...]  # one per bidder connection of this worker
    auction_ids: tuple[int, ...]
    bases: tuple[int, ...]  # the first amount for each auction (its minimum next bid)
    rate: float  # bids per second over all workers (open loop)
    bid_id_prefix: str  # 24 characters: a random UUID without its last group
    step: int = 1000  # the largest increment of the default table
    message: str = "bid"  # "max_bid" when every connection is the same user
    closed: bool = False
    inflight: int = 1  # closed loop: outstanding bids per connection
    record_acks: bool = False  # keep (seq, wall time) of every accepted bid


@dataclass(frozen=True, slots=True)
class WatchPlan:
    """Watchers that subscribe and read (counting, or timing each event), plus stalled ones."""

    ws_url: str
    count: int
    auction_ids: tuple[int, ...]
    timed: bool = False
    stalled: int = 0


@dataclass(frozen=True, slots=True)
class IdlePlan:
    ws_url: str
    tokens: tuple[str, ...]  # used round-robin
    count: int
    concurrency: int = 200


@dataclass(frozen=True, slots=True)
class RestPlan:
    http_url: str
    tokens: tuple[str, ...]
    auction_ids: tuple[int, ...]
    bases: tuple[int, ...]
    get_rate: float  # over all workers
    bid_rate: float
    bid_id_prefix: str
    step: int = 2000
    message: str = "max_bid"  # POST /auctions/{id}/max-bid; "bid": POST …/bid


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    index: int
    workers: int
    cores: tuple[int, ...] | None
    timing: Timing
    bids: BidPlan | None = None
    watch: WatchPlan | None = None
    idle: IdlePlan | None = None
    rest: RestPlan | None = None
    probe_url: str | None = None  # ping the server from here (bench.probe)


@dataclass(slots=True)
class TallyOutcome:
    """Requests with an intended send time, and what came back."""

    sent: int = 0
    sent_window: int = 0
    accepted: int = 0
    accepted_window: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    missing: int = 0
    latency: bytes = b""  # intended send → reply, accepted only, measured window
    service: bytes = b""  # actual send → reply
    acks: list[tuple[int, int, float]] = field(default_factory=list)  # auction, seq, wall


@dataclass(slots=True)
class WatchOutcome:
    connected: int = 0
    frames: int = 0
    disconnected: int = 0
    per_seq: dict[int, tuple[int, float, int]] = field(default_factory=dict)  # at, last, n
    deliveries: bytes = b""  # every (watcher, event): receive - event `at`
    stalled: list[str] = field(default_factory=list)  # how each stalled watcher ended


@dataclass(slots=True)
class IdleOutcome:
    opened: int = 0
    failed: int = 0
    seconds: float = 0.0
    alive_at_end: int = 0
    handshake: bytes = b""
    errors: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class WorkerResult:
    index: int
    error: str | None = None
    bids: TallyOutcome | None = None
    watch: WatchOutcome | None = None
    idle: IdleOutcome | None = None
    rest: dict[str, TallyOutcome] | None = None
    lag: bytes = b""
    ping: bytes = b""
    cpu_s: float = 0.0
    wall_s: float = 0.0


@dataclass
class Channel:
    queue: Queue[Any]
    go: Event
    stop: Event
    start_at: Synchronized[float]  # time.monotonic() of the schedule's origin
    start_wall: Synchronized[float]  # the same instant by time.time()
    counter: Synchronized[int]

    @classmethod
    def create(cls, ctx: SpawnContext) -> Channel:
        return cls(
            queue=ctx.Queue(),
            go=ctx.Event(),
            stop=ctx.Event(),
            start_at=ctx.Value("d", 0.0),
            start_wall=ctx.Value("d", 0.0),
            counter=ctx.Value("q", 0),
        )


def spawn_context() -> SpawnContext:
    """Workers start fresh interpreters: nothing of the parent's event loop leaks in."""
    return mp.get_context("spawn")
