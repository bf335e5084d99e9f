"""The model judged on sales it has not seen (issue 14's evaluation), as a check in CI.

The latest 10 % of the demo's sales history are held out and predicted from the rest
(`bidserver.pricing.evaluation`, the same code `python -m bench.pricing` prints). The 80 %
range must hold the real sale between 70 % and 90 % of the time (a range that always
holds is too wide to help), and the median error must stay under MAX_MEDIAN_ERROR.

MAX_MEDIAN_ERROR is set from the data: 6.7 % on the seeded history, 6.4-7.1 % on seeds 1-5
(bench/RESULTS.md); 10 % leaves room for another seed's luck, not for a worse model.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bidserver import demo_history
from bidserver.pricing import Sale
from bidserver.pricing.evaluation import Row, evaluate, split

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
MAX_MEDIAN_ERROR = 0.10
COVERAGE = (0.70, 0.90)


def sales(seed: int) -> list[Sale]:
    return [
        Sale(s.make, s.model, s.year, s.mileage, s.price, int(s.sold_at.timestamp() * 1000))
        for s in demo_history.history(NOW, seed=seed)
    ]


def _seeds() -> list[int]:
    return [demo_history.SEED, random.randrange(2**31)]


@pytest.fixture(params=_seeds(), ids=lambda seed: f"seed={seed}")
def report(request: pytest.FixtureRequest) -> list[Row]:
    seed: int = request.param
    print(f"demo history seed {seed}")
    rows = evaluate(sales(seed))
    for row in rows:
        print(
            f"  {row.label}: {row.valued}/{row.held_out} valued, coverage {row.coverage:.3f},"
            f" median error {row.median_error:.4f}, median width {row.median_width:.3f}"
        )
    return rows


def test_the_80_percent_range_holds_about_80_percent_of_held_out_sales(report: list[Row]) -> None:
    served = report[0]
    assert served.valued >= 0.95 * served.held_out
    assert COVERAGE[0] <= served.coverage <= COVERAGE[1], served


def test_the_median_error_stays_under_its_bound(report: list[Row]) -> None:
    assert report[0].median_error <= MAX_MEDIAN_ERROR, report[0]


def test_the_make_fallback_is_honest_about_being_wider(report: list[Row]) -> None:
    """Valuing each model from its make's other models only: worse estimates, which its
    wider range owns up to (it still holds the sale at least 70 % of the time)."""
    served, make_only = report
    assert make_only.median_error > served.median_error
    assert make_only.median_width > 1.5 * served.median_width
    assert make_only.coverage >= COVERAGE[0], make_only


def test_the_latest_sales_are_held_out() -> None:
    history = sales(demo_history.SEED)
    earlier, latest = split(history)
    assert len(latest) == round(0.1 * len(history))
    assert max(s.sold_at for s in earlier) <= min(s.sold_at for s in latest)
