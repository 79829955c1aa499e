"""Dates as GP systems export them: 2026-01-14, 14/01/2026 and 14-Jan-2026."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_UK = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_MON = re.compile(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})")

FORMATS_HELP = "YYYY-MM-DD, DD/MM/YYYY or DD-Mon-YYYY"


class DateFormatError(ValueError):
    pass


def parse_date(text: str) -> date:
    """A date in one of the three accepted formats (YYYY-MM-DD, DD/MM/YYYY, DD-Mon-YYYY).

    Raises DateFormatError saying "not a date" for an unknown shape and "impossible date"
    for a right shape naming a day that does not exist (31/02/1970).
    US-style MM/DD/YYYY is never guessed: 03/12/1975 is 3 December.
    """
    value = text.strip()
    if m := _ISO.fullmatch(value):
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    elif m := _UK.fullmatch(value):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    elif m := _MON.fullmatch(value):
        month_number = _MONTHS.get(m[2].lower())
        if month_number is None:
            raise DateFormatError(f"not a date ({FORMATS_HELP}): {value!r}")
        day, month, year = int(m[1]), month_number, int(m[3])
    else:
        raise DateFormatError(f"not a date ({FORMATS_HELP}): {value!r}")
    try:
        return date(year, month, day)
    except ValueError:
        raise DateFormatError(f"impossible date: {value!r}") from None


def parse_optional_date(text: str | None) -> date | None:
    """parse_date, with blank meaning no date."""
    if text is None or not text.strip():
        return None
    return parse_date(text)


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February becomes 28 February.

    28 February (not 1 March) keeps "aged N on D" equal to "born on or before
    years_before(D, N)" for every D, including 29 February (see eligibility.age_on).
    """
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year - years, day=28)
