"""The depreciation fit: weighted least squares on the log of the sale, per make or model.

    log(sale) = intercept[model] + b1·age + b2·age²/10 + b3·miles + b4·miles²/10 + b5·ago

(age in years since 1 January of the model year at the sale, miles in tens of thousands,
ago the years between the sale and now). The squares let the curve bend: a car loses more
of its value in its first years than in its tenth, and its first 50,000 miles cost it more
than the 50,000 after 150,000. The last term is the market's own drift (used-car prices as
a whole rise and fall): a sale of two years ago is brought to today's market, and a
valuation is always as of now (ago = 0), never extrapolated into the future.

Every sale is weighted by its recency (half-life `HALF_LIFE_DAYS`). The slopes are shared by
the models of a fit (a make-wide fit has one intercept per model, so a model's price level
never bends the make's depreciation curve) and are pulled toward a mild prior with the
weight of `PRIOR_SALES` average sales: a handful of sales cannot produce a car that gains
value with age, while a few hundred speak for themselves.

The work is a generator that yields every `CHUNK` sales, so its driver can hand the event
loop back between slices; `run` drives one to the end for callers that need not care.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice, repeat
from operator import add, le, mul, sub, truediv
from typing import Any, TypeVar

from bidserver.pricing.sales import DAY_MS, YEAR_MS, SalesColumns, year_start_ms

CHUNK = 512  # sales per step: each step stays well under a millisecond
FIT_SAMPLE = 2_048  # sales the slopes are fitted on, at most about (see `fit`)
HALF_LIFE_DAYS = 365
K = 5  # regressors: age, age²/10, miles, miles²/10, years ago
PRIOR_SLOPES: tuple[float, ...] = (-0.09, 0.004, -0.025, 0.0, 0.0)
PRIOR_SALES = 8.0
_DECAY = math.log(0.5) / (HALF_LIFE_DAYS * DAY_MS / YEAR_MS)  # of the weight, per year ago
LEVEL_SPREAD_PRIOR = 0.3  # models of one make are priced ±30 % apart, before any data
PRIOR_MODELS = 2.0
# Smallest spread each regressor is assumed to have when the data hold none (one age).
_FLOOR: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0, 1.0)


def regressors(age: float, mileage: int, years_ago: float = 0.0) -> tuple[float, ...]:
    """The fit's regressors of one car: the single definition both the fit and `value` use."""
    miles = mileage / 10_000
    return (age, age * age / 10, miles, miles * miles / 10, years_ago)


T = TypeVar("T")
Steps = Generator[None, None, T]


