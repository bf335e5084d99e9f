"""The sales model of CONTRACT §8 (`bidserver.pricing`): comparables, adjustment, range, money.

Markets here are made up in the test, each from a seeded random source (the seed is in the
test's name or parameters): a base price, a yearly depreciation, a mileage discount and
log-normal noise. The model is never told these terms; the tests check that what it
computes moves the way they say.
"""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bidserver.pricing import (
    ENOUGH_COMPARABLES,
    MIN_COMPARABLES,
    Book,
    Estimate,
    Sale,
    Scope,
    Subject,
    build,
    columns,
    prepare,
    run,
    value,
    whole_units,
    widen,
)
from bidserver.pricing.fit import CHUNK, ordered
from bidserver.pricing.sales import DAY_MS, age_years, key, year_start_ms
from bidserver.pricing.stats import t90, weighted_moments, weighted_quantiles

NOW = year_start_ms(2026) + 330 * DAY_MS  # late November 2026


def market(
    n: int,
    seed: int,
    *,
    make: str = "Toyota",
    model: str = "Camry",
    base: int = 30_000,
    years: tuple[int, int] = (2012, 2024),
    noise: float = 0.08,
    days: int = 3 * 365,
    yearly: float = 0.9,
) -> list[Sale]:
    rng = random.Random(seed)
    sales = []
    for _ in range(n):
        year = rng.randint(*years)
        sold_at = NOW - rng.randint(1, days) * DAY_MS
        age = age_years(year, sold_at)
        mileage = round(age * 12_000 * rng.uniform(0.6, 1.4))
        worth = base * yearly**age * max(0.5, 1 - mileage / 400_000)
        price = round(worth * rng.lognormvariate(0, noise))
        sales.append(Sale(make, model, year, mileage, price, sold_at))
    return sales


def book_of(sales: list[Sale], make: str = "Toyota", model: str | None = "Camry") -> Book:
    chosen = [s for s in sales if model is None or key(s.model) == key(model)]
    return run(build(columns(chosen), key(make), None if model is None else key(model), NOW))


def camry(year: int, mileage: int = 60_000) -> Subject:
    return Subject("Toyota", "Camry", year, mileage)


# --- too few: no numbers ------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, MIN_COMPARABLES - 1])
def test_fewer_than_five_comparables_give_no_numbers(n: int) -> None:
    sales = market(n, seed=n, years=(2018, 2018))
    got = value(book_of(sales), camry(2018), NOW)
    assert got == Estimate(None, None, None, n, None)
    assert not got.usable


def test_five_comparables_give_an_estimate() -> None:
    got = value(book_of(market(MIN_COMPARABLES, seed=5, years=(2018, 2018))), camry(2018), NOW)
    assert got.usable
    assert got.comparables == MIN_COMPARABLES
    assert got.scope is Scope.MODEL


def test_sales_too_many_years_away_are_not_comparables() -> None:
    sales = market(80, seed=7, years=(2018, 2020))
    assert value(book_of(sales), camry(2014), NOW).comparables == 0
    assert value(book_of(sales), camry(2015), NOW).usable  # 2018 is three years away


# --- which comparables ----------------------------------------------------------------------


def test_comparables_are_taken_from_the_nearest_years_first() -> None:
    sales = market(40, seed=1, years=(2015, 2015)) + market(50, seed=2, years=(2019, 2019))
    book = book_of(sales)
    assert value(book, camry(2015), NOW).comparables == 40  # its own year is enough
    assert value(book, camry(2019), NOW).comparables == 50
    assert value(book, camry(2016), NOW).comparables == 40  # ±1 holds 2015's
    assert value(book, camry(2017), NOW).comparables == 90  # ±2 holds both


def test_a_ring_is_added_until_enough_are_in() -> None:
    sales = market(10, seed=3, years=(2016, 2016)) + market(40, seed=4, years=(2017, 2017))
    assert value(book_of(sales), camry(2016), NOW).comparables == 50
    assert ENOUGH_COMPARABLES <= 50


