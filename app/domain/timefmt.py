"""Times written for a phone screen, in Europe/London whatever the server's zone."""

from __future__ import annotations

from datetime import datetime

from app.clock import LONDON


def slot_time(at: datetime) -> str:
    """`Tue 3 Dec 10:20`: short enough for three in one SMS, unambiguous in a week."""
    local = at.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"


def deadline(at: datetime) -> str:
    """`Thu 5 Dec, 6pm` or `Thu 5 Dec, 6:30pm`: how people write a deadline."""
    local = at.astimezone(LONDON)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{local:%a} {local.day} {local:%b}, {hour}{minutes}{suffix}"


def local(at: datetime) -> datetime:
    return at.astimezone(LONDON)