def run(steps: Steps[T]) -> T:
    """Drive a stepwise computation to its end in one go."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            result: T = done.value
            return result


@dataclass(frozen=True, slots=True)
class Features:
    """Per-sale columns of the fit, in the order of the (sorted) input."""

    log_value: list[float]
    weight: list[float]  # recency, up to a factor common to every sale (see `Prepared`)
    xs: tuple[list[float], ...]  # one column per regressor (see `regressors`)
    groups: list[tuple[str, int, int]]  # (model key, start, end) of each model's rows
    shift: float = 0.0  # years ago as of now = the last column + shift


@dataclass(frozen=True, slots=True)
class Fit:
    slopes: tuple[float, ...]
    intercepts: dict[str, float]  # by model key
    counts: dict[str, int]  # sales by model key
    weights: dict[str, float]  # recency weight by model key

    def residuals(self, f: Features, model: str, lo: int, hi: int) -> list[float]:
        """log(sale) - fitted, of rows lo:hi (all of `model`) of the features fitted."""
        # the intercept of the columns as fitted (years ago from the prepared reference)
        base = self.intercepts[model] + self.slopes[-1] * f.shift
        fitted: list[float] = [base] * (hi - lo)
        for b, x in zip(self.slopes, f.xs, strict=True):
            fitted = list(map(add, fitted, map(mul, repeat(b), x[lo:hi])))
        return list(map(sub, f.log_value[lo:hi], fitted))

    def level(self) -> tuple[float, float]:
        """(mean, spread) of the model intercepts: how far apart the make's models are priced
        once age and mileage are accounted for. The mean weighs models by their recent
        sales; the spread is pulled toward LEVEL_SPREAD_PRIOR as if it were PRIOR_MODELS
        more models, since a make with two models says little about a third."""
        total = sum(self.weights.values())
        mean = sum(self.intercepts[m] * w for m, w in self.weights.items()) / total
        squares = sum((a - mean) ** 2 for a in self.intercepts.values())
        n = len(self.intercepts)
        spread = (squares + PRIOR_MODELS * LEVEL_SPREAD_PRIOR**2) / (n + PRIOR_MODELS)
        return mean, math.sqrt(spread)


def ordered(sales: SalesColumns) -> SalesColumns:
    """The same sales sorted by model, then model year (the store already sends them so;
    then this only checks), so each model, and each year within it, is one slice."""
    models, years = sales.models, sales.years
    if all(map(le, models, islice(models, 1, None))) and all(
        all(map(le, years[lo:hi], years[lo + 1 : hi])) for _, lo, hi in _groups(models)
    ):
        return sales
    keys = list(zip(models, years, strict=True))
    order = sorted(range(len(keys)), key=keys.__getitem__)
    return SalesColumns(
        models=[models[i] for i in order],
        years=[years[i] for i in order],
        mileages=[sales.mileages[i] for i in order],
        prices=[sales.prices[i] for i in order],
        sold_at=[sales.sold_at[i] for i in order],
    )


@dataclass(frozen=True, slots=True)
class Prepared:
    """Sales sorted by model, then model year, with every column of the fit computed once:
    the log of the price, the age at the sale and the mileage (with their squares), and
    the years ago and recency weight as of `ref_ms` (the newest sale when prepared). A book
    at any `now` fits these as they are (`features`): moving `now` shifts every sale's
    years-ago by the same amount and multiplies every weight by the same factor, which
    moves only the intercepts (corrected by `Features.shift`) and changes no slope,
    residual, quantile or weighted mean. So the valuation service keeps these in memory
    per make and model, adds each sale as it closes (`with_sale`), and fits a book from
    them without reading or preparing anything again.

    Age at the sale is years since 1 January of the model year at the sale (never
    negative). Sales are taken to be in the past of any `now` a book is fitted at (the
    store reads none later; the evaluation fits only earlier ones). Never mutated once
    made: a book built from it (or being built, a slice at a time) keeps seeing the same
    sales.
    """

    sales: SalesColumns  # ordered (see `ordered`)
    ref_ms: int
    log_value: list[float]
    age: list[float]
    age2: list[float]
    miles: list[float]
    miles2: list[float]
    ago: list[float]  # years before ref_ms (negative for a sale added after it)
    weight: list[float]  # recency weight as of ref_ms
    groups: list[tuple[str, int, int]]

    def __len__(self) -> int:
        return len(self.sales)

    def with_sale(self, model: str, year: int, mileage: int, price: int, sold_at: int) -> Prepared:
        """These sales and one more (model as a key), filed in its place."""
        s = self.sales
        lo, hi = bisect_left(s.models, model), bisect_right(s.models, model)
        at = bisect_right(s.years, year, lo, hi)
        one = (model, year, mileage, price, sold_at)
        sales = SalesColumns(*(_inserted(c, at, v) for c, v in zip(_columns(s), one, strict=True)))
        miles = mileage * 1e-4
        age = max((sold_at - year_start_ms(year)) / YEAR_MS, 0.0)
        ago = (self.ref_ms - sold_at) / YEAR_MS
        derived = (
            math.log(price), age, age * age * 0.1, miles, miles * miles * 0.1, ago,
            math.exp(_DECAY * ago),
        )  # fmt: skip
        mine = (
            self.log_value, self.age, self.age2, self.miles, self.miles2, self.ago, self.weight
        )  # fmt: skip
        log_value, age_x, age2_x, miles_x, miles2_x, ago_x, weight = (
            _inserted(c, at, v) for c, v in zip(mine, derived, strict=True)
        )
        return Prepared(
            sales, self.ref_ms, log_value, age_x, age2_x, miles_x, miles2_x, ago_x, weight,
            _groups(sales.models),
        )  # fmt: skip


def _columns(s: SalesColumns) -> tuple[list[Any], ...]:
    return (s.models, s.years, s.mileages, s.prices, s.sold_at)


def _inserted(column: list[T], at: int, item: T) -> list[T]:
    out = column[:at]
    out.append(item)
    out.extend(column[at:])
    return out


def prepare(sales: SalesColumns) -> Steps[Prepared]:
    """These sales ordered and prepared, a chunk a step.

    Whole columns go through C-level `map`s of `operator` functions: a Python loop over ten
    thousand sales costs ten times as much. (Kept in step with `regressors`.)
    """
    s = ordered(sales)
    ref = max(s.sold_at, default=0)
    p = Prepared(s, ref, [], [], [], [], [], [], [], _groups(s.models))
    year_starts = {y: year_start_ms(y) for y in set(s.years)}
    yield
    for lo, hi in _chunks(0, len(p)):
        p.log_value.extend(map(math.log, s.prices[lo:hi]))
        since = map(sub, s.sold_at[lo:hi], map(year_starts.__getitem__, s.years[lo:hi]))
        age = list(map(truediv, since, repeat(YEAR_MS)))
        if age and min(age) < 0.0:  # sold before its model year began (rare): age 0
            age = [a if a > 0.0 else 0.0 for a in age]
        miles = list(map(mul, s.mileages[lo:hi], repeat(1e-4)))
        ago = list(map(truediv, map(sub, repeat(ref), s.sold_at[lo:hi]), repeat(YEAR_MS)))
        p.age.extend(age)
        p.age2.extend([a * a * 0.1 for a in age])  # a comprehension beats two maps here
        p.miles.extend(miles)
        p.miles2.extend([m * m * 0.1 for m in miles])
        p.ago.extend(ago)
        p.weight.extend(map(math.exp, map(mul, repeat(_DECAY), ago)))
        yield
    return p


def features(p: Prepared, now_ms: int) -> Steps[Features]:
    """The fit's columns as of `now_ms`: the prepared ones, with years ago counted from
    `now_ms` through `Features.shift` (see `Prepared`)."""
    yield
    xs = (p.age, p.age2, p.miles, p.miles2, p.ago)
    return Features(p.log_value, p.weight, xs, p.groups, (now_ms - p.ref_ms) / YEAR_MS)


def _chunks(start: int, end: int) -> Iterator[tuple[int, int]]:
    for lo in range(start, end, CHUNK):
        yield lo, min(lo + CHUNK, end)


def _groups(models: Sequence[str]) -> list[tuple[str, int, int]]:
    """(model, start, end) of each model's rows, for `models` sorted (else of its runs)."""
    return [(m, bisect_left(models, m), bisect_right(models, m)) for m in sorted(set(models))]


