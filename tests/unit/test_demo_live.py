"""The demo stays alive (issue 10): the staircase of open auctions is restored as they close,
at fresh prices from the car's value."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from bidserver import demo, demo_live
from bidserver.demo_live import LIFETIMES, OPEN_AUCTIONS, SCHEDULED, Wanted

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def staircase_holds(lefts: list[timedelta]) -> bool:
    return all(
        sum(1 for left in lefts if left <= life) >= step + 1 for step, life in enumerate(LIFETIMES)
    )


def test_an_empty_demo_gets_one_auction_per_lifetime() -> None:
    plan = demo_live.plan_open([])
    assert [w.lasts for w in plan] == list(LIFETIMES)
    assert all(w.starts_in == timedelta(0) for w in plan)
    assert len(plan) == OPEN_AUCTIONS >= 10
    assert LIFETIMES[0] <= timedelta(minutes=5)  # one always closes within minutes
    assert LIFETIMES[-1] >= timedelta(days=2)


def test_a_full_demo_gets_nothing() -> None:
    assert demo_live.plan_open(list(LIFETIMES)) == []
    aged = [life - timedelta(seconds=30) for life in LIFETIMES]
    assert demo_live.plan_open(aged) == []


def test_a_closed_auction_is_replaced_by_one_of_its_lifetime() -> None:
    # The 4-minute auction closed and the rest aged 4 minutes: the old 9-minute one now
    # ends in 5, within 9 but not within 4, so a fresh 4-minute auction fills the gap.
    lefts = [life - LIFETIMES[0] for life in LIFETIMES[1:]]
    plan = demo_live.plan_open(lefts)
    assert plan == [Wanted(timedelta(0), LIFETIMES[0])]


@given(st.lists(st.integers(min_value=1, max_value=4 * 24 * 3600), max_size=30))
def test_after_planning_the_staircase_holds_and_nothing_is_wasted(seconds: list[int]) -> None:
    lefts = [timedelta(seconds=s) for s in seconds]
    plan = demo_live.plan_open(lefts)
    after = lefts + [w.lasts for w in plan]
    assert staircase_holds(after)
    if staircase_holds(lefts):
        assert plan == []
    # Never more than the demo's size is opened, and only as many as the worst gap needs.
    assert len(plan) <= OPEN_AUCTIONS
    within = [sum(1 for x in lefts if x <= life) for life in LIFETIMES]
    assert len(plan) == max(0, *(step + 1 - n for step, n in enumerate(within)))


def test_scheduled_auctions_are_topped_up() -> None:
    assert len(demo_live.plan_scheduled(0)) == len(SCHEDULED)
    assert demo_live.plan_scheduled(len(SCHEDULED)) == []
    assert all(w.starts_in > timedelta(0) for w in demo_live.plan_scheduled(0))


def test_auctions_are_priced_from_the_car_and_short_ones_cannot_be_held_open() -> None:
    cars = demo.catalogue(NOW)
    for index, car in enumerate(cars[:60]):
        for want in [*demo_live.plan_open([]), *demo_live.plan_scheduled(0)]:
            a = demo_live.auction(index, car, want, NOW)
            assert a.vehicle == index
            assert a.starts_at == NOW + want.starts_in
            assert a.ends_at - a.starts_at == want.lasts
            assert a.status == ("open" if want.starts_in == timedelta(0) else "scheduled")
            # Realistic: the bidding starts well below the car's value, the reserve near it.
            assert 0.3 * car.value <= a.starting_price <= 0.65 * car.value
            assert a.reserve_price is None or a.starting_price <= a.reserve_price <= car.value
            floor = a.reserve_price or a.starting_price
            assert a.buy_now_price is None or a.buy_now_price > floor
            if want.lasts <= timedelta(minutes=15):
                assert a.max_extensions is not None  # a load test cannot keep it open for ever
                assert a.anti_snipe_seconds <= 60


def test_the_same_car_is_priced_afresh_for_each_auction() -> None:
    car = demo.catalogue(NOW)[0]
    want = Wanted(timedelta(0), LIFETIMES[0])
    starts = [demo_live.auction(0, car, want, NOW + timedelta(minutes=m)) for m in range(20)]
    assert len({a.starting_price for a in starts}) > 1
    assert demo_live.auction(0, car, want, NOW) == demo_live.auction(0, car, want, NOW)
