"""NHS numbers: the modulus 11 check digit, and valid synthetic numbers in the 999 range."""

from __future__ import annotations

from collections.abc import Iterator

# Weights 10..2 applied to the first nine digits (NHS Data Dictionary, "NHS Number").
_WEIGHTS = (10, 9, 8, 7, 6, 5, 4, 3, 2)
# The 999 range is reserved for testing and never issued to a real person.
TEST_PREFIX = "999"


def check_digit(first_nine: str) -> int | None:
    """The modulus 11 check digit for nine digits, or None when no valid number exists.

    check = 11 - (sum of digit x weight mod 11); 11 becomes 0; 10 means those nine
    digits can never form a valid NHS number.
    """
    total = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def clean(value: str) -> str:
    """Strip the spaces and hyphens people write NHS numbers with (`943 476 5919`)."""
    return value.replace(" ", "").replace("-", "").strip()


def is_valid(value: str) -> bool:
    """True for ten digits whose last is the modulus 11 check digit of the first nine.

    `check_digit` unrolled over the ASCII codes (the import checks a million of these,
    and this is about four times faster); a property test proves it equals
    `is_valid_plain` for any text.
    """
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    b = value.encode("ascii")
    total = (
        (b[0] * 10 + b[1] * 9 + b[2] * 8 + b[3] * 7 + b[4] * 6 + b[5] * 5 + b[6] * 4 + b[7] * 3)
        + b[8] * 2
        - 48 * 54
    )  # 54 = the sum of the weights, for the ASCII '0' offsets
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == b[9] - 48


def is_valid_plain(value: str) -> bool:
    """The rule as the NHS Data Dictionary states it: the reference `is_valid` must equal."""
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    return check_digit(value[:9]) == int(value[9])


def synthetic_number(serial: int) -> str | None:
    """The 999-range number with middle six digits `serial`; None if it has no check digit."""
    if not 0 <= serial <= 999_999:
        raise ValueError("serial must be 0..999999")
    first_nine = f"{TEST_PREFIX}{serial:06d}"
    check = check_digit(first_nine)
    return None if check is None else f"{first_nine}{check}"


def synthetic_numbers(start: int = 0) -> Iterator[str]:
    """Valid synthetic NHS numbers in the 999 range, in order from serial `start`.

    About one serial in eleven has no valid check digit and is skipped, so the range
    holds about 909,000 numbers; past the end it wraps to serial 0 (synthetic lists
    larger than that would repeat, which the importer then rejects as duplicates).
    """
    serial = start
    while True:
        number = synthetic_number(serial % 1_000_000)
        if number is not None:
            yield number
        serial += 1
