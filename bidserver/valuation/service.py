"""The valuation service: the provider first, then the marketplace's own sales, cached.

Two caches, per make and model (and per make, for the widened fallback):

- the sales, read and prepared (`bidserver.pricing.Prepared`: logs, ages, mileages,
  weights; most of a book's cost), kept in memory;
- the books fitted from them (`bidserver.pricing.Book`), as of when they were fitted.

Both are dropped when a sale of that make and model closes: the database announces every
sale at commit (`SalesStore.follow`), on every node, so nothing cached is older than the
last sale it should include. The sales of a key this node had in memory are then read and
prepared again at once, in the background, so that the next valuation of it only fits a
book (a valuation that comes before the refresh is done waits for it). While the feed is
down nothing is cached (a missed announcement could leave either stale), and everything is
dropped when it comes back. Both also expire after `MAX_BOOK_AGE_S`, so that recency
weights and the look-back window move on in a marketplace where nothing sells.

Reading, preparing and fitting run on the event loop in slices of at most `SLICE_S` (the
pure model yields between chunks), so bids and pages never wait behind them for more than
a slice. Concurrent misses share one read and one build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar

from bidserver.pricing import (
    Book,
    Prepared,
    SalesColumns,
    Steps,
    Subject,
    build_prepared,
    key,
    prepare,
    value,
    widen,
)
from bidserver.pricing import Estimate as SalesEstimate
from bidserver.valuation import metrics
from bidserver.valuation.provider import Provider

log = logging.getLogger("bidserver.valuation")

CURRENCY: Final = "USD"
SLICE_S: Final = 0.001
MAX_BOOK_AGE_S: Final = 3600.0
MAX_BOOKS: Final = 4_096  # any make and model may be asked: the least recently built go
MAX_SALES_KEPT: Final = 2_000_000  # sales kept prepared in memory, over all makes and models
LOOKBACK_MS: Final = 6 * 365 * 86_400_000  # older sales weigh under 2 % (half-life a year)
_RETRY_FIRST_S: Final = 0.5
_RETRY_MAX_S: Final = 10.0

T = TypeVar("T")
BookKey = tuple[str, str | None]  # (make key, model key or None for the whole make)


class SalesStore(Protocol):
    """Where the sales come from (`storage.sales.PgSales`)."""

    async def sales(self, make: str, model: str | None, since_ms: int) -> SalesColumns: ...

    async def follow(
        self, on_sale: Callable[[str, str], None], on_following: Callable[[], None]
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class Valuation:
    """CONTRACT §8's answer: whole currency units, or None throughout for `basis: none`."""

    basis: str  # "sales", "provider" or "none"
    estimate: int | None
    low: int | None
    high: int | None
    comparables: int
    as_of: int  # epoch ms: when the sales were read, or the provider answered
    scope: str | None = None  # "model" or "make" for the sales basis
    currency: str = CURRENCY


@dataclass(frozen=True, slots=True)
class BuildStats:
    sales: int
    seconds: float  # fitting (or reading and preparing, for `last_read`)
    slices: Slices  # how it shared the loop


@dataclass(slots=True)
class _Entry:
    book: Book
    built_at: float  # monotonic seconds


@dataclass(slots=True)
class _Sales:
    prepared: Prepared
    read_at: float  # monotonic seconds


