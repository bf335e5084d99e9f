"""The model judged on sales it has not seen: hold out the latest, predict them from the rest.

The sales are ordered by time; the last `holdout` share is set aside, books are built from
the others as of the first held-out sale, and each held-out sale is valued as of its own
date. Two figures matter: the median absolute percentage error of the estimate, and how
often the sale fell inside the 80 % range (near 80 %: a range that always holds is too wide
to help anyone). A second row withholds each model's own sales to judge the make-wide
fallback that answers for a model the marketplace has never sold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from bidserver.pricing.book import Book, build
from bidserver.pricing.fit import run
from bidserver.pricing.sales import Sale, Subject, columns, key
from bidserver.pricing.value import Estimate, value, widen

HOLDOUT = 0.1


@dataclass(frozen=True, slots=True)
class Row:
    label: str
    held_out: int  # sales set aside
    valued: int  # of those, how many got an estimate
    inside: int  # of those, how many sold inside the 80 % range
    median_error: float  # median |estimate - sale| / sale over the valued ones
    median_width: float  # median (high - low) / estimate

    @property
    def coverage(self) -> float:
        return self.inside / self.valued if self.valued else 0.0


def split(sales: Sequence[Sale], holdout: float = HOLDOUT) -> tuple[list[Sale], list[Sale]]:
    """(earlier, latest): the latest `holdout` share of the sales by time."""
    ordered = sorted(sales, key=lambda s: (s.sold_at, s.make, s.model, s.year, s.mileage))
    cut = len(ordered) - max(1, round(len(ordered) * holdout))
    return ordered[:cut], ordered[cut:]


class Books:
    """Books of the training sales, built on first use (by make, and by make and model)."""

    def __init__(self, sales: Sequence[Sale], as_of: int) -> None:
        self.as_of = as_of
        self._by_make: dict[str, list[Sale]] = defaultdict(list)
        for sale in sales:
            self._by_make[key(sale.make)].append(sale)
        self._books: dict[tuple[str, str | None, str | None], Book] = {}

    def model(self, make: str, model: str) -> Book:
        return self._get(key(make), key(model), None)

    def make(self, make: str, without: str | None = None) -> Book:
        return self._get(key(make), None, None if without is None else key(without))

    def _get(self, make: str, model: str | None, without: str | None) -> Book:
        found = self._books.get((make, model, without))
        if found is None:
            chosen = [
                s
                for s in self._by_make.get(make, ())
                if (model is None or key(s.model) == model)
                and (without is None or key(s.model) != without)
            ]
            found = run(build(columns(chosen), make, model, self.as_of))
            self._books[(make, model, without)] = found
        return found


def _subject(sale: Sale) -> Subject:
    return Subject(sale.make, sale.model, sale.year, sale.mileage)


def _widened(books: Books, sale: Sale) -> Estimate:
    own = value(books.model(sale.make, sale.model), _subject(sale), sale.sold_at)
    if own.usable:
        return own
    return widen(own, value(books.make(sale.make), _subject(sale), sale.sold_at))


def _make_only(books: Books, sale: Sale) -> Estimate:
    return value(books.make(sale.make, without=sale.model), _subject(sale), sale.sold_at)


Prediction = tuple[Sale, Estimate]


def summarise(label: str, predictions: Sequence[Prediction]) -> Row:
    """One row of the report from (held-out sale, what was predicted for it) pairs."""
    errors: list[float] = []
    widths: list[float] = []
    inside = 0
    for sale, got in predictions:
        if got.estimate is None or got.low is None or got.high is None:
            continue
        errors.append(abs(got.estimate - sale.price) / sale.price)
        widths.append((got.high - got.low) / got.estimate)
        inside += got.low <= sale.price <= got.high
    return Row(label, len(predictions), len(errors), inside, _median(errors), _median(widths))


def _median(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def predict(
    sales: Sequence[Sale], holdout: float = HOLDOUT
) -> tuple[list[Prediction], list[Prediction]]:
    """Each held-out sale with its prediction as served (the model's own sales, widened to
    the make when too few) and with the make-wide fallback alone (its own model withheld)."""
    earlier, latest = split(sales, holdout)
    books = Books(earlier, latest[0].sold_at)
    served = [(s, _widened(books, s)) for s in latest]
    make_only = [(s, _make_only(books, s)) for s in latest]
    return served, make_only


def evaluate(sales: Sequence[Sale], holdout: float = HOLDOUT) -> list[Row]:
    """The held-out report: as served, and the make-wide fallback alone."""
    served, make_only = predict(sales, holdout)
    return [
        summarise("as served (model, else make)", served),
        summarise("make only (model's own sales withheld)", make_only),
    ]
