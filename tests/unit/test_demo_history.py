"""The demo's sales history (`bidserver.demo_history`): deterministic, big, plausible."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from statistics import median

from bidserver import demo, demo_history

NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def test_the_same_now_and_seed_give_the_same_sales() -> None:
    assert demo_history.history(NOW) == demo_history.history(NOW)
    assert demo_history.history(NOW, seed=1) != demo_history.history(NOW)


def test_several_thousand_sales_of_the_demos_real_makes_and_models() -> None:
    sales = demo_history.history(NOW)
    assert len(sales) == demo_history.HISTORY_SIZE >= 5_000
    models = {(m.make, m.model) for m in demo._MODELS}
    sold = {(s.make, s.model) for s in sales}
    assert sold == models  # every model the demo knows, and nothing else
    assert {(v.make, v.model) for v in demo.catalogue(NOW)} <= sold
    counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    for s in sales:
        counts[(s.make, s.model)] += 1
    assert min(counts.values()) >= 20


def test_sales_are_in_the_past_three_years_and_in_order() -> None:
    sales = demo_history.history(NOW)
    assert all(NOW - timedelta(days=demo_history.HISTORY_DAYS) <= s.sold_at < NOW for s in sales)
    assert [s.sold_at for s in sales] == sorted(s.sold_at for s in sales)
    assert all(s.year <= s.sold_at.year + 1 for s in sales)


def test_prices_are_whole_units_and_fall_with_age_and_mileage() -> None:
    sales = demo_history.history(NOW)
    assert all(type(s.price) is int and s.price >= 500 for s in sales)
    camrys = [s for s in sales if s.model == "Camry"]
    newer = median(s.price for s in camrys if s.year >= 2021)
    older = median(s.price for s in camrys if s.year <= 2012)
    assert newer > 2 * older
    msrp = {(m.make, m.model): m.msrp for m in demo._MODELS}
    assert all(s.price <= 1.6 * msrp[(s.make, s.model)] for s in sales)
