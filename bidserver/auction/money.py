"""Money on the wire and in the rules: whole currency units as Python ints, never floats."""

from __future__ import annotations

from bisect import bisect_right

from bidserver.auction.errors import BadRequest

MAX_MONEY = 10**12

# Prices strictly below _BOUNDS[i] step by _STEPS[i]; at or above the last bound the step
# is 1,000 (CONTRACT §2).
_BOUNDS: tuple[int, ...] = (1_000, 5_000, 10_000, 25_000, 50_000)
_STEPS: tuple[int, ...] = (25, 50, 100, 250, 500, 1_000)


def increment(price: int) -> int:
    """The bid step that applies at `price`."""
    return _STEPS[bisect_right(_BOUNDS, price)]


def parse_money(value: object, field: str) -> int:
    """Accept only a JSON/msgpack integer in 1..10^12; bool is an int in Python, so refuse it."""
    if type(value) is not int or not 0 < value <= MAX_MONEY:
        raise BadRequest(
            f"{field} must be a whole number of currency units from 1 to 10^12", field=field
        )
    return value
