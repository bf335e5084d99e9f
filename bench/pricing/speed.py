"""`python -m bench.pricing speed`: a valuation of a make/model with 10,000 sales.

In one process, on a throwaway database: the Toyota Camry gets `--sales` sales (the demo's
depreciation model), the other demo models the usual history. Then, each against a
baseline measured in the same run:

- computed: `Valuer.value` with the books dropped first (`forget_books`): the book fitted
  from the sales the service keeps in memory (kept current as sales close), then the
  answer; this is every valuation after a sale of its make/model closed;
- cold: `Valuer.value` with everything dropped first (`forget_all`): read the sales,
  prepare them, fit, answer; what the first valuation of a make/model on a node costs,
  and one that comes before the background refresh after a sale is done; beside it, the
  read alone (`PgSales.sales`), the part the database takes;
- cached: `Valuer.value` on a cached book, any year and mileage;
- over HTTP: `GET /valuations` cached and computed through the real sidecar, against
  `GET /health` (the sidecar's own floor) from the same client;
- loop lag: a probe asks the loop for a 1 ms timer over and over; how late it fires while
  valuations are computed, against the same probe on an idle loop; and the fit's own
  slices (the longest the loop was held), in wall time and in this thread's CPU time, so
  that a machine busy with other work (which preempts the process) is told apart from the
  fit holding the loop.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from aiohttp import web

from bench.db import BenchDatabase
from bidserver import demo_history
from bidserver.config import load_settings
from bidserver.engine.router import Router
from bidserver.health import Readiness
from bidserver.pricing import Subject
from bidserver.timefmt import now_ms
from bidserver.valuation.service import Valuer
from bidserver.wiring import Engine
from httpapi.app import create_app
from httpapi.keys import VALUER
from storage.migrate import migrate
from storage.pool import create_pool
from storage.sales import PgSales

MAKE, MODEL = "Toyota", "Camry"
SECRET = "bench-pricing-secret-bench-pricing-secret"
TARGETS = {"computed": 50.0, "cached": 5.0, "lag": 5.0}


@dataclass
class Series:
    name: str
    ms: list[float] = field(default_factory=list)
    target: float | None = None

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.ms)

        def at(q: float) -> float:
            return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

        return {"n": len(ordered), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99),
                "max": ordered[-1]}  # fmt: skip


class LagProbe:
    """How late a 1 ms timer fires: the loop's lag, sampled for as long as it runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.001)
            self.samples.append((time.perf_counter() - started) * 1000 - 1.0)

    async def during(self, work: Callable[[], Awaitable[None]]) -> list[float]:
        self.samples = []
        self._task = asyncio.create_task(self._run())
        try:
            await work()
        finally:
            self._task.cancel()
        return self.samples


async def _load(dsn: str, sales: int) -> None:
    now = datetime.now(UTC)
    camrys = demo_history.history(now, size=sales, seed=1, only=(MAKE, MODEL))
    others = [s for s in demo_history.history(now) if (s.make, s.model) != (MAKE, MODEL)]
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table(
            "sales",
            records=[
                (s.make, s.model, s.year, s.mileage, s.price, s.sold_at, "history")
                for s in camrys + others
            ],
            columns=("make", "model", "year", "mileage", "price", "sold_at", "source"),
        )
        await conn.execute("VACUUM ANALYZE sales")  # as autovacuum would, soon after
    finally:
        await conn.close()


def _subject(rng: random.Random) -> Subject:
    year = rng.randint(2008, 2025)
    return Subject(MAKE, MODEL, year, rng.randint(2_000, 15_000) * max(1, 2026 - year))


async def _timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append((time.perf_counter() - started) * 1000)
    return out


async def _in_process(valuer: Valuer, store: PgSales, args: argparse.Namespace) -> list[Series]:
    rng = random.Random(14)
    probe = LagProbe()
    idle_lag = Series("loop lag, idle (baseline)", await _for(probe, 1.0))
    computed = Series("computed: Valuer.value, books dropped", target=TARGETS["computed"])
    cpu = Series("  its CPU time in this process (fit, answer)")
    held = Series("  longest slice of the fit, wall time", target=TARGETS["lag"])
    held_cpu = Series("  longest slice of the fit, CPU time", target=TARGETS["lag"])
    cold = Series("cold: Valuer.value, sales and books dropped (baseline)")
    cold_cpu = Series("  its CPU time in this process (decode, prepare, fit, answer)")
    read = Series("  the read alone: PgSales.sales")

    async def compute(series: Series, cpu: Series, forget: Callable[[], None]) -> None:
        for _ in range(args.rounds):
            forget()
            started, started_cpu = time.perf_counter(), time.thread_time()
            await valuer.value(_subject(rng))
            series.ms.append((time.perf_counter() - started) * 1000)
            cpu.ms.append((time.thread_time() - started_cpu) * 1000)
            assert valuer.last_build is not None
            if series is computed:
                held.ms.append(valuer.last_build.slices.longest * 1000)
                held_cpu.ms.append(valuer.last_build.slices.longest_cpu * 1000)

    cold_lag = Series("loop lag while cold", await probe.during(
        lambda: compute(cold, cold_cpu, valuer.forget_all)), TARGETS["lag"])  # fmt: skip
    await valuer.value(_subject(rng))  # the sales in memory from here on
    busy_lag = Series("loop lag while computing", await probe.during(
        lambda: compute(computed, cpu, valuer.forget_books)), TARGETS["lag"])  # fmt: skip
    read.ms = await _timed(args.rounds, lambda: store.sales("toyota", "camry", 0))
    await valuer.value(_subject(rng))  # a cached book from here on
    cached = Series("cached: Valuer.value", target=TARGETS["cached"])
    cached.ms = await _timed(args.cached, lambda: valuer.value(_subject(rng)))
    return [computed, cpu, held, held_cpu, cold, cold_cpu, read, cached, busy_lag, cold_lag,
            idle_lag]  # fmt: skip


