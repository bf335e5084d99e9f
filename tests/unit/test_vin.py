"""VIN check digits (bidserver.vin) and the demo catalogue built on them (bidserver.demo)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bidserver import demo
from bidserver.vin import check_digit, is_valid_vin, with_check_digit

KNOWN_VALID = [
    "1HGCM82633A004352",  # Honda Accord 2003
    "1M8GDM9AXKP042788",  # check digit X
    "JH4KA7561PC008269",  # Acura Legend 1993
    "11111111111111111",  # the classic all-ones self-check
    "5GZCZ43D13S812715",
]


@pytest.mark.parametrize("vin", KNOWN_VALID)
def test_known_vins_are_valid(vin: str) -> None:
    assert is_valid_vin(vin)
    assert with_check_digit(vin) == vin


@pytest.mark.parametrize("vin", KNOWN_VALID)
def test_every_other_check_digit_is_refused(vin: str) -> None:
    for digit in "0123456789X":
        if digit != vin[8]:
            assert not is_valid_vin(vin[:8] + digit + vin[9:])


def test_a_changed_character_breaks_the_check() -> None:
    assert not is_valid_vin("1HGCM82633A004353")
    assert not is_valid_vin("2HGCM82633A004352")


@pytest.mark.parametrize("letter", "IOQ")
def test_i_o_and_q_are_not_vin_characters(letter: str) -> None:
    vin = "1HGCM82633A00435" + letter
    assert not is_valid_vin(vin)
    with pytest.raises(ValueError, match="not a VIN character"):
        with_check_digit(vin)


@pytest.mark.parametrize(
    "vin",
    [
        "",
        "1HGCM82633A00435",  # 16
        "1HGCM82633A0043521",  # 18
        "1hgcm82633a004352",  # lower case
        "1HGCM8263 A004352",
        "1HGCM82633A00435\u0662",  # a non-ASCII digit
        None,
        12345678901234567,
        b"1HGCM82633A004352",
    ],
)
def test_malformed_vins_are_refused(vin: object) -> None:
    assert not is_valid_vin(vin)


def test_with_check_digit_fixes_position_nine_only() -> None:
    assert with_check_digit("1HGCM82603A004352") == "1HGCM82633A004352"
    assert with_check_digit("1M8GDM9A0KP042788") == "1M8GDM9AXKP042788"
    assert check_digit("1M8GDM9A0KP042788") == "X"


def test_with_check_digit_needs_seventeen_characters() -> None:
    with pytest.raises(ValueError, match="17"):
        with_check_digit("1HGCM8263")


NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_demo_catalogue_is_a_few_hundred_distinct_valid_vehicles() -> None:
    cars = demo.catalogue(NOW)
    assert len(cars) >= 200
    assert len({car.vin for car in cars}) == len(cars)
    assert all(is_valid_vin(car.vin) for car in cars)
    assert all(car.vin[9] == demo.year_code(car.year) for car in cars)
    assert all(2000 <= car.year <= NOW.year and 0 <= car.mileage <= 300_000 for car in cars)
    assert len({car.make for car in cars}) >= 15
    assert demo.catalogue(NOW) == cars  # deterministic


def test_demo_logins_meet_the_password_rules() -> None:
    from bidserver.accounts.passwords import email_problem, password_problem

    roles = sorted(user.role for user in demo.DEMO_USERS)
    assert roles == ["admin", "bidder", "bidder", "seller"]
    for user in demo.DEMO_USERS:
        assert email_problem(user.email) is None
        assert password_problem(user.password) is None
