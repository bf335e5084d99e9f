"""Historical sales for the demo: what the demo's makes and models sold for in past years.

`bidserver seed-demo` loads these as the marketplace's sales record, so that the valuations
on the demo's pages rest on several thousand comparables instead of none. They are made up,
deterministically (a fixed seed; only `now` comes in), by a depreciation model with noise
that follows the one behind the demo catalogue's prices (`bidserver.demo`):

    price = MSRP * kept(age) * mileage factor * market drift * noise

- kept(age): 20 % lost in the first year, then a make's yearly retention (Toyota and Porsche
  keep value best, German luxury and Tesla worst; 8 % a year on average, as the
  catalogue's), never below 12 %;
- mileage factor 1 - miles/400,000, never below 0.5 (as the catalogue's);
- market drift: the used-car market softens 3 % a year, so older sales were dearer;
- noise: log-normal, sigma 0.085 (trim, options, condition), and 3 % of sales off by sigma 0.25
  (damage, a rare colour, a bidding war).

Nothing reads these numbers back: the valuations are computed from the sales, like any
other sales. The model of `bidserver.pricing` knows none of these terms.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from bidserver.demo import _MODELS, _NEWEST_YEAR, _Model

HISTORY_SIZE = 6_000
HISTORY_DAYS = 3 * 365
SEED = 20261203
_YEAR_DAYS = 365.2425

_RETENTION = {
    "Toyota": 0.935,
    "Honda": 0.93,
    "Lexus": 0.93,
    "Porsche": 0.935,
    "Subaru": 0.925,
    "Jeep": 0.925,
    "Ram": 0.92,
    "GMC": 0.92,
    "Ford": 0.915,
    "Chevrolet": 0.915,
    "Mazda": 0.915,
    "Hyundai": 0.91,
    "Kia": 0.91,
    "Nissan": 0.905,
    "Volkswagen": 0.905,
    "Volvo": 0.9,
    "Audi": 0.9,
    "BMW": 0.895,
    "Mercedes-Benz": 0.895,
    "Tesla": 0.89,
}
# Relative share of the sales: the best-selling models change hands most often.
_POPULAR = {
    "Camry": 3.0,
    "Corolla": 2.5,
    "RAV4": 3.0,
    "Civic": 2.5,
    "Accord": 2.0,
    "CR-V": 2.5,
    "F-150": 3.5,
    "Silverado 1500": 3.0,
    "1500": 2.0,
    "Equinox": 2.0,
    "Escape": 1.5,
    "Altima": 1.5,
    "Rogue": 2.0,
    "Model 3": 1.5,
    "Model Y": 1.5,
    "Wrangler": 1.5,
    "Tacoma": 2.0,
    "911": 0.3,
    "Corvette": 0.4,
    "Model S": 0.5,
}


@dataclass(frozen=True, slots=True)
class HistoricalSale:
    make: str
    model: str
    year: int
    mileage: int
    price: int
    sold_at: datetime


def market_value(model: _Model, year: int, mileage: int, sold_at: datetime, now: datetime) -> int:
    """What the demo's market paid for this car at `sold_at`, before noise (whole units)."""
    age = max(0.0, (sold_at - datetime(year, 1, 1, tzinfo=sold_at.tzinfo)).days / _YEAR_DAYS)
    kept: float = max(0.8 ** min(age, 1.0) * _RETENTION[model.make] ** max(age - 1.0, 0.0), 0.12)
    miles = max(0.5, 1 - mileage / 400_000)
    drift: float = 0.97 ** ((sold_at - now).days / _YEAR_DAYS)
    return round(model.msrp * kept * miles * drift)


def _sale(rng: random.Random, model: _Model, now: datetime) -> HistoricalSale:
    sold_at = now - timedelta(seconds=rng.uniform(86_400, HISTORY_DAYS * 86_400))
    newest = min(_NEWEST_YEAR, sold_at.year + 1)
    year = rng.randint(min(model.since, newest), newest)  # the catalogue's spread of years
    age = max((sold_at - datetime(year, 1, 1, tzinfo=sold_at.tzinfo)).days / _YEAR_DAYS, 0.2)
    driven = age * 12_000 * rng.lognormvariate(0.0, 0.3)
    if rng.random() < 0.05:
        driven *= 0.3  # the odd garage queen
    mileage = min(round(driven / 10) * 10, 260_000)
    noise = rng.lognormvariate(0.0, 0.085)
    if rng.random() < 0.03:
        noise *= rng.lognormvariate(0.0, 0.25)
    units = market_value(model, year, mileage, sold_at, now) * noise
    price = max(500, round(units / 50) * 50)
    return HistoricalSale(model.make, model.model, year, mileage, price, sold_at)


def history(
    now: datetime,
    size: int = HISTORY_SIZE,
    seed: int = SEED,
    only: tuple[str, str] | None = None,
) -> list[HistoricalSale]:
    """`size` sales over the `HISTORY_DAYS` before `now`, oldest first; the same for the
    same arguments. `only` (make, model) makes every sale one of that model (benchmarks)."""
    rng = random.Random(seed)
    models = [m for m in _MODELS if only is None or (m.make, m.model) == only]
    if not models:
        raise ValueError(f"no demo model {only}")
    weights = [_POPULAR.get(m.model, 1.0) for m in models]
    picks = rng.choices(models, weights=weights, k=size)
    sales = [_sale(rng, model, now) for model in picks]
    sales.sort(key=lambda s: (s.sold_at, s.make, s.model))
    return sales
