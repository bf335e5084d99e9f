"""Request rate limits of the sidecar (CONTRACT §1 `BIDSERVER_HTTP_RATE_LIMIT`, §4).

Two limits, both answered with 429 `rate_limited` and `Retry-After` (whole seconds):

- **Per client IP**, every path but `/health`, `/ready` and `/metrics`: `count` requests per
  `window_s`, in fixed windows. The client is `request.remote`, the TCP peer: a
  `X-Forwarded-For` or `Forwarded` header is never trusted, since any client can send one.
  (Behind a reverse proxy every client therefore shares the proxy's budget; honouring the
  proxy's header would need an explicit trusted-proxy setting, which does not exist yet.)
  IPv6 clients are counted per /64, the block one subscriber usually holds, so one host
  cannot dodge the limit by rotating addresses inside it.
- **Per user on the bid endpoints** (`POST /auctions/{id}/bid`, `/max-bid`, `/buy-now`): a
  token bucket with the WebSocket limit's numbers (`BIDSERVER_WS_RATE_LIMIT`, sustained per
  second / burst), so a user gets the same bid rate over REST as over one socket. Applied
  here by path, so the bid routes need nothing; requests without a valid token are left to
  the handler (401) and count only against their IP.

Memory is bounded: the IP counters hold only the current window (the map is dropped when
the window turns) and at most `MAX_KEYS` clients, newcomers beyond that sharing one
overflow counter; user buckets that have refilled are swept, since a full bucket is the
same as none.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bidserver.config import Settings
from bidserver.errors import RateLimited, Unauthenticated
from httpapi.security import optional_user

EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
BID_PATH = re.compile(r"/auctions/[^/]+/(?:bid|max-bid|buy-now)/?")
MAX_KEYS = 100_000
OVERFLOW_KEY = "*overflow*"
Clock = Callable[[], float]


class FixedWindowLimiter:
    """At most `count` hits per key in each window of `window_s` seconds."""

    def __init__(
        self,
        count: int,
        window_s: float,
        *,
        max_keys: int = MAX_KEYS,
        clock: Clock = time.monotonic,
    ) -> None:
        if count <= 0 or window_s <= 0:
            raise ValueError("count and window_s must be positive")
        self.count = count
        self.window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._window = -1
        self._hits: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._hits)

    def hit(self, key: str) -> int | None:
        """Count one request; None when allowed, else the seconds until the window turns."""
        now = self._clock()
        window = int(now // self.window_s)
        if window != self._window:
            self._window = window
            self._hits = {}  # evict every old window at once
        if key not in self._hits and len(self._hits) >= self._max_keys:
            key = OVERFLOW_KEY
        hits = self._hits.get(key, 0) + 1
        self._hits[key] = hits
        if hits <= self.count:
            return None
        return max(1, math.ceil((window + 1) * self.window_s - now))


class TokenBuckets:
    """Per-key token buckets: `rate` tokens a second, holding at most `burst`."""

    def __init__(
        self, rate: float, burst: float, *, max_keys: int = MAX_KEYS, clock: Clock = time.monotonic
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._refill_s = burst / rate  # an idle bucket is full again after this long
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # key -> (tokens, at)
        self._swept_at = clock()

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: int) -> int | None:
        """Take one token; None when allowed, else the seconds until one is available."""
        now = self._clock()
        self._sweep(now)
        tokens, at = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
        self._buckets[key] = (tokens - 1, now)
        return None

    def _sweep(self, now: float) -> None:
        full = len(self._buckets) >= self._max_keys
        if not full and now - self._swept_at < self._refill_s:
            return
        self._swept_at = now
        horizon = now - self._refill_s
        self._buckets = {k: v for k, v in self._buckets.items() if v[1] > horizon}
        if len(self._buckets) >= self._max_keys:
            self._buckets.clear()  # only if MAX_KEYS users all bid within one refill time


def client_key(request: web.Request) -> str:
    """The TCP peer's address (never a forwarded header); IPv6 by its /64."""
    remote = request.remote
    if not remote:
        return "unknown"
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return remote[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def _bidder(request: web.Request) -> int | None:
    try:
        claims = optional_user(request)
    except Unauthenticated:
        return None  # the handler answers 401
    return None if claims is None else claims.user_id


def rate_limit_middleware(settings: Settings) -> Middleware:
    """The middleware for one application, with its own counters."""
    limit = settings.http_rate_limit
    per_ip = None if limit is None else FixedWindowLimiter(limit.count, limit.window_s)
    per_user = TokenBuckets(settings.ws_rate_limit.per_second, settings.ws_rate_limit.burst)

    @web.middleware
    async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in EXEMPT_PATHS:
            return await handler(request)
        if per_ip is not None:
            retry = per_ip.hit(client_key(request))
            if retry is not None:
                raise RateLimited("too many requests from this address", retryAfter=retry)
        if request.method == "POST" and BID_PATH.fullmatch(request.path):
            user = _bidder(request)
            retry = None if user is None else per_user.take(user)
            if retry is not None:
                raise RateLimited("too many bids; slow down", retryAfter=retry)
        return await handler(request)

    return rate_limit
