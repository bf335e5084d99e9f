"""The valuation service: the provider first, then the marketplace's own sales, cached.

Books (`bidserver.pricing.Book`, one per make and model, and one per make for the widened
fallback) are cached and dropped when a sale of that make and model closes: the database
announces every sale at commit (`SalesStore.follow`), on every node, so a cached book is
never older than the last sale it should include. While that feed is down nothing is
cached (a missed announcement could leave a book stale), and every book is dropped when it
comes back. A book also expires after `MAX_BOOK_AGE_S`, so that recency weights move on in
a marketplace where nothing sells.

Building a book reads up to tens of thousands of sales and fits them; it runs on the event
loop in slices of at most `SLICE_S` (the pure fit yields between chunks), so bids and
pages never wait behind it for more than a slice. Concurrent misses share one build.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol, TypeVar

from bidserver.pricing import Book, SalesColumns, Steps, Subject, build, key, value, widen
from bidserver.pricing import Estimate as SalesEstimate
from bidserver.valuation import metrics
from bidserver.valuation.provider import Provider

log = logging.getLogger("bidserver.valuation")

CURRENCY: Final = "USD"
SLICE_S: Final = 0.001
MAX_BOOK_AGE_S: Final = 3600.0
MAX_BOOKS: Final = 4_096  # any make and model may be asked: the least recently built go
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
    seconds: float  # reading and fitting
    slices: Slices  # how the fit shared the loop


@dataclass(slots=True)
class _Entry:
    book: Book
    built_at: float  # monotonic seconds


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
        self._generation: dict[BookKey, int] = {}
        self.following = False
        self._follower: asyncio.Task[None] | None = None
        self.last_build: BuildStats | None = None  # for diagnostics and the benchmark

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
        task = self._building.get(k)
        if task is None:
            task = self._building[k] = asyncio.create_task(self._build(k))
            task.add_done_callback(lambda _t: self._building.pop(k, None))
        return await asyncio.shield(task)

    async def _build(self, k: BookKey) -> Book:
        generation = self._generation.get(k, 0)
        following = self.following
        started = time.monotonic()
        now = self._clock_ms()
        make, model = k
        sales = await self._store.sales(make, model, now - LOOKBACK_MS)
        book, slices = await drive(build(sales, make, model, now))
        took = time.monotonic() - started
        metrics.BUILD_SECONDS.observe(took)
        metrics.SLICE_SECONDS.observe(slices.longest)
        self.last_build = BuildStats(len(sales), took, slices)
        # Kept only if no sale of it closed meanwhile and closes were followed throughout.
        if following and self.following and self._generation.get(k, 0) == generation:
            self._books[k] = _Entry(book, time.monotonic())
            if len(self._books) > MAX_BOOKS:
                del self._books[next(iter(self._books))]
        return book

    def cached(self, make: str, model: str | None) -> Book | None:
        """The cached book of these keys, if any (for tests and diagnostics)."""
        entry = self._books.get((make, model))
        return None if entry is None else entry.book

    def sale_closed(self, make: str, model: str) -> None:
        """A sale of this make and model committed: its books are stale."""
        make_key, model_key = key(make), key(model)
        for k in ((make_key, model_key), (make_key, None)):
            self._books.pop(k, None)
            self._generation[k] = self._generation.get(k, 0) + 1

    def forget_all(self) -> None:
        self._books.clear()
        for k in self._building:
            self._generation[k] = self._generation.get(k, 0) + 1

    # --- following the sales ------------------------------------------------------------

    def start(self) -> None:
        self._follower = asyncio.create_task(self._follow(), name="valuation-follow-sales")

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            await asyncio.gather(self._follower, return_exceptions=True)
        for task in list(self._building.values()):
            task.cancel()
        await asyncio.gather(*self._building.values(), return_exceptions=True)
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
