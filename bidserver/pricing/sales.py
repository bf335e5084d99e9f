"""The model's inputs: sales as columns, the vehicle to value, and the calendar it counts in.

Sales arrive as parallel columns (one list per field) because that is how the store hands
ten thousand of them over cheaply (one row of arrays) and how the fit reads them: whole
columns through C-level `map`s instead of one Python object per sale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

DAY_MS = 86_400_000
YEAR_MS = 31_556_952_000  # 365.2425 days


class Sale(NamedTuple):
    """One closed, sold auction: what sold, for how much (whole units), and when (epoch ms)."""

    make: str
    model: str
    year: int
    mileage: int
    price: int
    sold_at: int


@dataclass(frozen=True, slots=True)
class SalesColumns:
    """Sales of one make (any of its models) or of one make and model, oldest first or not.

    `models` holds each sale's model key (`key(model)`); for a single model it may repeat
    one value. Every list has the same length.
    """

    models: list[str] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    mileages: list[int] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)
    sold_at: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.years)


@dataclass(frozen=True, slots=True)
class Subject:
    """The vehicle to value: make and model are matched case-insensitively."""

    make: str
    model: str
    year: int
    mileage: int


def key(name: str) -> str:
    """How makes and models are matched: trimmed, inner spaces single, lower case."""
    return " ".join(name.split()).lower()


def columns(sales: Iterable[Sale]) -> SalesColumns:
    """Columns of these sales, in the given order (for tests, evaluation and the demo)."""
    out = SalesColumns()
    for sale in sales:
        out.models.append(key(sale.model))
        out.years.append(sale.year)
        out.mileages.append(sale.mileage)
        out.prices.append(sale.price)
        out.sold_at.append(sale.sold_at)
    return out


def year_start_ms(year: int) -> int:
    """Epoch ms of 1 January of `year` (proleptic Gregorian, UTC), by integer arithmetic."""
    y = year - 1
    days = 365 * y + y // 4 - y // 100 + y // 400 - 719_162  # days from 0001-01-01 to 1970
    return days * DAY_MS


def age_years(year: int, at_ms: int) -> float:
    """A model year's age at a moment: years since 1 January of the model year, never negative."""
    return max(0.0, (at_ms - year_start_ms(year)) / YEAR_MS)