class _Moments:
    """Weighted sums of one group: Σw, Σwx, Σwy, Σwxxᵀ, Σwxy over the regressors."""

    __slots__ = ("cross", "w", "wx", "wxy", "wy")

    def __init__(self) -> None:
        self.w = self.wy = 0.0
        self.wx = [0.0] * K
        self.wxy = [0.0] * K
        self.cross = [[0.0] * K for _ in range(K)]

    def add(self, f: Features, rows: slice, *, cross: bool = True) -> None:
        """Add these rows; without `cross`, only the sums an intercept needs."""
        xs = [x[rows] for x in f.xs]
        weight, y = f.weight[rows], f.log_value[rows]
        self.w += sum(weight)
        self.wy += sum(map(mul, weight, y))
        for j in range(K):
            wx = list(map(mul, weight, xs[j]))
            self.wx[j] += sum(wx)
            if cross:
                self.wxy[j] += sum(map(mul, wx, y))
                for k in range(j, K):
                    self.cross[j][k] += sum(map(mul, wx, xs[k]))

    def centred(self) -> tuple[list[list[float]], list[float]]:
        """The group's sums about its own weighted means (its intercept drops out)."""
        w, wx = self.w, self.wx
        cross = [[self.cross[j][k] - wx[j] * wx[k] / w for k in range(K)] for j in range(K)]
        return cross, [self.wxy[j] - wx[j] * self.wy / w for j in range(K)]


