"""Running one seed: the steps, the fault schedule, settling, and the report.

`run_seed(options)` builds a fresh virtual loop, runs the world to the end and returns
its result; a broken promise stops the run at the step that broke it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bidserver.auction import BidReply
from tests.sim.checks import Watchdog, check_final
from tests.sim.clock import EPOCH_MS, SimLoop, VirtualClock, virtual_server_clock
from tests.sim.node import settle_tasks
from tests.sim.world import SimOptions, Violation, World

GRACEFUL_STOP_S = 300.0  # virtual: a graceful stop outlasting the longest outage is stuck
SETTLE_ROUNDS = 40


@dataclass(frozen=True, slots=True)
class SimResult:
    seed: int
    durable: bool
    violations: list[str]
    trace: list[str]
    virtual_s: float
    steps: int
    bids: int

    @property
    def ok(self) -> bool:
        return not self.violations

    def replay_command(self) -> str:
        mode = "durable" if self.durable else "memory"
        return f"python -m tests.sim --seed {self.seed} --mode {mode}"

    def report(self) -> str:
        lines = [
            f"simulation seed {self.seed} ({'durable' if self.durable else 'memory'} "
            f"acks) broke a promise; replay: {self.replay_command()}"
        ]
        lines += [f"  {v}" for v in self.violations[:10]]
        lines.append("  last steps:")
        lines += [f"    {t}" for t in self.trace[-60:]]
        return "\n".join(lines)


class _ErrorLog(logging.Handler):
    """The engine logs ERROR only for what must not happen (a lost write, a crashed turn)."""

    def __init__(self, world: World) -> None:
        super().__init__(logging.WARNING)
        self.world = world

    def emit(self, record: logging.LogRecord) -> None:
        error = getattr(record, "error", "")
        text = f"log {record.name} {record.levelname}: {record.getMessage()} {error}".strip()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" ({record.exc_info[1]!r})"
        if record.levelno >= logging.ERROR:
            self.world.report(f"the engine logged an error: {text}")
        else:
            self.world.log(text)


@contextmanager
def _engine_logs(world: World) -> Iterator[None]:
    logger = logging.getLogger("bidserver")
    handler = _ErrorLog(world)
    saved = logger.propagate, logger.level
    logger.addHandler(handler)
    logger.propagate, logger.level = False, logging.WARNING
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved


def run_seed(options: SimOptions) -> SimResult:
    clock = VirtualClock()
    loop = SimLoop(clock)
    world: World | None = None

    async def main() -> World:
        nonlocal world
        world = World(options)
        loop.set_exception_handler(lambda _, context: world.log(f"loop: {context['message']}"))
        with _engine_logs(world):
            try:
                await drive(world)
            finally:
                await settle_tasks(loop)
        return world

    try:
        with virtual_server_clock(clock):
            loop.run_until_complete(main())
    finally:
        loop.close()
    assert world is not None
    return SimResult(
        options.seed,
        options.durable,
        list(world.violations),
        list(world.trace),
        clock.time(),
        options.steps,
        len(world.bids),
    )


async def drive(world: World) -> None:
    world.create_auctions()
    world.start_node()
    world.spawn(inject_faults(world))
    watchdog = Watchdog()
    try:
        for _ in range(world.options.steps):
            await asyncio.sleep(pause(world))
            await act(world)
            watchdog.step(world)
            if world.violations:
                return
        await settle(world, watchdog)
        if not world.violations:
            check_final(world)
    except Violation:
        return


def pause(world: World) -> float:
    rng = world.rng
    draw = rng.random()
    if draw < 0.04:  # quiet spells: idle actors are passivated, closes come due
        return rng.uniform(20.0, 90.0)
    if draw < 0.35:  # a burst: commands meet in one turn and in one batch
        return 0.0
    return rng.expovariate(1 / 0.6)


async def act(world: World) -> None:
    draw = world.rng.random()
    for weight, action in _ACTIONS:
        if draw < weight:
            await action(world)
            return
        draw -= weight


async def _bid(world: World) -> None:
    auction_id = _hot_auction(world)
    kind = world.rng.choices(("bid", "max", "buy_now"), (0.6, 0.35, 0.05))[0]
    record = world.new_bid(auction_id, kind)
    world.bids.append(record)
    world.spawn(world.send(record, rest=world.rng.random() < 0.1))


async def _retry(world: World) -> None:
    """A client that got `unavailable` (or no answer) sends the same bidId again."""
    waiting = [r for r in world.bids if r.first is None and r.in_flight == 0]
    if waiting:
        world.spawn(world.send(world.rng.choice(waiting)))


async def _resend(world: World) -> None:
    answered = [r for r in world.bids if r.first is not None and r.bid_id is not None]
    if answered:
        record = world.rng.choice(answered)
        world.resend_command(record)
        world.spawn(world.send(record))


async def _watch(world: World) -> None:
    watchers = world.watchers
    if watchers and world.rng.random() < 0.5:
        watcher = world.rng.choice(watchers)
        if watcher.wants and world.rng.random() < 0.3:
            world.unsubscribe(watcher)
            return
        watcher.wants = True
    else:
        watcher = world.new_watcher(_hot_auction(world))
    world.spawn(world.subscribe(watcher))


async def _resubscribe(world: World) -> None:
    for watcher in world.watchers:
        if watcher.wants and watcher.attached_to != world.generation:
            world.spawn(world.subscribe(watcher))


async def _snapshot(world: World) -> None:
    world.spawn(world.rest_snapshot(_hot_auction(world)))


async def _cancel(world: World) -> None:
    world.spawn(world.rest_snapshot(_hot_auction(world), cancel=True))


async def _restart(world: World) -> None:
    node = world.live_node()
    if world.durable and world.options.crashes and world.rng.random() < 0.5:
        world.log(f"node {node.generation} crashes")
        world.restarted_at = world.now()
        node.crash()
        world.crashes += 1
    else:
        world.log(f"node {node.generation} stops")
        world.restarted_at = world.now()
        try:
            async with asyncio.timeout(GRACEFUL_STOP_S):
                await node.stop()
        except TimeoutError:
            world.report(
                f"node {node.generation}: a graceful stop did not end in "
                f"{GRACEFUL_STOP_S:.0f} s (persister stuck?)"
            )
            node.crash()
    world.start_node()
    world.restarted_at = world.now()


def _hot_auction(world: World) -> int:
    """Attention moves between auctions: each spell some are busy, the rest left alone."""
    rng, now = world.rng, world.now()
    if now >= world.spell_ends:
        ids = sorted(world.memory.auctions)
        world.hot = rng.sample(ids, rng.randint(1, len(ids)))
        world.spell_ends = now + rng.uniform(10.0, 90.0)
    return rng.choice(world.hot if rng.random() < 0.95 else sorted(world.memory.auctions))


_ACTIONS: tuple[tuple[float, Callable[[World], Awaitable[None]]], ...] = (
    (0.55, _bid),
    (0.12, _retry),
    (0.1, _resend),
    (0.07, _watch),
    (0.05, _resubscribe),
    (0.08, _snapshot),
    (0.005, _cancel),
    (0.008, _restart),
)


async def inject_faults(world: World) -> None:
    """Episodes of trouble, one after another, from the fault stream of the seed."""
    store, config = world.store, world.options.faults
    rng, state = store._rng, store.state
    flaky = config.commit_fail or config.lost_answer or config.stall or config.unexpected
    choices = (("flaky", flaky), ("outage", config.outage), ("row_lock", config.row_lock))
    kinds = [kind for kind, on in choices if on]
    while kinds:
        await asyncio.sleep(rng.expovariate(1 / 12.0))
        if state.quiet:
            return
        now, kind = world.now(), rng.choice(kinds)
        if kind == "flaky":
            state.flaky_until = end = now + rng.uniform(1.0, 15.0)
            world.disturbed_until = max(world.disturbed_until, end)
        elif kind == "outage":
            long = rng.random() < 0.3
            state.outage_until = end = now + (rng.uniform(30, 120) if long else rng.uniform(2, 10))
            world.disturbed_until = max(world.disturbed_until, end)
        else:
            auction_id = rng.choice(sorted(world.memory.auctions))
            assert state.locks is not None
            state.locks[auction_id] = end = now + rng.uniform(1.0, 8.0)
            kind = f"row lock on auction {auction_id}"
        state.last_fault_end = max(state.last_fault_end, end)
        world.log(f"fault: {kind} for {end - now:.1f} s")


async def settle(world: World, watchdog: Watchdog) -> None:
    """End every fault, let every client finish, and every auction reach its end."""
    state, now = world.store.state, world.now()
    state.quiet = True
    state.flaky_until = state.outage_until = state.slow_until = min(state.outage_until, now)
    state.locks = {}
    state.last_fault_end = now
    world.log("settling: no more faults")
    for _ in range(SETTLE_ROUNDS):
        await _retry_all(world)
        await asyncio.sleep(3.0)
        watchdog.step(world)
        if world.violations:
            return
        if not any(r.first is None for r in world.bids) and not world.live_node().busy():
            break
    last_end = max(row.ends_at for row in world.memory.auctions.values())
    until = max(world.now(), (last_end - EPOCH_MS) / 1000) + 80.0
    while world.now() < until:
        await _resubscribe(world)
        await asyncio.sleep(5.0)
        watchdog.step(world)
    await _resend_accepted(world)


async def _retry_all(world: World) -> None:
    for record in world.bids:
        if record.first is None and record.in_flight == 0:
            world.spawn(world.send(record))
    await _resubscribe(world)


async def _resend_accepted(world: World) -> None:
    for record in world.bids:
        if record.bid_id is not None and isinstance(record.first, BidReply):
            world.resend_command(record)
            world.spawn(world.send(record))
    await asyncio.sleep(5.0)
