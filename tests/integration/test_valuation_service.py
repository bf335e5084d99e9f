"""The valuation service over the real sales record: cached per make/model, refreshed when a
sale of that make/model closes (announced by the database at commit), never cached while
it cannot hear of closes, and computing in slices that hand the event loop back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import asyncpg
import pytest
import pytest_asyncio

from bidserver.pricing import SalesColumns, Subject, key
from bidserver.timefmt import now_ms
from bidserver.valuation.service import Valuer
from storage.sales import PgSales
from tests.pricing_support import eventually, load_history, new_make, sold_auction


class CountedSales(PgSales):
    """The real store, counting its reads (so a test can tell a cache hit from a miss), and
    able to hold a read until released."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        super().__init__(pool, dsn)
        self.reads = 0
        self.hold: asyncio.Event | None = None
        self.reading = asyncio.Event()

    async def sales(self, make: str, model: str | None, since_ms: int) -> SalesColumns:
        self.reads += 1
        found = await super().sales(make, model, since_ms)
        self.reading.set()
        if self.hold is not None:
            await self.hold.wait()
        return found


Setup = tuple[Valuer, CountedSales]


@pytest_asyncio.fixture
async def valuer(db: asyncpg.Pool, pg_dsn: str) -> AsyncIterator[Setup]:
    store = CountedSales(db, pg_dsn)
    service = Valuer(store, None, clock_ms=now_ms)
    service.start()
    try:
        await eventually(_is(lambda: service.following), what="following the sales")
        yield service, store
    finally:
        await service.close()


def _is(predicate: Callable[[], bool]) -> Callable[[], asyncio.Future[bool]]:
    async def check() -> bool:
        return predicate()

    return check  # type: ignore[return-value]


async def test_sales_answer_and_the_book_is_cached(valuer: Setup, db: asyncpg.Pool) -> None:
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 120)
    before = now_ms()
    first = await service.value(Subject(make, "Camry", 2018, 70_000))
    assert first.basis == "sales"
    assert first.scope == "model"
    assert first.estimate
    assert first.low
    assert first.high
    assert first.low <= first.estimate <= first.high
    assert first.comparables >= 5
    assert first.currency == "USD"
    assert first.as_of >= before
    again = await service.value(Subject(make.upper(), " camry ", 2018, 90_000))
    assert store.reads == 1  # the same book, whatever the spelling
    assert again.estimate is not None
    assert again.estimate < first.estimate


async def test_too_few_sales_answer_none(valuer: Setup, db: asyncpg.Pool) -> None:
    service, _ = valuer
    make = new_make()
    for _ in range(3):
        await sold_auction(db, make, "Niva")
    got = await service.value(Subject(make, "Niva", 2018, 60_000))
    assert (got.basis, got.estimate, got.low, got.high, got.comparables) == (
        "none", None, None, None, 3,
    )  # fmt: skip


async def test_a_closed_sale_refreshes_its_make_and_model_only(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 40, years=(2018, 2018))
    await load_history(db, make, "Corolla", 40, years=(2018, 2018), seed=2)
    camry, corolla = Subject(make, "Camry", 2018, 60_000), Subject(make, "Corolla", 2018, 60_000)
    before = await service.value(camry)
    await service.value(corolla)
    assert (before.comparables, store.reads) == (40, 2)
    await sold_auction(db, make, "Camry", year=2018, price=99_000)
    await eventually(
        _is(lambda: service.cached(key(make), "camry") is None), what="the Camry book dropped"
    )
    after = await service.value(camry)
    assert after.comparables == 41
    assert after.as_of > before.as_of
    await service.value(corolla)
    assert store.reads == 3  # the Corolla book was kept


async def test_a_sale_closing_during_a_build_keeps_that_book_out_of_the_cache(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 30, years=(2018, 2018))
    store.hold = asyncio.Event()
    pending = asyncio.create_task(service.value(Subject(make, "Camry", 2018, 60_000)))
    await store.reading.wait()
    service.sale_closed(make, "Camry")  # as the feed would report it
    store.hold.set()
    store.hold = None
    assert (await pending).comparables == 30
    assert service.cached(key(make), "camry") is None
    await service.value(Subject(make, "Camry", 2018, 60_000))
    assert service.cached(key(make), "camry") is not None


