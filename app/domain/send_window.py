"""When a campaign may text people: a daily London-time window on chosen days, not bank holidays."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import holidays

from app.clock import LONDON

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# a year of closed days is far more than any sane window can produce; past it the
# window can never open and looping on would hide a configuration mistake
_SEARCH_DAYS = 370


@dataclass(frozen=True)
class SendWindow:
    """A daily opening [start, end) in London local time on `days` (0 = Monday)."""

    start: time
    end: time
    days: frozenset[int]

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"send window must start before it ends: {self.start}-{self.end}")
        if not self.days:
            raise ValueError("send window needs at least one day")
        if any(d not in range(7) for d in self.days):
            raise ValueError(f"send window days must be 0 (Mon) to 6 (Sun): {sorted(self.days)}")

    @classmethod
    def parse(cls, window: str = "09:00-19:00", days: str = "mon-sat") -> SendWindow:
        """Read `09:00-19:00` with `mon-sat` | `mon,tue,thu` | `mon-fri,sat` (campaign columns)."""
        start, end = _parse_window(window)
        return cls(start=start, end=end, days=_parse_days(days))

    @classmethod
    def stored(cls, start: time, end: time, days: str) -> SendWindow:
        """A campaign's window from its columns: start and end times and the days text."""
        return cls.parse(f"{start:%H:%M}-{end:%H:%M}", days)

    def describe(self) -> str:
        """`09:00-19:00 mon-sat`: the form staff typed, for logs and screens."""
        names = ",".join(DAY_NAMES[d] for d in sorted(self.days))
        return f"{self.start:%H:%M}-{self.end:%H:%M} {names}"


def _parse_window(text: str) -> tuple[time, time]:
    match = _WINDOW.match(text or "")
    if not match:
        raise ValueError(f"send window must look like 09:00-19:00, got {text!r}")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"send window has an impossible time: {text!r}") from exc
    if not start < end:
        raise ValueError(f"send window must start before it ends: {text!r}")
    return start, end


_DAY_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _day(name: str, whole: str) -> int:
    """`mon` or `monday` (any case) to 0."""
    key = name.strip().lower()
    for index, (short, full) in enumerate(zip(DAY_NAMES, _DAY_FULL, strict=True)):
        if key in (short, full):
            return index
    raise ValueError(
        f"unknown day {name.strip()!r} in {whole!r} (use mon, tue, wed, thu, fri, sat, sun)"
    )


def _parse_days(text: str) -> frozenset[int]:
    """Comma-separated days or ranges; a range may wrap the weekend (`fri-mon`)."""
    if not text or not text.strip():
        raise ValueError("send days are empty (e.g. mon-sat)")
    days: set[int] = set()
    for part in text.split(","):
        if not part.strip():
            raise ValueError(f"empty item in send days {text!r}")
        if "-" in part:
            bounds = part.split("-")
            if len(bounds) != 2:
                raise ValueError(f"bad day range {part.strip()!r} in {text!r}")
            first, last = _day(bounds[0], text), _day(bounds[1], text)
            d = first
            days.add(d)
            while d != last:
                d = (d + 1) % 7
                days.add(d)
        else:
            days.add(_day(part, text))
    return frozenset(days)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    """England and Wales bank holidays, from the maintained `holidays` package (gov.uk list)."""
    return frozenset(holidays.UK(subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    return day in _bank_holidays(day.year)


def _open_day(window: SendWindow, day: date) -> bool:
    return day.weekday() in window.days and not is_bank_holiday(day)


def is_open(window: SendWindow, at: datetime) -> bool:
    """True when `at` is inside the window on London's wall clock (09:00 in BST and in GMT)."""
    if at.tzinfo is None:
        raise ValueError("is_open needs an aware datetime")
    local = at.astimezone(LONDON)
    return _open_day(window, local.date()) and window.start <= local.time() < window.end


def next_opening(window: SendWindow, at: datetime) -> datetime:
    """The earliest UTC instant at or after `at` when the window is open (`at` if open now)."""
    if at.tzinfo is None:
        raise ValueError("next_opening needs an aware datetime")
    if is_open(window, at):
        return at.astimezone(UTC)
    local = at.astimezone(LONDON)
    for offset in range(_SEARCH_DAYS):
        day = local.date() + timedelta(days=offset)
        if not _open_day(window, day):
            continue
        opening = datetime.combine(day, window.start, tzinfo=LONDON).astimezone(UTC)
        if opening >= at:
            return opening
    raise ValueError(
        f"send window {window.describe()} never opens within a year of {at.isoformat()}"
    )
