"""Pricing: what a vehicle is worth, from this marketplace's own closed sales (CONTRACT §8).

A pure model, like the rules core: no I/O, no clock, no randomness; sales and `now` (epoch
ms) come in as arguments. The service that reads sales, caches books and asks an external
provider first lives in `bidserver.valuation`.

The method, and why:

1. Comparables are the make and model's own sales, nearest model years first (±0, ±1, … ±3,
   each ring half the weight of the one inside it) until 30 are in; recent sales weigh
   more (half-life one year). Wholesale houses price this way (Manheim's Market Report
   is built from its own auction transactions, adjusted for mileage and condition)
   because a sale of the same car is the best evidence of its price.
2. Each comparable is adjusted to the asked age and mileage, and to today's market, by a
   depreciation fit: a weighted least-squares regression of the log of the sale on age,
   mileage (each with its square, so the curve can bend) and how long ago it sold
   (`fit.py`), per model, its slopes pulled toward a mild prior so that a handful of
   sales cannot make a car gain value with age (and, past a few thousand sales, fitted on
   an even sample of them: the intercept and the comparables still use every sale).
   Logs because depreciation is a rate (a car loses a share of its value a year, not a
   fixed sum) and because the noise of prices grows with them. The estimate is the
   fitted value plus the comparables' median residual, which corrects the curve where it
   bends away from the data.
3. The 80 % range is the comparables' 10th to 90th weighted percentile around that median
   (Student's t on their spread while they are few), widened by √(1 + 1/n) for the
   uncertainty of the median itself. It is judged by how often held-out sales fall inside
   it (`evaluation.py`, `python -m bench.pricing`): near 80 %, not more.
4. A model with fewer than 5 comparables is priced from its make (`value.py`): the same
   fit across the make's models with one level per model, the unknown model's level taken
   as the make's average moved toward its own few sales, and the range widened by the
   spread between the make's models and a further 25 %. Fewer than 5 there too: no
   numbers (`basis: none`) rather than a guess.
5. Money is whole currency units at the edges; logs and weights are floats inside, and an
   estimate is rounded once, at the end (`value.whole_units`).

May import: itself and pure standard-library modules only (`tests/unit/test_boundaries.py`
and `tests/unit/test_pricing_purity.py` hold it).
"""

from bidserver.pricing.book import (
    ENOUGH_COMPARABLES,
    MAX_YEAR_GAP,
    MIN_COMPARABLES,
    Book,
    Spread,
    build,
    build_prepared,
)
from bidserver.pricing.breaker import Breaker, BreakerState
from bidserver.pricing.fit import HALF_LIFE_DAYS, Prepared, Steps, prepare, run
from bidserver.pricing.sales import Sale, SalesColumns, Subject, age_years, columns, key
from bidserver.pricing.value import Estimate, Scope, value, whole_units, widen

__all__ = [
    "ENOUGH_COMPARABLES",
    "HALF_LIFE_DAYS",
    "MAX_YEAR_GAP",
    "MIN_COMPARABLES",
    "Book",
    "Breaker",
    "BreakerState",
    "Estimate",
    "Prepared",
    "Sale",
    "SalesColumns",
    "Scope",
    "Spread",
    "Steps",
    "Subject",
    "age_years",
    "build",
    "build_prepared",
    "columns",
    "key",
    "prepare",
    "run",
    "value",
    "whole_units",
    "widen",
]
