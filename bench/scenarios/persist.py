"""`persist`: how far the database trails the acknowledgements (write-behind lag).

Run with `BIDSERVER_ACK_MODE=memory` (the default here): a bid is acknowledged at once and
written behind. The bidders keep the `seq` and wall time of every acknowledgement; the
harness polls `max(seq)` of the auction's events in the database every few milliseconds.
An event's lag is the first poll that saw it committed minus its acknowledgement (poll
resolution ≈ 10 ms). `--pause-db N` puts a TCP proxy between server and PostgreSQL and
cuts it for N seconds a third into the measured window: the lag then shows the outage
and how fast the backlog drains.
"""

from __future__ import annotations

import asyncio
import bisect
import time

import asyncpg

from bench.deploy import Needs, Target, deployment
from bench.hist import Histogram
from bench.loadgen import Controller, Hook
from bench.options import Options
from bench.report import Series, TallySum
from bench.scenarios.common import BidLoad, measure_bids
from bench.system import CorePlan

POLL_S = 0.01
CATCH_UP_S = 60.0


class CommitPoller:
    """(wall time, committed max seq) of one auction, polled until told to stop."""

    def __init__(self, dsn: str, auction_id: int) -> None:
        self.dsn = dsn
        self.auction_id = auction_id
        self.samples: list[tuple[float, int]] = []
        self.rows_at_start = 0
        self.stop = asyncio.Event()
        self.wanted = 0
        self.caught_up = asyncio.Event()

    async def run(self) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            self.rows_at_start = await conn.fetchval("SELECT count(*) FROM auction_events")
            while not self.stop.is_set():
                seq = await conn.fetchval(
                    "SELECT coalesce(max(seq), 0) FROM auction_events WHERE auction_id = $1",
                    self.auction_id,
                )
                self.samples.append((time.time(), int(seq)))
                if self.wanted and seq >= self.wanted:
                    self.caught_up.set()
                await asyncio.sleep(POLL_S)  # the poll interval is the measurement resolution
        finally:
            await conn.close()

    def committed_at(self, seq: int) -> float | None:
        """The first poll at which `seq` was committed."""
        seqs = [s for _, s in self.samples]
        i = bisect.bisect_left(seqs, seq)
        return self.samples[i][0] if i < len(self.samples) else None


async def run(opts: Options, plan: CorePlan) -> list[Series]:
    needs = Needs(
        users=opts.connections, auctions=1, ack_mode=opts.ack_mode, db_proxy=opts.pause_db > 0
    )
    async with deployment(opts, opts.engine, needs, plan) as target:
        if target.dsn is None:
            raise SystemExit("persist needs a database the harness can query (not echo/--target)")
        poller = CommitPoller(target.dsn, target.auction_ids[0])
        poll_task = asyncio.create_task(poller.run())
        load = BidLoad(
            scenario="persist",
            auction_ids=tuple(target.auction_ids[:1]),
            rate=opts.rate,
            connections=opts.connections,
            watchers=opts.watchers,
            record_acks=True,
            label="persist-ack",
        )
        ack, run_, tally = await measure_bids(
            opts, plan, target, load, hook=_pause_hook(opts, target)
        )
        acked = max((seq for _, seq, _ in tally.acks), default=0)
        await _wait_caught_up(poller, acked)
        poller.stop.set()
        await poll_task
        rows = await _rows(target.dsn) - poller.rows_at_start
    return [ack, _lag_series(opts, target, poller, tally, run_.start_wall, rows)]


def _pause_hook(opts: Options, target: Target) -> Hook | None:
    async def pause(ctl: Controller) -> None:
        if target.proxy is None or opts.pause_db <= 0:
            return
        await ctl.sleep_until(opts.warmup_s + opts.measured_s / 3)
        target.proxy.pause()
        ctl.notes["paused_at"] = time.time()
        await asyncio.sleep(opts.pause_db)  # the outage itself
        target.proxy.resume()

    return pause if opts.pause_db > 0 else None


async def _wait_caught_up(poller: CommitPoller, acked: int) -> None:
    poller.wanted = acked
    if acked <= 0:
        return
    try:
        async with asyncio.timeout(CATCH_UP_S):
            await poller.caught_up.wait()
    except TimeoutError:
        pass  # reported as uncommitted


async def _rows(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM auction_events"))
    finally:
        await conn.close()


def _lag_series(
    opts: Options,
    target: Target,
    poller: CommitPoller,
    tally: TallySum,
    start_wall: float,
    rows: int,
) -> Series:
    hist, uncommitted, backlog = Histogram(), 0, 0
    window = (start_wall + opts.warmup_s, start_wall + opts.duration)
    acks = sorted(tally.acks, key=lambda a: a[2])
    for _, seq, acked_at in acks:
        committed = poller.committed_at(seq)
        if committed is None:
            uncommitted += 1
        elif window[0] <= acked_at < window[1]:
            hist.record(max(0.0, committed - acked_at))
    i, top = 0, 0
    for when, seq in poller.samples:  # the largest gap between acknowledged and committed
        while i < len(acks) and acks[i][2] <= when:
            top = max(top, acks[i][1])
            i += 1
        backlog = max(backlog, top - seq)
    span = (poller.samples[-1][0] - poller.samples[0][0]) if len(poller.samples) > 1 else 0.0
    series = Series(
        scenario="persist",
        engine=target.engine,
        target_rate=opts.rate,
        achieved_rate=round(rows / span, 1) if span else None,
        duration_s=opts.measured_s,
        errors=uncommitted,
        latency=hist,
        label="persist-lag",
    )
    series.extra.update(
        metric="acknowledgement → committed (poll resolution 10 ms); achievedRate = rows/s",
        ackMode=opts.ack_mode,
        rowsCommitted=rows,
        maxBacklogEvents=backlog,
        uncommittedAfterWait=uncommitted,
        pauseDbS=opts.pause_db,
        summary=(
            f"persist: {rows} rows committed, max backlog {backlog} events, "
            f"lag p99 {hist.summary_ms()['p99']} ms (ack mode {opts.ack_mode})"
        ),
    )
    return series