def fit(f: Features, sample: int = FIT_SAMPLE) -> Steps[Fit]:
    """Slopes shared by the groups and one intercept per group (residuals: `Fit.residuals`,
    asked only for the comparables a valuation looks at).

    The slopes are fitted on every k-th sale of each model (k so that about `sample` are
    used: the squares and cross-products are most of the fit's cost, and a few thousand
    sales pin five slopes down far below the noise of a price); every intercept is then
    the exact mean of all of its model's sales.
    """
    stride = max(1, -(-len(f.weight) // sample))
    cross = [[0.0] * K for _ in range(K)]
    rhs = [0.0] * K
    moments: dict[str, _Moments] = {}
    sampled_w, sampled_n = 0.0, 0
    for model, start, end in f.groups:
        m = moments[model] = _Moments()
        for lo, hi in _chunks(start, end):
            m.add(f, slice(lo, hi), cross=stride == 1)
            yield
        part = m if stride == 1 else _Moments()
        if stride > 1:
            span = CHUNK // 4 * stride  # a quarter chunk: the cross-products are 4x the work
            for lo in range(start, end, span):
                part.add(f, slice(lo, min(lo + span, end), stride))
                yield
        group_cross, group_rhs = part.centred()
        sampled_w += part.w
        sampled_n += len(range(start, end, stride))
        for j in range(K):
            rhs[j] += group_rhs[j]
            for k in range(j, K):
                cross[j][k] += group_cross[j][k]
    slopes = _solve_with_prior(cross, rhs, sampled_w, sampled_n)
    # As of now: each sale's years ago is its column plus f.shift (see `Prepared`).
    intercepts = {
        model: (m.wy - sum(b * s for b, s in zip(slopes, m.wx, strict=True))) / m.w
        - slopes[-1] * f.shift
        for model, m in moments.items()
    }
    counts = {model: end - start for model, start, end in f.groups}
    weights = {model: m.w for model, m in moments.items()}
    return Fit(slopes, intercepts, counts, weights)


def _solve_with_prior(
    cross: list[list[float]], rhs: list[float], total_w: float, n: int
) -> tuple[float, ...]:
    """Ridge toward PRIOR_SLOPES: each slope's prior weighs as much as PRIOR_SALES sales."""
    mean_w = total_w / n
    a = [[cross[min(j, k)][max(j, k)] for k in range(K)] for j in range(K)]
    b = list(rhs)
    for j in range(K):
        variance = max(cross[j][j] / total_w, _FLOOR[j])
        strength = PRIOR_SALES * mean_w * variance
        a[j][j] += strength
        b[j] += strength * PRIOR_SLOPES[j]
    solved = _gauss(a, b)
    return tuple(solved) if solved is not None else PRIOR_SLOPES


def _gauss(a: list[list[float]], b: list[float]) -> list[float] | None:
    """Solve a·x = b (small, dense) with partial pivoting; None if singular."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        if abs(m[pivot][col]) < 1e-12:
            return None
        m[col], m[pivot] = m[pivot], m[col]
        for r in range(col + 1, n):
            factor = m[r][col] / m[col][col]
            for c in range(col, n + 1):
                m[r][c] -= factor * m[col][c]
    x = [0.0] * n
    for r in reversed(range(n)):
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x
