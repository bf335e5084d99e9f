"""From a book to an answer: the estimate and its 80 % range in whole currency units.

A model's own book answers when it has MIN_COMPARABLES sales near the asked year. Only
when it has not does the make's book answer, at a clear cost in confidence: the model's
price level is then a guess (the make's average level, moved toward the model's own few
sales by n/(n + `SHRINK_SALES`)), so the range also carries the spread between the make's
models, and is widened by `MAKE_PENALTY`. Fewer than MIN_COMPARABLES at both scopes: no
numbers at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from bidserver.pricing.book import MIN_COMPARABLES, Book, Spread
from bidserver.pricing.fit import regressors
from bidserver.pricing.sales import Subject, age_years, key

MAKE_PENALTY = 1.25
SHRINK_SALES = 3.0
MAX_UNITS = 10**12
_LOG_MAX_UNITS = math.log(MAX_UNITS)


class Scope(StrEnum):
    MODEL = "model"  # comparables of the same make and model
    MAKE = "make"  # widened to the make's other models


@dataclass(frozen=True, slots=True)
class Estimate:
    """Whole currency units, or None throughout when there were too few comparables."""

    estimate: int | None
    low: int | None
    high: int | None
    comparables: int
    scope: Scope | None

    @property
    def usable(self) -> bool:
        return self.estimate is not None


def value(book: Book, subject: Subject, now_ms: int) -> Estimate:
    """Value `subject` from one book (a model's or a make's) as of `now_ms`."""
    spread = book.spread(subject.year)
    if not spread.usable:
        return Estimate(None, None, None, spread.comparables, None)
    model = key(subject.model)
    if book.model is not None:
        # A model's book has one intercept, whatever spelling of the model was asked.
        level, unsure, scope, penalty = _only(book), 0.0, Scope.MODEL, 1.0
    else:
        level, unsure = _make_level(book, model)
        scope, penalty = Scope.MAKE, MAKE_PENALTY
    x = regressors(age_years(subject.year, now_ms), subject.mileage)
    log_value = level + sum(b * xj for b, xj in zip(book.fit.slopes, x, strict=True))
    return _answer(log_value, spread, unsure, penalty, scope)


def _only(book: Book) -> float:
    return next(iter(book.fit.intercepts.values()))


def _make_level(book: Book, model: str) -> tuple[float, float]:
    """The model's price level within its make, and the variance that guess carries."""
    mean, between = book.fit.level()
    own = book.fit.counts.get(model, 0)
    shrink = own / (own + SHRINK_SALES)
    level = mean + shrink * (book.fit.intercepts.get(model, mean) - mean)
    return level, between * between * (1 - shrink)


def _answer(
    log_value: float, spread: Spread, unsure: float, penalty: float, scope: Scope
) -> Estimate:
    center = log_value + spread.center
    below = math.sqrt(spread.below**2 + unsure) * penalty
    above = math.sqrt(spread.above**2 + unsure) * penalty
    estimate = whole_units(center)
    low = min(whole_units(center - below), estimate)
    high = max(whole_units(center + above), estimate)
    return Estimate(estimate, low, high, spread.comparables, scope)


def widen(own: Estimate, make: Estimate | None) -> Estimate:
    """The model's answer if it has one, else the make's, else none (with the most
    comparables either found, so the answer can say how close it came)."""
    if own.usable or make is None:
        return own
    if make.usable:
        return make
    return Estimate(None, None, None, max(own.comparables, make.comparables), None)


def whole_units(log_value: float) -> int:
    """exp(log_value) rounded once: to 10 below 1,000, to 50 below 10,000, else to 100."""
    units = math.exp(min(log_value, _LOG_MAX_UNITS))
    step = 10 if units < 1_000 else 50 if units < 10_000 else 100
    return min(MAX_UNITS, max(step, round(units / step) * step))


__all__ = ["MIN_COMPARABLES", "Estimate", "Scope", "value", "whole_units", "widen"]