async def _for(probe: LagProbe, seconds: float) -> list[float]:
    return await probe.during(lambda: asyncio.sleep(seconds))


async def _over_http(pool: asyncpg.Pool, dsn: str, args: argparse.Namespace) -> list[Series]:
    settings = load_settings({"BIDSERVER_DATABASE_URL": dsn, "BIDSERVER_JWT_SECRET": SECRET,
                              "BIDSERVER_HTTP_RATE_LIMIT": "0"})  # fmt: skip
    engine = Engine(pool)
    app = create_app(settings, dsn, SECRET.encode(), Readiness(pool), Router(engine.registry))
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    rng = random.Random(15)
    try:
        async with aiohttp.ClientSession() as http:
            await _until_following(app[VALUER])

            async def get(path: str, params: dict[str, str] | None = None) -> None:
                async with http.get(base + path, params=params) as response:
                    await response.read()
                    assert response.status == 200, response.status

            def query() -> dict[str, str]:
                s = _subject(rng)
                return {"make": s.make, "model": s.model, "year": str(s.year),
                        "mileage": str(s.mileage)}  # fmt: skip

            health = Series("GET /health (baseline)")
            health.ms = await _timed(args.cached, lambda: get("/health"))
            cached = Series("GET /valuations, cached", target=TARGETS["cached"])
            await get("/valuations", query())
            cached.ms = await _timed(args.cached, lambda: get("/valuations", query()))

            def fresh(forget: Callable[[], None]) -> Callable[[], Awaitable[None]]:
                async def call() -> None:
                    forget()
                    await get("/valuations", query())

                return call

            computed = Series("GET /valuations, computed", target=TARGETS["computed"])
            computed.ms = await _timed(args.rounds, fresh(app[VALUER].forget_books))
            cold = Series("GET /valuations, cold (baseline)")
            cold.ms = await _timed(args.rounds, fresh(app[VALUER].forget_all))
    finally:
        await runner.cleanup()
    return [computed, cold, cached, health]


async def _until_following(valuer: Valuer) -> None:
    async with asyncio.timeout(10):
        while not valuer.following:  # noqa: ASYNC110 (a flag of the service, polled)
            await asyncio.sleep(0.01)


def _print(series: list[Series], args: argparse.Namespace) -> None:
    print(f"\n{MAKE} {MODEL}: {args.sales:,} sales; times in ms\n")
    print("| measure | n | p50 | p90 | p99 | max | target (p99) |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for s in series:
        m = s.summary()
        target = "" if s.target is None else f"≤ {s.target:g}"
        print(f"| {s.name} | {m['n']:,} | {m['p50']:.2f} | {m['p90']:.2f} | {m['p99']:.2f} |"
              f" {m['max']:.2f} | {target} |")  # fmt: skip


def _settle_heap() -> None:
    """As a node does at start-up (`bidserver.node`): start-up objects frozen out of the
    collector, gen-0 threshold 5,000."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, *gc.get_threshold()[1:])


async def run_speed(args: argparse.Namespace) -> int:
    db = await BenchDatabase.create(args.dsn, embedded=args.embedded)
    try:
        await migrate(db.dsn)
        await _load(db.dsn, args.sales)
        pool = await create_pool(db.dsn, min_size=2, max_size=10)
        store = PgSales(pool, db.dsn)
        valuer = Valuer(store, None, clock_ms=now_ms)
        valuer.start()
        try:
            await _until_following(valuer)
            _settle_heap()
            series = await _in_process(valuer, store, args)
            series += await _over_http(pool, db.dsn, args)
        finally:
            await valuer.close()
            await pool.close()
    finally:
        await db.drop()
    _print(series, args)
    if args.json:
        _write_json(args.json, series)
    return 0


def _write_json(path: str, series: list[Series]) -> None:
    figures = [{"name": s.name, "targetMs": s.target, **s.summary()} for s in series]
    Path(path).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
