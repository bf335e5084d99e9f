"""Every option of every scenario, as one typed value built from the command line."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, fields
from typing import Any

LOCAL_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ENGINES = ("actor", "rowlock", "echo")


@dataclass(frozen=True, slots=True)
class Options:
    scenario: str = "hot"
    # load shape
    duration: float = 10.0
    warmup: float | None = None  # None: 20 % of the duration, at most 2 s
    rate: float = 2000.0
    connections: int = 200
    watchers: int = 10
    auctions: int = 1
    stalled: int = 0
    n: int = 2000
    concurrency: int = 200
    inflight: int = 1
    p99_ms: float = 10.0
    steps: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90)
    pause_db: float = 0.0
    get_rate: float = 200.0
    vehicles: int = 1000
    grace: float = 5.0
    mode: str = "open"  # hot/spread: "closed" measures the maximum instead
    closed_max: bool = True  # compare: also measure each engine's closed-loop maximum
    bid: str = "max"  # "max": max_bid, tolerant of reordering; "plain": bid
    # what is measured
    engine: str = "actor"
    engines: tuple[str, ...] = ENGINES
    ack_mode: str = "durable"
    server_log_level: str = "info"
    # the generator
    workers: int | None = None
    pin: bool = True
    send: str = "timer"
    # where
    dsn: str = LOCAL_DSN
    embedded: bool = False
    target: str | None = None
    http_target: str | None = None
    auction_ids: tuple[int, ...] = ()
    secret: str | None = None
    token: str | None = None
    users: tuple[int, ...] = ()
    server_pid: int | None = None
    # output
    json: str | None = None
    plot: str | None = None
    quiet: bool = False
    keep_logs: bool = False

    @property
    def warmup_s(self) -> float:
        if self.warmup is not None:
            return min(self.warmup, self.duration * 0.9)
        return min(2.0, self.duration * 0.2)

    @property
    def measured_s(self) -> float:
        return self.duration - self.warmup_s

    @property
    def external(self) -> bool:
        """Measuring a server the harness did not start (`--target`)."""
        return self.target is not None


def from_namespace(ns: argparse.Namespace) -> Options:
    values: dict[str, Any] = {}
    for f in fields(Options):
        if hasattr(ns, f.name) and getattr(ns, f.name) is not None:
            value = getattr(ns, f.name)
            values[f.name] = tuple(value) if isinstance(value, list) else value
    return Options(**values)


def id_list(text: str) -> list[int]:
    """`3,5,10-12` → [3, 5, 10, 11, 12]."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        if sep:
            out.extend(range(int(low), int(high) + 1))
        else:
            out.append(int(part))
    if not out or min(out) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive ids such as 3,5,10-12: {text!r}")
    return out


def percent_list(text: str) -> list[int]:
    steps = [int(p) for p in text.split(",") if p.strip()]
    if not steps or not all(0 < p <= 100 for p in steps):
        raise argparse.ArgumentTypeError(f"expected percentages such as 10,50,90: {text!r}")
    return steps


def engine_list(text: str) -> list[str]:
    names = [e.strip() for e in text.split(",") if e.strip()]
    unknown = [e for e in names if e not in ENGINES]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"engines are {', '.join(ENGINES)}; got {text!r}")
    return names
