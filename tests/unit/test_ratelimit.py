"""The sidecar's limiters on a fake clock: windows, buckets and bounded memory."""

from __future__ import annotations

import pytest

from httpapi.ratelimit import OVERFLOW_KEY, FixedWindowLimiter, TokenBuckets


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_fixed_window_allows_count_then_says_when_the_window_turns() -> None:
    clock = FakeClock(1000.0)  # windows of 60 s: [960, 1020)
    limiter = FixedWindowLimiter(3, 60, clock=clock)
    assert [limiter.hit("a") for _ in range(3)] == [None, None, None]
    assert limiter.hit("a") == 20
    assert limiter.hit("b") is None
    clock.now = 1019.5
    assert limiter.hit("a") == 1
    clock.now = 1020.0
    assert limiter.hit("a") is None


def test_fixed_window_forgets_old_windows() -> None:
    clock = FakeClock()
    limiter = FixedWindowLimiter(1, 10, clock=clock)
    for n in range(1000):
        limiter.hit(f"client-{n}")
    assert len(limiter) == 1000
    clock.now += 10
    limiter.hit("late")
    assert len(limiter) == 1


def test_fixed_window_newcomers_beyond_the_cap_share_one_counter() -> None:
    limiter = FixedWindowLimiter(2, 60, max_keys=3, clock=FakeClock())
    for key in ("a", "b", "c"):
        assert limiter.hit(key) is None
    assert limiter.hit("d") is None
    assert limiter.hit("e") is None
    assert limiter.hit("f") is not None  # d, e and f share the overflow counter
    assert len(limiter) == 4
    assert limiter.hit("a") is None  # known clients keep their own
    assert OVERFLOW_KEY not in ("a", "b", "c")


def test_token_bucket_bursts_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(2, 4, clock=clock)
    assert [buckets.take(1) for _ in range(4)] == [None] * 4
    assert buckets.take(1) == 1
    assert buckets.take(2) is None
    clock.now += 0.5  # one token back
    assert buckets.take(1) is None
    assert buckets.take(1) == 1


def test_token_bucket_retry_after_is_whole_seconds_until_a_token() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(0.25, 1, clock=clock)
    assert buckets.take(7) is None
    assert buckets.take(7) == 4


def test_token_buckets_sweep_refilled_users() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(10, 20, clock=clock)  # refilled after 2 s
    for user in range(500):
        buckets.take(user)
    assert len(buckets) == 500
    clock.now += 2.5
    buckets.take(9999)
    assert len(buckets) == 1


def test_token_buckets_stay_under_the_cap() -> None:
    buckets = TokenBuckets(1, 1, max_keys=100, clock=FakeClock())
    for user in range(1000):
        buckets.take(user)
        assert len(buckets) <= 100


@pytest.mark.parametrize(("count", "window"), [(0, 60), (5, 0)])
def test_fixed_window_refuses_nonsense(count: int, window: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        FixedWindowLimiter(count, window)
