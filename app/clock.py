"""Time, injectable: store UTC, render Europe/London, and let tests move the clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until told to move (tests, demos, `--now`)."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)

    def advance(self, **kwargs: float) -> datetime:
        self._at += timedelta(**kwargs)
        return self._at


def london_today(clock: Clock) -> date:
    return clock.now().astimezone(LONDON).date()


def as_utc(value: datetime) -> datetime:
    """An aware UTC datetime: every stored time is UTC, and a value read outside the
    UTCDateTime column type (a raw SQLite aggregate) may come back naive."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
