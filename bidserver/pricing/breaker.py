"""A circuit breaker for the external pricing provider: a state machine, the clock passed in.

Closed: every call goes through; `failures_to_open` failures in a row open it. Open: no
call for `cool_down_s`, so a provider that is down costs nobody a one-second timeout.
Then half-open: one trial call at a time; its success closes the breaker, its failure opens
it again for another cool-down. A trial whose outcome never comes back (its caller was
cancelled) stops counting after a cool-down, so the breaker cannot stay shut for good.
"""

from __future__ import annotations

from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class Breaker:
    __slots__ = ("_failures", "_opened_at", "_trial_at", "cool_down_s", "failures_to_open")

    def __init__(self, failures_to_open: int = 5, cool_down_s: float = 30.0) -> None:
        self.failures_to_open = failures_to_open
        self.cool_down_s = cool_down_s
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_at: float | None = None

    def state(self, now: float) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if now - self._opened_at < self.cool_down_s:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    def allow(self, now: float) -> bool:
        """May a call go out now? (In half-open, True claims the one trial.)"""
        state = self.state(now)
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        if self._trial_at is not None and now - self._trial_at < self.cool_down_s:
            return False
        self._trial_at = now
        return True

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._trial_at = None

    def failed(self, now: float) -> None:
        self._failures += 1
        self._trial_at = None
        if self._opened_at is not None or self._failures >= self.failures_to_open:
            self._opened_at = now