# --- adjustment -----------------------------------------------------------------------------


def test_older_cars_are_worth_less() -> None:
    book = book_of(market(400, seed=11))
    worth = [value(book, camry(year), NOW).estimate for year in range(2013, 2025)]
    assert all(w is not None for w in worth)
    assert worth == sorted(worth)  # type: ignore[type-var]
    assert worth[0] is not None
    assert worth[-1] is not None
    assert worth[-1] > 2 * worth[0]


def test_more_miles_are_worth_less() -> None:
    book = book_of(market(400, seed=12))
    low, high = value(book, camry(2018, 20_000), NOW), value(book, camry(2018, 160_000), NOW)
    assert low.estimate is not None
    assert high.estimate is not None
    assert high.estimate < 0.85 * low.estimate


def test_recent_sales_weigh_more() -> None:
    """Half the sales 2-3 years ago, half in the last two months at prices 30 % higher:
    the estimate sits nearer the recent ones."""
    old = market(100, seed=13, days=365, noise=0.03)
    old = [s._replace(sold_at=s.sold_at - 2 * 365 * DAY_MS) for s in old]
    recent = market(100, seed=13, days=60, noise=0.03)
    new = [s._replace(price=round(s.price * 1.3)) for s in recent]
    both = value(book_of(old + new), camry(2018), NOW).estimate
    only_old = value(book_of(old), camry(2018), NOW).estimate
    only_new = value(book_of(new), camry(2018), NOW).estimate
    assert both is not None
    assert only_old is not None
    assert only_new is not None
    assert both > (only_old + only_new) / 2


def test_the_estimate_follows_the_market_it_was_fitted_on() -> None:
    """A quiet market (noise 1 %): for cars like those it sold (ages and mileages its sales
    cover), the estimate is within 1 % of the market's own price, inside the range."""
    book = book_of(market(300, seed=14, noise=0.01))
    for year, mileage in ((2016, 120_000), (2020, 80_000), (2023, 45_000)):
        age = age_years(year, NOW)
        truth = 30_000 * 0.9**age * (1 - mileage / 400_000)
        got = value(book, camry(year, mileage), NOW)
        assert got.estimate is not None
        assert got.low is not None
        assert got.high is not None
        assert abs(got.estimate - truth) / truth < 0.01, (year, got, truth)
        assert got.low <= truth <= got.high


def test_a_noisier_market_gives_a_wider_range() -> None:
    quiet = value(book_of(market(200, seed=15, noise=0.03)), camry(2019), NOW)
    loud = value(book_of(market(200, seed=15, noise=0.2)), camry(2019), NOW)
    assert quiet.estimate
    assert quiet.low
    assert quiet.high
    assert loud.estimate
    assert loud.low
    assert loud.high
    assert (loud.high - loud.low) / loud.estimate > 2 * (quiet.high - quiet.low) / quiet.estimate


# --- widening to the make -------------------------------------------------------------------


def _toyotas() -> list[Sale]:
    camrys = market(150, seed=21)
    rav4s = market(150, seed=22, model="RAV4", base=34_000)
    corollas = market(3, seed=23, model="Corolla", base=22_000, years=(2018, 2019))
    return camrys + rav4s + corollas


def test_a_model_with_enough_sales_stays_with_its_own() -> None:
    got = value(book_of(_toyotas()), camry(2018), NOW)
    assert got.scope is Scope.MODEL


def test_a_model_with_too_few_widens_to_its_make_with_a_wider_range() -> None:
    sales = _toyotas()
    corolla = Subject("toyota", "COROLLA", 2018, 60_000)
    own = value(book_of(sales, model="Corolla"), corolla, NOW)
    assert not own.usable
    assert own.comparables == 3
    make = value(book_of(sales, model=None), corolla, NOW)
    got = widen(own, make)
    assert got is make
    assert got.scope is Scope.MAKE
    assert got.comparables > 3
    model_answer = value(book_of(sales), camry(2018), NOW)
    assert got.estimate
    assert got.low
    assert got.high
    assert model_answer.estimate
    assert model_answer.low
    assert model_answer.high
    width = (got.high - got.low) / got.estimate
    assert width > 1.5 * (model_answer.high - model_answer.low) / model_answer.estimate