class Valuer:
    def __init__(
        self,
        store: SalesStore,
        provider: Provider | None,
        *,
        clock_ms: Callable[[], int],
    ) -> None:
        self._store = store
        self._provider = provider
        self._clock_ms = clock_ms
        self._books: dict[BookKey, _Entry] = {}
        self._building: dict[BookKey, asyncio.Task[Book]] = {}
        self._sales: dict[BookKey, _Sales] = {}
        self._reading: dict[BookKey, asyncio.Task[Prepared]] = {}
        self._sales_kept = 0
        self._refreshing: set[BookKey] = set()  # keys read again after a sale, under way
        self._again: set[BookKey] = set()  # … and to be read once more after that
        self._closing = False
        self._generation: dict[BookKey, int] = {}
        self.following = False
        self._follower: asyncio.Task[None] | None = None
        self.last_build: BuildStats | None = None  # for diagnostics and the benchmark
        self.last_read: BuildStats | None = None

    # --- answering ----------------------------------------------------------------------

    async def value(self, subject: Subject, vin: str | None = None) -> Valuation:
        """The provider's answer if it gives one within its second, else the sales'."""
        answer = None
        if self._provider is not None:
            quote = await self._provider.quote(subject, vin)
            if quote is not None:
                answer = Valuation(
                    "provider", quote.estimate, quote.low, quote.high, quote.comparables,
                    quote.at_ms,
                )  # fmt: skip
        if answer is None:
            answer = await self._from_sales(subject)
        metrics.VALUATIONS.labels(answer.basis).inc()
        return answer

    async def _from_sales(self, subject: Subject) -> Valuation:
        now = self._clock_ms()
        make, model = key(subject.make), key(subject.model)
        own_book = await self.book(make, model)
        found = value(own_book, subject, now)
        as_of = own_book.as_of
        if not found.usable:
            make_book = await self.book(make, None)
            found = widen(found, value(make_book, subject, now))
            as_of = max(as_of, make_book.as_of) if found.usable else as_of
        return _sales_answer(found, as_of)

    # --- the cache ----------------------------------------------------------------------

    async def book(self, make: str, model: str | None) -> Book:
        """The cached book of a make (model None) or a make and model (keys), built if
        missing; concurrent callers share one build."""
        k: BookKey = (make, model)
        entry = self._books.get(k)
        if entry is not None and time.monotonic() - entry.built_at < MAX_BOOK_AGE_S:
            metrics.CACHE.labels("books", "hit").inc()
            return entry.book
        metrics.CACHE.labels("books", "miss").inc()
        return await _shared(self._building, k, self._build)

    async def _build(self, k: BookKey) -> Book:
        generation = self._generation.get(k, 0)
        following = self.following
        prepared = await self.sales(k)
        started = time.monotonic()
        book, slices = await drive(build_prepared(prepared, *k, self._clock_ms()))
        took = time.monotonic() - started
        metrics.BUILD_SECONDS.observe(took)
        metrics.SLICE_SECONDS.observe(slices.longest)
        self.last_build = BuildStats(len(prepared), took, slices)
        # Kept only if no sale of it closed meanwhile and closes were followed throughout.
        if following and self.following and self._generation.get(k, 0) == generation:
            self._books[k] = _Entry(book, time.monotonic())
            if len(self._books) > MAX_BOOKS:
                del self._books[next(iter(self._books))]
        return book

    async def sales(self, k: BookKey) -> Prepared:
        """The prepared sales of these keys, from memory, else read (shared by callers)."""
        found = self._sales.get(k)
        if found is not None and time.monotonic() - found.read_at < MAX_BOOK_AGE_S:
            metrics.CACHE.labels("sales", "hit").inc()
            return found.prepared
        metrics.CACHE.labels("sales", "miss").inc()
        return await _shared(self._reading, k, self._read)

    async def _read(self, k: BookKey) -> Prepared:
        generation = self._generation.get(k, 0)
        following = self.following
        started = time.monotonic()
        make, model = k
        read = await self._store.sales(make, model, self._clock_ms() - LOOKBACK_MS)
        prepared, slices = await drive(prepare(read))
        self.last_read = BuildStats(len(read), time.monotonic() - started, slices)
        metrics.SLICE_SECONDS.observe(slices.longest)
        if following and self.following and self._generation.get(k, 0) == generation:
            self._keep_sales(k, prepared)
        return prepared

    def _keep_sales(self, k: BookKey, prepared: Prepared) -> None:
        self._drop_sales(k)
        self._sales[k] = _Sales(prepared, time.monotonic())
        self._sales_kept += len(prepared)
        while self._sales_kept > MAX_SALES_KEPT and len(self._sales) > 1:
            self._drop_sales(next(iter(self._sales)))  # the longest kept

    def _drop_sales(self, k: BookKey) -> bool:
        gone = self._sales.pop(k, None)
        if gone is not None:
            self._sales_kept -= len(gone.prepared)
        return gone is not None

    def cached(self, make: str, model: str | None) -> Book | None:
        """The cached book of these keys, if any (for tests and diagnostics)."""
        entry = self._books.get((make, model))
        return None if entry is None else entry.book

    def kept_sales(self, make: str, model: str | None) -> Prepared | None:
        """The sales of these keys kept in memory, if any (for tests and diagnostics)."""
        found = self._sales.get((make, model))
        return None if found is None else found.prepared

    def sale_closed(self, make: str, model: str) -> None:
        """A sale of this make and model committed: its books and sales are stale; the
        sales this node had in memory are read again now, in the background."""
        make_key, model_key = key(make), key(model)
        for k in ((make_key, model_key), (make_key, None)):
            self._books.pop(k, None)
            self._generation[k] = self._generation.get(k, 0) + 1
            held = self._drop_sales(k) or k in self._refreshing
            if held and self.following:
                self._refresh(k)

    def _refresh(self, k: BookKey) -> None:
        """Read these keys' sales again, in the background: at most one read at a time per
        key, and one more after it if sales closed meanwhile (it may not include them)."""
        if k in self._refreshing:
            self._again.add(k)
            return
        self._refreshing.add(k)
        # (a read under way for a valuation may predate the sale: this one replaces it)
        _start(self._reading, k, self._read).add_done_callback(lambda t: self._refreshed(k, t))

    def _refreshed(self, k: BookKey, task: asyncio.Task[Prepared]) -> None:
        self._refreshing.discard(k)
        _quietly(task)
        if k in self._again:
            self._again.discard(k)
            if self.following and not self._closing:
                self._refresh(k)

    def forget_books(self) -> None:
        """Drop every book, keeping the sales in memory (the benchmark's computed case)."""
        self._books.clear()
        for k in self._building:
            self._generation[k] = self._generation.get(k, 0) + 1

    def forget_all(self) -> None:
        self._books.clear()
        self._sales.clear()
        self._sales_kept = 0
        for k in (*self._building, *self._reading):
            self._generation[k] = self._generation.get(k, 0) + 1

    # --- following the sales ------------------------------------------------------------

    def start(self) -> None:
        self._follower = asyncio.create_task(self._follow(), name="valuation-follow-sales")

    async def close(self) -> None:
        self._closing = True
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        tasks = [*self._building.values(), *self._reading.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._provider is not None:
            await self._provider.close()

    async def _follow(self) -> None:
        """Follow closed sales for good: reconnect with back-off whenever the feed breaks."""
        delay = _RETRY_FIRST_S
        while True:
            try:
                await self._store.follow(self.sale_closed, self._following)
                delay = _RETRY_FIRST_S
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("sales feed lost", extra={"error": str(exc)})
            self._set_following(False)
            await asyncio.sleep(delay)  # back-off before reconnecting, not synchronisation
            delay = min(delay * 2, _RETRY_MAX_S)

    def _following(self) -> None:
        # Whatever closed while the feed was down was not announced to this node.
        self.forget_all()
        self._set_following(True)

    def _set_following(self, on: bool) -> None:
        if not on:
            self.forget_all()
        self.following = on
        metrics.FOLLOWING.set(1 if on else 0)


K = TypeVar("K")


async def _shared(
    running: dict[K, asyncio.Task[T]], k: K, work: Callable[[K], Coroutine[Any, Any, T]]
) -> T:
    """`work(k)`, or the run of it already under way: one task per key, shared by every
    caller (none of them cancels it by going away)."""
    task = running.get(k)
    if task is None:
        task = _start(running, k, work)
    return await asyncio.shield(task)


def _start(
    running: dict[K, asyncio.Task[T]], k: K, work: Callable[[K], Coroutine[Any, Any, T]]
) -> asyncio.Task[T]:
    """A new run of `work(k)`, the one later callers of `_shared` join."""
    task = running[k] = asyncio.create_task(work(k))
    task.add_done_callback(lambda t: running.pop(k) if running.get(k) is t else None)
    return task


def _quietly(task: asyncio.Task[Any]) -> None:
    """A background refresh's failure is logged; the next valuation reads again."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("sales refresh failed", extra={"error": str(task.exception())})


@dataclass(slots=True)
class Slices:
    """How a computation shared the loop: its longest slice in wall time (what the loop's
    other work waited, preemption by the OS included) and in this thread's CPU time (what
    the computation itself took), in seconds."""

    longest: float = 0.0
    longest_cpu: float = 0.0
    count: int = 0

    def add(self, wall: float, cpu: float) -> None:
        self.longest = max(self.longest, wall)
        self.longest_cpu = max(self.longest_cpu, cpu)
        self.count += 1


async def drive(steps: Steps[T]) -> tuple[T, Slices]:
    """Run a stepwise computation on the loop, handing the loop back every SLICE_S."""
    slices = Slices()
    started, started_cpu = time.perf_counter(), time.thread_time()
    while True:
        try:
            next(steps)
        except StopIteration as done:
            slices.add(time.perf_counter() - started, time.thread_time() - started_cpu)
            result: T = done.value
            return result, slices
        now = time.perf_counter()
        if now - started >= SLICE_S:
            slices.add(now - started, time.thread_time() - started_cpu)
            await asyncio.sleep(0)
            started, started_cpu = time.perf_counter(), time.thread_time()


def _sales_answer(found: SalesEstimate, as_of: int) -> Valuation:
    if not found.usable or found.scope is None:
        return Valuation("none", None, None, None, found.comparables, as_of)
    return Valuation(
        "sales", found.estimate, found.low, found.high, found.comparables, as_of,
        found.scope.value,
    )  # fmt: skip
