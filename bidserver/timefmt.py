"""Wire timestamps and the server clock.

The core counts time in integer milliseconds since the Unix epoch; the wire shows ISO-8601
UTC with millisecond precision and a `Z` suffix (`2026-11-28T10:00:00.000Z`, CONTRACT
conventions). `now_ms` is the one place the server clock is read, so tests can replace it.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from bidserver.errors import BadRequest

_EPOCH_NAIVE = datetime(1970, 1, 1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
# Longest sensible ISO-8601 text (with microseconds and an offset) is well under this.
_MAX_ISO_CHARS = 64


def now_ms() -> int:
    """The server clock, in epoch milliseconds: the only clock that decides anything."""
    return time.time_ns() // 1_000_000


def to_iso(ms: int) -> str:
    """`1795860000000` → `2026-11-28T10:00:00.000Z`; years 1..9999 (OverflowError outside)."""
    seconds, millis = divmod(ms, 1000)
    return f"{_iso_seconds(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _iso_seconds(seconds: int) -> str:
    """On the broadcast path the same few seconds are formatted over and over: cache them."""
    return (_EPOCH_NAIVE + timedelta(seconds=seconds)).isoformat(timespec="seconds")


def from_iso(text: str) -> int:
    """Parse an ISO-8601 time with `Z` or a ±hh:mm offset into epoch milliseconds.

    Sub-millisecond digits are truncated toward the past. A time without a zone is refused:
    the server cannot guess which clock the sender meant.
    """
    if not isinstance(text, str) or not 0 < len(text) <= _MAX_ISO_CHARS:
        raise BadRequest("expected an ISO-8601 time such as 2026-11-28T10:00:00.000Z")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"{text!a} is not an ISO-8601 time such as 2026-11-28T10:00:00.000Z"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise BadRequest(f"{text!a} has no time zone; add Z or an offset such as +01:00")
    return (parsed - _EPOCH) // _MS