def test_the_make_answer_leans_toward_the_models_own_few_sales() -> None:
    """Three Corollas sold well below the make's level: the widened Corolla estimate is
    below that of a Toyota model never sold here."""
    make = book_of(_toyotas(), model=None)
    corolla = value(make, Subject("Toyota", "Corolla", 2018, 60_000), NOW).estimate
    unseen = value(make, Subject("Toyota", "Supra", 2018, 60_000), NOW).estimate
    assert corolla is not None
    assert unseen is not None
    assert corolla < unseen


def test_a_make_with_too_few_sales_answers_none_with_the_most_found() -> None:
    sales = market(3, seed=31, make="Lada", model="Niva", years=(2018, 2018))
    sales += market(1, seed=32, make="Lada", model="Vesta", years=(2018, 2018))
    subject = Subject("Lada", "Niva", 2018, 50_000)
    own = value(book_of(sales, "Lada", "Niva"), subject, NOW)
    make = value(book_of(sales, "Lada", None), subject, NOW)
    assert widen(own, make) == Estimate(None, None, None, 4, None)


# --- money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "rounded"),
    [(0.2, 10), (994.0, 990), (996.0, 1_000), (4_024.0, 4_000), (4_026.0, 4_050),
     (25_049.0, 25_000), (25_051.0, 25_100), (1e15, 10**12)],
)  # fmt: skip
def test_estimates_are_whole_units_rounded_once(units: float, rounded: int) -> None:
    got = whole_units(math.log(units))
    assert type(got) is int
    assert got == rounded


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 120),
    base=st.integers(2_000, 400_000),
    noise=st.sampled_from([0.0, 0.02, 0.1, 0.4]),
    year=st.integers(2005, 2027),
    mileage=st.integers(0, 400_000),
)
def test_every_answer_is_whole_units_in_order_or_no_numbers(
    seed: int, n: int, base: int, noise: float, year: int, mileage: int
) -> None:
    sales = market(n, seed, base=base, noise=noise)
    got = value(book_of(sales), camry(year, mileage), NOW)
    assert 0 <= got.comparables <= n
    if got.comparables < MIN_COMPARABLES:
        assert (got.estimate, got.low, got.high, got.scope) == (None, None, None, None)
        return
    assert got.estimate is not None
    assert got.low is not None
    assert got.high is not None
    assert all(type(x) is int for x in (got.estimate, got.low, got.high))
    assert 0 < got.low <= got.estimate <= got.high <= 10**12


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), year=st.integers(2012, 2024))
def test_the_order_of_the_sales_does_not_matter(seed: int, year: int) -> None:
    sales = market(60, seed)
    shuffled = sales[:]
    random.Random(seed).shuffle(shuffled)
    assert value(book_of(sales), camry(year), NOW) == value(book_of(shuffled), camry(year), NOW)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), year=st.integers(2012, 2024))
def test_twice_the_prices_twice_the_estimate(seed: int, year: int) -> None:
    sales = market(60, seed)
    doubled = [s._replace(price=2 * s.price) for s in sales]
    one, two = value(book_of(sales), camry(year), NOW), value(book_of(doubled), camry(year), NOW)
    if one.estimate is None:
        assert two.estimate is None
        return
    assert two.estimate is not None
    assert two.low is not None
    assert one.low is not None
    assert abs(two.estimate - 2 * one.estimate) <= 200  # one rounding step of 100, twice
    assert abs(two.low - 2 * one.low) <= 200


# --- the pieces -----------------------------------------------------------------------------


