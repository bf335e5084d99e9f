"""Virtual time: an asyncio loop whose clock moves only when every task is waiting.

The loop is the standard selector loop with a selector that never blocks: where the real
one would sleep until the next timer, this one moves the virtual clock to that timer and
returns at once. So a run of the engine takes as many virtual seconds as the timers say
and as little real time as the callbacks cost, and two runs with the same seed make the
same calls in the same order. The server clock (`bidserver.timefmt.now_ms`, imported by
name into the engine's modules) is replaced by the virtual one for the run.
"""

from __future__ import annotations

import asyncio
import math
import selectors
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from bidserver import timefmt

if TYPE_CHECKING:
    from _typeshed import FileDescriptorLike


# 2026-11-28T10:00:00Z: virtual time 0 of every run.
EPOCH_MS = 1_795_860_000_000


class SimulationStuck(RuntimeError):
    """Every task waits on something that no timer will ever bring: a deadlock."""


class VirtualClock:
    def __init__(self) -> None:
        self._us = 0  # whole microseconds, so time never drifts by float rounding

    def time(self) -> float:
        return self._us / 1_000_000

    def advance(self, seconds: float) -> None:
        # Round up: a timer set for `when` must be due after the advance that aims at it,
        # and any wait at all moves time by at least a microsecond (no spinning).
        self._us += max(0, math.ceil(seconds * 1_000_000))

    def now_ms(self) -> int:
        return EPOCH_MS + self._us // 1000


class _VirtualSelector(selectors.BaseSelector):
    """Keeps registrations (the loop's self-pipe) but never waits: time jumps instead."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._map: dict[int, selectors.SelectorKey] = {}

    def register(
        self, fileobj: FileDescriptorLike, events: int, data: object = None
    ) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        key = selectors.SelectorKey(fileobj, fd, events, data)
        self._map[fd] = key
        return key

    def unregister(self, fileobj: FileDescriptorLike) -> selectors.SelectorKey:
        fd = fileobj if isinstance(fileobj, int) else fileobj.fileno()
        return self._map.pop(fd)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise SimulationStuck("no task can run and no timer is set")
        self._clock.advance(timeout)
        return []

    def get_map(self) -> Mapping[FileDescriptorLike, selectors.SelectorKey]:
        return {key.fileobj: key for key in self._map.values()}

    def close(self) -> None:
        self._map.clear()


class SimLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__(_VirtualSelector(clock))
        self.clock = clock

    def time(self) -> float:
        return self.clock.time()


@contextmanager
def virtual_server_clock(clock: VirtualClock) -> Iterator[None]:
    """Every loaded module's `now_ms` (the server clock) reads `clock` until the block ends."""
    real = timefmt.now_ms
    patched = [
        module
        for name, module in list(sys.modules.items())
        if name.startswith(("bidserver", "storage")) and getattr(module, "now_ms", None) is real
    ]
    for module in patched:
        module.now_ms = clock.now_ms  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module in patched:
            module.now_ms = real  # type: ignore[attr-defined]
