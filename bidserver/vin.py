"""Vehicle identification numbers: the 17-character VIN and its check digit (position 9).

The North American check digit (49 CFR 565, ISO 3779 in practice): each character is
transliterated to a number (digits as themselves, letters by the table below; `I`, `O` and
`Q` never appear in a VIN), multiplied by its position's weight, and the sum taken modulo
11; a remainder of 10 is written `X`. Pure module, no I/O.

VINs are upper case on the wire and in the database; `is_valid_vin` does not fold case, so a
caller that wants to accept `1hgcm…` upper-cases it first and stores the upper-case form.
"""

from __future__ import annotations

VIN_LENGTH = 17
CHECK_POSITION = 8  # zero-based index of the check digit (the 9th character)

_LETTER_VALUES = {
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VALUES = {**{str(d): d for d in range(10)}, **_LETTER_VALUES}
_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)


def check_digit(vin: str) -> str:
    """The check character (`0` to `9`, or `X`) that `vin` should carry at position 9.

    `vin` must be 17 VIN characters; whatever is at position 9 is ignored (weight 0).
    """
    if not isinstance(vin, str) or len(vin) != VIN_LENGTH:
        raise ValueError(f"a VIN has {VIN_LENGTH} characters")
    total = 0
    for char, weight in zip(vin, _WEIGHTS, strict=True):
        value = _VALUES.get(char)
        if value is None:
            raise ValueError(f"{char!r} is not a VIN character (0-9, A-Z without I, O, Q)")
        total += value * weight
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def with_check_digit(vin17: str) -> str:
    """`vin17` with its 9th character replaced by the correct check digit."""
    digit = check_digit(vin17)
    return vin17[:CHECK_POSITION] + digit + vin17[CHECK_POSITION + 1 :]


def is_valid_vin(vin: object) -> bool:
    """True for a 17-character upper-case VIN whose check digit is right."""
    if not isinstance(vin, str) or len(vin) != VIN_LENGTH:
        return False
    try:
        return vin[CHECK_POSITION] == check_digit(vin)
    except ValueError:
        return False