def test_a_large_book_is_built_in_slices() -> None:
    sales = market(10_000, seed=41)
    steps = build(columns(sales), "toyota", "camry", NOW)
    count = 0
    while True:
        try:
            next(steps)
        except StopIteration:
            break
        count += 1
    assert count >= 3 * len(sales) // CHUNK  # features, fit and residuals, each by chunk


def test_slopes_fitted_on_a_sample_of_a_big_book_value_as_the_whole_would() -> None:
    """10,000 sales: slopes from about 2,048 of them (every 5th), intercept and comparables
    from all; the estimates are those of a fit on every sale, to within half a percent."""
    sales = market(10_000, seed=45, noise=0.1)
    whole = run(build(columns(sales), "toyota", "camry", NOW, fit_sample=10**9))
    sampled = run(build(columns(sales), "toyota", "camry", NOW))
    for year, mileage in ((2013, 150_000), (2018, 80_000), (2023, 30_000)):
        full, part = (
            value(whole, camry(year, mileage), NOW),
            value(sampled, camry(year, mileage), NOW),
        )
        assert full.estimate is not None
        assert part.estimate is not None
        assert abs(part.estimate - full.estimate) <= 0.005 * full.estimate + 100
        assert part.comparables == full.comparables


def test_sales_are_ordered_by_model_then_year() -> None:
    sales = market(30, seed=42) + market(30, seed=43, model="RAV4")
    random.Random(44).shuffle(sales)
    got = ordered(columns(sales))
    assert list(zip(got.models, got.years, strict=True)) == sorted(
        (key(s.model), s.year) for s in sales
    )
    again = ordered(got)
    assert again is got  # already in order: left as is


def test_the_quantiles_and_moments_of_plain_values() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert weighted_quantiles(values, [1.0] * 5, (0.2, 0.5, 1.0)) == [1.0, 3.0, 5.0]
    assert weighted_quantiles(values, [0.0, 0.0, 0.0, 0.0, 1.0], (0.1,)) == [5.0]
    mean, sd, n_eff = weighted_moments(values, [1.0] * 5)
    assert (mean, n_eff) == (3.0, 5.0)
    assert sd == pytest.approx(math.sqrt(2.5))


@pytest.mark.parametrize(("df", "t"), [(0.5, 3.078), (1, 3.078), (4, 1.533), (4.5, 1.5045),
                                       (30, 1.310), (120, 1.289), (10**6, 1.2816)])  # fmt: skip
def test_student_t(df: float, t: float) -> None:
    assert t90(df) == pytest.approx(t, abs=1e-3)


def test_makes_and_models_match_whatever_their_case_and_spacing() -> None:
    assert key("  Mercedes-Benz ") == key("mercedes-benz")
    assert key("Silverado  1500") == "silverado 1500"


def test_model_years_count_from_the_first_of_january() -> None:
    assert year_start_ms(1970) == 0
    assert year_start_ms(2000) == 946_684_800_000
    assert age_years(2027, NOW) == 0.0  # next year's model is new
    assert age_years(2025, NOW) == pytest.approx(1.9, abs=0.02)


def test_prepared_sales_are_aged_at_their_sale_never_below_zero() -> None:
    """A 2025 model sold in the autumn of 2024 is age 0, not negative; one sold mid-2025 is
    half a year old; a sale added to prepared sales is aged the same way, in its place."""
    jan = year_start_ms(2025)
    early = Sale("Toyota", "Camry", 2025, 10, 30_000, jan - 90 * DAY_MS)
    mid = Sale("Toyota", "Camry", 2025, 6_000, 29_000, jan + 182 * DAY_MS)
    both = run(prepare(columns([early, mid])))
    assert sorted(both.age) == [0.0, pytest.approx(182 / 365.2425)]
    assert sorted(both.age2) == [0.0, pytest.approx((182 / 365.2425) ** 2 / 10)]
    added = run(prepare(columns([mid]))).with_sale("camry", 2025, 10, 30_000, early.sold_at)
    assert sorted(added.age) == sorted(both.age)
    assert sorted(added.log_value) == sorted(both.log_value)
    assert len(added) == 2
