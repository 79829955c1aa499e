"""The days the diary deals in: slots, week views and booking day lists.

Far wider than any real appointment, and well clear of `datetime`'s own limits (years 1
and 9999), where stepping a week or converting to UTC would overflow.
"""

from __future__ import annotations

from datetime import date

FIRST = date(2000, 1, 1)
LAST = date(2199, 12, 31)
RANGE_HELP = f"the diary covers the years {FIRST.year} to {LAST.year}"


def covers(day: date) -> bool:
    return FIRST <= day <= LAST