async def test_nothing_is_cached_while_closes_cannot_be_heard(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    """The feed's connection is killed by the database: the cache empties and stays empty
    until the feed is back; then it fills again."""
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 30, years=(2018, 2018))
    subject = Subject(make, "Camry", 2018, 60_000)
    await service.value(subject)
    assert service.cached(key(make), "camry") is not None
    killed = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE query LIKE 'LISTEN%' AND datname = current_database()"
    )
    assert killed >= 1
    await eventually(_is(lambda: not service.following), what="noticing the lost feed")
    assert service.cached(key(make), "camry") is None
    assert service.kept_sales(key(make), "camry") is None
    await service.value(subject)
    assert service.cached(key(make), "camry") is None or service.following
    await eventually(_is(lambda: service.following), what="following again")
    reads = store.reads
    await service.value(subject)
    await service.value(subject)
    assert store.reads == reads + 1
    assert service.cached(key(make), "camry") is not None


async def test_a_big_book_is_built_in_slices_that_let_the_loop_run(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    """10,000 sales: while the book is built, other tasks keep getting turns."""
    service, _ = valuer
    make = new_make()
    await load_history(db, make, "Camry", 10_000, years=(2010, 2024))
    turns = 0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal turns
        while not done.is_set():
            turns += 1
            await asyncio.sleep(0)

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    started = turns
    got = await service.book(key(make), "camry")
    done.set()
    await ticking
    assert got.size == 10_000
    assert turns - started >= 3


async def test_the_cache_holds_a_bounded_number_of_books(
    valuer: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Anyone may ask for any make and model: the cache keeps the latest MAX_BOOKS."""
    service, _ = valuer
    monkeypatch.setattr("bidserver.valuation.service.MAX_BOOKS", 3)
    make = new_make()
    for n in range(5):
        await service.value(Subject(make, f"Model{n}", 2018, 60_000))
    asked = [(key(make), f"model{n}") for n in range(5)] + [(key(make), None)]
    held = [k for k in asked if service.cached(*k) is not None]
    assert len(held) == 3
    assert (key(make), "model4") in held  # the latest stays


async def test_sales_are_kept_in_memory_and_read_again_as_a_sale_closes(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    """A book is fitted from the sales kept in memory (no read); a closed sale has them read
    again at once, in the background, so the next valuation reads nothing either."""
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 40, years=(2018, 2018))
    camry = Subject(make, "Camry", 2018, 60_000)
    assert (await service.value(camry)).comparables == 40
    service.forget_books()
    assert (await service.value(camry)).comparables == 40
    assert store.reads == 1  # the second book was fitted from memory
    await sold_auction(db, make, "Camry", year=2018, price=31_000)

    def refreshed() -> bool:
        kept = service.kept_sales(key(make), "camry")
        return kept is not None and len(kept) == 41

    await eventually(_is(refreshed), what="the Camry sales read again")
    assert store.reads == 2
    assert (await service.value(camry)).comparables == 41
    assert store.reads == 2


async def test_the_sales_kept_in_memory_are_bounded(
    valuer: Setup, db: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, _ = valuer
    monkeypatch.setattr("bidserver.valuation.service.MAX_SALES_KEPT", 50)
    make = new_make()
    for n in range(3):
        await load_history(db, make, f"Model{n}", 20, years=(2018, 2018), seed=n)
        await service.value(Subject(make, f"Model{n}", 2018, 60_000))
    kept = [service.kept_sales(key(make), f"model{n}") for n in range(3)]
    assert kept[0] is None  # the longest kept went first
    assert kept[2] is not None
    assert sum(len(k) for k in kept if k is not None) <= 50


async def test_a_burst_of_closed_sales_reads_a_model_again_twice_not_once_each(
    valuer: Setup, db: asyncpg.Pool
) -> None:
    """Nine more sales announced while the first re-read is under way: that read may not
    include them, so one more read follows it (not one per sale), and its sales are kept."""
    service, store = valuer
    make = new_make()
    await load_history(db, make, "Camry", 30, years=(2018, 2018))
    await service.value(Subject(make, "Camry", 2018, 60_000))
    store.hold = asyncio.Event()
    store.reading.clear()
    service.sale_closed(make, "Camry")  # as the feed would report it
    await store.reading.wait()
    for _ in range(9):
        service.sale_closed(make, "Camry")
    store.hold.set()
    store.hold = None
    await eventually(
        _is(lambda: service.kept_sales(key(make), "camry") is not None),
        what="the Camry sales kept again",
    )
    assert store.reads == 3
