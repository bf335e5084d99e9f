"""A book: one make's or one model's fitted sales, ready to value any year and mileage.

Building it is the expensive part: every sale is prepared (`fit.prepare`: logs, ages,
mileages; what does not depend on `now`, which the service keeps in memory) and fitted; it
is cached per make/model and rebuilt when one of its sales closes. Valuing from a book
costs one look at the comparables of the asked year (their residuals computed then, and
memoised) and a few multiplications.

Comparables are the sales nearest in model year: the asked year first, then ±1, ±2, … up
to `MAX_YEAR_GAP`, ring by ring until `ENOUGH_COMPARABLES` are in; each ring weighs half the
one inside it, on top of each sale's recency weight. Every comparable is adjusted to the
asked age and mileage by the fit (its residual is what is left of it once adjusted), so the
median residual corrects the fit locally and the residuals' spread gives the range.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from operator import mul

from bidserver.pricing.fit import (
    FIT_SAMPLE,
    PRIOR_SLOPES,
    Features,
    Fit,
    Prepared,
    Steps,
    features,
    fit,
    prepare,
)
from bidserver.pricing.sales import SalesColumns
from bidserver.pricing.stats import t90, weighted_moments, weighted_quantiles

MIN_COMPARABLES = 5
ENOUGH_COMPARABLES = 30
MAX_YEAR_GAP = 3
RING_DECAY = 0.5


@dataclass(frozen=True, slots=True)
class Bucket:
    """One model year's residuals and their recency weights, in parallel."""

    residuals: list[float]
    weights: list[float]


@dataclass(frozen=True, slots=True)
class Spread:
    """The comparables of one model year, as log-scale offsets from the fitted curve.

    `center` is their weighted median residual; `below` and `above` reach from it to the
    ends of the 80 % range (each ≥ 0). With fewer than MIN_COMPARABLES they are all 0.
    """

    comparables: int
    center: float = 0.0
    below: float = 0.0
    above: float = 0.0

    @property
    def usable(self) -> bool:
        return self.comparables >= MIN_COMPARABLES


class Book:
    """The fit of one make (`model` None) or model, and its sales' features.

    Each year's comparables (their residuals from the fit) and spread are computed on first
    use: a fresh book is built to answer one year, and the others may never be asked.
    """

    __slots__ = ("_buckets", "_features", "_spreads", "_years", "as_of", "fit", "make", "model",
                 "size")  # fmt: skip

    def __init__(
        self,
        make: str,
        model: str | None,
        as_of: int,
        fit: Fit,
        features: Features,
        years: list[int],
    ) -> None:
        self.make = make
        self.model = model
        self.as_of = as_of
        self.fit = fit
        self.size = len(years)
        self._features = features
        self._years = years  # model year of each sale, in feature order
        self._buckets: dict[int, Bucket | None] = {}
        self._spreads: dict[int, Spread] = {}

    def spread(self, year: int) -> Spread:
        found = self._spreads.get(year)
        if found is None:
            found = self._spreads[year] = _spread(self.bucket, year)
        return found

    def bucket(self, year: int) -> Bucket | None:
        """The residuals and weights of this model year's sales (None if it has none)."""
        if year in self._buckets:
            return self._buckets[year]
        f, years = self._features, self._years
        found = None
        for model, start, end in f.groups:
            lo, hi = bisect_left(years, year, start, end), bisect_right(years, year, start, end)
            if lo < hi:
                found = found or Bucket([], [])
                found.residuals.extend(self.fit.residuals(f, model, lo, hi))
                found.weights.extend(f.weight[lo:hi])
        self._buckets[year] = found
        return found


def _spread(buckets: Callable[[int], Bucket | None], year: int) -> Spread:
    residuals: list[float] = []
    weights: list[float] = []
    for gap in range(MAX_YEAR_GAP + 1):
        ring = RING_DECAY**gap
        for y in sorted({year - gap, year + gap}):
            bucket = buckets(y)
            if bucket is not None:
                residuals.extend(bucket.residuals)
                weights.extend(map(mul, bucket.weights, repeat(ring)))
        if len(residuals) >= ENOUGH_COMPARABLES:
            break
    if len(residuals) < MIN_COMPARABLES:
        return Spread(len(residuals))
    order = sorted(range(len(residuals)), key=residuals.__getitem__)
    return _summary(list(map(residuals.__getitem__, order)), list(map(weights.__getitem__, order)))


def _summary(residuals: list[float], weights: list[float]) -> Spread:
    """Median and 80 % range of the residuals (sorted): their weighted quantiles once there
    are enough of them, Student's t on their spread while few, blended in between; widened
    for the uncertainty of the centre itself (√(1 + 1/n))."""
    q10, q50, q90 = weighted_quantiles(residuals, weights, (0.1, 0.5, 0.9))
    _, sd, n_eff = weighted_moments(residuals, weights)
    share = min(1.0, n_eff / ENOUGH_COMPARABLES)
    parametric = t90(n_eff - 1) * sd
    inflate = (1 + 1 / n_eff) ** 0.5
    below = (share * (q50 - q10) + (1 - share) * parametric) * inflate
    above = (share * (q90 - q50) + (1 - share) * parametric) * inflate
    return Spread(len(residuals), q50, below, above)


def build(
    sales: SalesColumns,
    make: str,
    model: str | None,
    now_ms: int,
    *,
    fit_sample: int = FIT_SAMPLE,
) -> Steps[Book]:
    """Fit these sales (all of `make`, or of `make` and `model`) as of `now_ms`."""
    prepared = yield from prepare(sales)
    return (yield from build_prepared(prepared, make, model, now_ms, fit_sample=fit_sample))


def build_prepared(
    prepared: Prepared,
    make: str,
    model: str | None,
    now_ms: int,
    *,
    fit_sample: int = FIT_SAMPLE,
) -> Steps[Book]:
    """Fit these prepared sales as of `now_ms` (`build` without the preparing)."""
    f = yield from features(prepared, now_ms)
    if not len(prepared):
        return Book(make, model, now_ms, Fit(PRIOR_SLOPES, {}, {}, {}), f, [])
    fitted = yield from fit(f, fit_sample)
    yield
    return Book(make, model, now_ms, fitted, f, prepared.sales.years)
