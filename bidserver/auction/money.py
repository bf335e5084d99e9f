"""Money on the wire and in the rules: whole currency units as Python ints, never floats."""

from __future__ import annotations

from bidserver.errors import BadRequest

MAX_MONEY = 10**12

# (price strictly below, step); at or above the last bound the step is 1,000 (CONTRACT §2).
_INCREMENTS: tuple[tuple[int, int], ...] = (
    (1_000, 25),
    (5_000, 50),
    (10_000, 100),
    (25_000, 250),
    (50_000, 500),
)
_TOP_STEP = 1_000


def increment(price: int) -> int:
    """The bid step that applies at `price`."""
    for bound, step in _INCREMENTS:
        if price < bound:
            return step
    return _TOP_STEP


def parse_money(value: object, field: str) -> int:
    """Accept only a JSON/msgpack integer in 1..10^12; bool is an int in Python, so refuse it."""
    if type(value) is not int or not 0 < value <= MAX_MONEY:
        raise BadRequest(
            f"{field} must be a whole number of currency units from 1 to 10^12", field=field
        )
    return value
