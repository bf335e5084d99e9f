"""The external pricing provider of `BIDSERVER_PRICING_URL` (CONTRACT §8).

`GET {url}?vin=&make=&model=&year=&mileage=` → {`estimate`, `low`, `high`} in whole
currency units. It is asked first, and trusted only within limits: one second for the whole
call, a body of at most 64 KiB, integers from 1 to 10^12 with low ≤ estimate ≤ high, or
the answer is ignored and the sales basis answers instead. A provider that keeps failing is
not asked at all for a while (`bidserver.pricing.Breaker`); answers are cached for
`CACHE_TTL_S`, and concurrent asks for the same vehicle share one call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import aiohttp

from bidserver.pricing import Breaker, Subject, key
from bidserver.valuation import metrics

log = logging.getLogger("bidserver.valuation.provider")

TIMEOUT_S: Final = 1.0
MAX_BODY_BYTES: Final = 64 * 1024
CACHE_TTL_S: Final = 600.0
CACHE_SIZE: Final = 10_000
MAX_UNITS: Final = 10**12


@dataclass(frozen=True, slots=True)
class Quote:
    estimate: int
    low: int
    high: int
    comparables: int  # what the provider says it rests on; 0 when it does not say
    at_ms: int  # when it answered


class Garbage(ValueError):
    """The provider answered something that is not a valuation."""


class BadStatus(Exception):
    """The provider answered with an HTTP status other than 200."""


_Key = tuple[str, str, str, int, int]


class Provider:
    """One provider URL, its breaker, its cache; `session` belongs to the caller."""

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        *,
        clock_ms: Callable[[], int],
        breaker: Breaker | None = None,
        timeout_s: float = TIMEOUT_S,
        ttl_s: float = CACHE_TTL_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.breaker = breaker or Breaker()
        self._session = session
        self._clock_ms = clock_ms
        self._monotonic = monotonic
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ttl_s = ttl_s
        self._cache: OrderedDict[_Key, tuple[float, Quote]] = OrderedDict()
        self._asking: dict[_Key, asyncio.Task[Quote | None]] = {}

    async def quote(self, subject: Subject, vin: str | None) -> Quote | None:
        """The provider's valuation, or None when it has none to give right now."""
        k: _Key = (vin or "", key(subject.make), key(subject.model), subject.year, subject.mileage)
        cached = self._cached(k)
        if cached is not None:
            metrics.CACHE.labels("provider", "hit").inc()
            return cached
        metrics.CACHE.labels("provider", "miss").inc()
        task = self._asking.get(k)
        if task is None:
            if not self.breaker.allow(self._monotonic()):
                metrics.PROVIDER_FAILURES.labels("open").inc()
                return None
            task = self._asking[k] = asyncio.create_task(self._ask(k, subject, vin))
            task.add_done_callback(lambda _t: self._asking.pop(k, None))
        return await asyncio.shield(task)  # a caller that gives up leaves the call to others

    def _cached(self, k: _Key) -> Quote | None:
        found = self._cache.get(k)
        if found is None:
            return None
        expires, quote = found
        if self._monotonic() >= expires:
            del self._cache[k]
            return None
        self._cache.move_to_end(k)
        return quote

    async def _ask(self, k: _Key, subject: Subject, vin: str | None) -> Quote | None:
        started = time.perf_counter()
        try:
            quote = await self._call(subject, vin)
        except Exception as exc:
            reason = _reason(exc)
            metrics.PROVIDER_FAILURES.labels(reason).inc()
            self.breaker.failed(self._monotonic())
            log.warning("pricing provider failed", extra={"reason": reason, "error": str(exc)})
            return None
        finally:
            metrics.PROVIDER_SECONDS.observe(time.perf_counter() - started)
        self.breaker.succeeded()
        self._cache[k] = (self._monotonic() + self._ttl_s, quote)
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return quote

    async def _call(self, subject: Subject, vin: str | None) -> Quote:
        params = {
            "vin": vin or "",
            "make": subject.make,
            "model": subject.model,
            "year": str(subject.year),
            "mileage": str(subject.mileage),
        }
        async with self._session.get(
            self.url, params=params, timeout=self._timeout, allow_redirects=False
        ) as response:
            if response.status != 200:
                raise BadStatus(f"status {response.status}")
            body = await _read_limited(response)
        return parse(body, self._clock_ms())

    async def close(self) -> None:
        """Cancel the calls in flight (their waiters get None from the sales basis instead)."""
        for task in list(self._asking.values()):
            task.cancel()
        await asyncio.gather(*self._asking.values(), return_exceptions=True)


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    if (response.content_length or 0) > MAX_BODY_BYTES:
        raise Garbage("body over 64 KiB")
    body = bytearray()
    async for chunk in response.content.iter_chunked(16 * 1024):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise Garbage("body over 64 KiB")
    return bytes(body)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, BadStatus):
        return "status"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return "unreachable"
    return "garbage"


def parse(body: bytes, now_ms: int) -> Quote:
    """A provider's answer, checked: money as integers in range and in order."""
    try:
        data: Any = json.loads(body)
    except (ValueError, RecursionError):
        raise Garbage("not JSON") from None
    if not isinstance(data, dict):
        raise Garbage("not a JSON object")
    estimate, low, high = (_units(data, name) for name in ("estimate", "low", "high"))
    if not low <= estimate <= high:
        raise Garbage("low ≤ estimate ≤ high does not hold")
    comparables = data.get("comparables")
    if type(comparables) is not int or comparables < 0:
        comparables = 0
    return Quote(estimate, low, high, comparables, now_ms)


def _units(data: dict[str, Any], name: str) -> int:
    value = data.get(name)
    if type(value) is not int or not 0 < value <= MAX_UNITS:
        raise Garbage(f"{name} is not a whole number of currency units from 1 to 10^12")
    return value
