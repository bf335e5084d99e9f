"""CONTRACT conventions: timestamps are ISO-8601 UTC, millisecond precision, `Z` suffix."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bidserver.errors import BadRequest
from bidserver.timefmt import from_iso, now_ms, to_iso

# 2026-11-28T10:00:00.000Z, worked out by hand: 20,785 days after the epoch, plus 10 hours.
NOV_28 = (20_785 * 86_400 + 10 * 3_600) * 1_000
MIN_MS = from_iso("0001-01-01T00:00:00.000Z")
MAX_MS = from_iso("9999-12-31T23:59:59.999Z")


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (NOV_28, "2026-11-28T10:00:00.000Z"),
        (NOV_28 + 7, "2026-11-28T10:00:00.007Z"),
        (NOV_28 + 59_999, "2026-11-28T10:00:59.999Z"),
        (0, "1970-01-01T00:00:00.000Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (951_782_400_000, "2000-02-29T00:00:00.000Z"),
    ],
)
def test_to_iso(ms: int, text: str) -> None:
    assert to_iso(ms) == text
    assert from_iso(text) == ms


def test_to_iso_always_has_milliseconds_and_z() -> None:
    text = to_iso(NOV_28)
    assert len(text) == 24
    assert text.endswith("Z")
    assert text[19] == "."


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-28T10:00:00.000Z",
        "2026-11-28T10:00:00Z",
        "2026-11-28T10:00Z",
        "2026-11-28T10:00:00.000+00:00",
        "2026-11-28T11:00:00.000+01:00",
        "2026-11-28T05:30:00.000-04:30",
        "2026-11-29T00:00:00+14:00",
        "2026-11-28T10:00:00.000000Z",
        "2026-11-28T10:00:00.000999Z",
        "2026-11-28T10:00:00.0001Z",
    ],
)
def test_from_iso_accepts_z_and_offsets(text: str) -> None:
    assert from_iso(text) == NOV_28


def test_from_iso_truncates_sub_milliseconds_toward_the_past() -> None:
    assert from_iso("1969-12-31T23:59:59.9995Z") == -1
    assert from_iso("2026-11-28T10:00:00.0129Z") == NOV_28 + 12


@pytest.mark.parametrize(
    "text",
    [
        "",
        "garbage",
        "2026-11-28T10:00:00.000",  # naive: no zone
        "2026-11-28T10:00:00",
        "2026-11-28",
        "2026-13-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-11-28T25:00:00Z",
        "2026-11-28T10:00:00.000+25:00",
        "1795860000000",
        "2026-11-28T10:00:00.000Z trailing",
        "2026-11-28T10:00:00.000Z" + " " * 100,
        "x" * 10_000,
    ],
)
def test_from_iso_refuses_garbage_and_naive_times(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        from_iso(text)
    assert caught.value.code == "bad_request"


@pytest.mark.parametrize("value", [None, 1_795_860_000_000, b"2026-11-28T10:00:00.000Z"])
def test_from_iso_refuses_non_strings(value: object) -> None:
    with pytest.raises(BadRequest):
        from_iso(value)  # type: ignore[arg-type]


@given(st.integers(min_value=MIN_MS, max_value=MAX_MS))
def test_round_trip(ms: int) -> None:
    text = to_iso(ms)
    assert from_iso(text) == ms
    assert len(text) == 24


def test_iso_text_sorts_like_time() -> None:
    times = [NOV_28 - 1, NOV_28, NOV_28 + 1, NOV_28 + 86_400_000]
    assert sorted(to_iso(t) for t in times) == [to_iso(t) for t in times]


def test_now_ms_reads_the_wall_clock_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    now = now_ms()
    after = time.time_ns() // 1_000_000
    assert isinstance(now, int)
    assert before <= now <= after
