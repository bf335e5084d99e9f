"""Latency histograms: HdrHistogram in microseconds, mergeable across worker processes."""

from __future__ import annotations

import math
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 3_600_000_000  # one hour: nothing legitimate waits longer
SIGNIFICANT_DIGITS = 3
PERCENTILES: dict[str, float] = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


class Histogram:
    """Durations recorded in seconds, stored as microseconds, read back in milliseconds."""

    __slots__ = ("_h",)

    def __init__(self, raw: Any = None) -> None:
        self._h: Any = (
            raw if raw is not None else HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        )

    def record(self, seconds: float) -> None:
        micros = int(seconds * 1_000_000)
        self._h.record_value(min(max(micros, LOWEST_US), HIGHEST_US))

    @property
    def count(self) -> int:
        return int(self._h.get_total_count())

    def reset(self) -> None:
        self._h.reset()

    def encode(self) -> bytes:
        """A compact form for sending between processes (HdrHistogram's own encoding)."""
        return bytes(self._h.encode()) if self.count else b""

    @classmethod
    def decode(cls, data: bytes) -> Histogram:
        return cls(HdrHistogram.decode(data)) if data else cls()

    def merge(self, other: Histogram) -> None:
        if other.count:
            self._h.add(other._h)

    def percentile_ms(self, percentile: float) -> float:
        return float(self._h.get_value_at_percentile(percentile)) / 1000.0

    def max_ms(self) -> float:
        return float(self._h.get_max_value()) / 1000.0

    def summary_ms(self) -> dict[str, float | None]:
        """p50, p90, p99, p999 and max in milliseconds; all None when nothing was recorded."""
        if not self.count:
            return {**dict.fromkeys(PERCENTILES), "max": None}
        out: dict[str, float | None] = {
            name: round(self.percentile_ms(p), 3) for name, p in PERCENTILES.items()
        }
        out["max"] = round(self.max_ms(), 3)
        return out

    def curve(self, points: int = 120) -> list[tuple[float, float]]:
        """(percentile, ms) pairs spaced evenly on the 1/(1-p) axis, up to the recorded count."""
        if not self.count:
            return []
        top = max(1.0, math.log10(self.count))  # no finer than one sample
        out = []
        for i in range(points + 1):
            percentile = 100.0 * (1.0 - 10.0 ** (-top * i / points))
            out.append((percentile, self.percentile_ms(percentile)))
        return out


def merged(encoded: list[bytes]) -> Histogram:
    total = Histogram()
    for data in encoded:
        total.merge(Histogram.decode(data))
    return total
