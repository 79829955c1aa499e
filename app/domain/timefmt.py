"""Times written for a phone screen, in Europe/London whatever the server's zone.

English keeps its hand-tuned forms; other languages take their day and month names and
time format from CLDR through Babel (a maintained library, not a table of ours), still
in UK time.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache

from babel import Locale
from babel.dates import format_skeleton, format_time

from app.clock import LONDON

# the CLDR locale a language's texts use (Portuguese: the European spelling)
LOCALES = {"pt": "pt_PT"}
# CLDR puts no-break spaces in times ("10:20\u202fAM"): not in GSM-7, and a plain space
# reads the same on a phone
_SPACES = str.maketrans({"\u202f": " ", "\u00a0": " "})


@cache
def _locale(language: str) -> Locale:
    return Locale.parse(LOCALES.get(language, language))


def _english(language: str | None) -> bool:
    return language is None or language == "en"


def slot_time(at: datetime, language: str | None = None) -> str:
    """`Tue 3 Dec 10:20`: short enough for three in one SMS, unambiguous in a week."""
    local = at.astimezone(LONDON)
    if _english(language):
        return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
    assert language is not None
    locale = _locale(language)
    day = format_skeleton("MMMEd", local, locale=locale)
    return f"{day} {format_time(local, 'short', locale=locale)}".translate(_SPACES)


def deadline(at: datetime, language: str | None = None) -> str:
    """`Thu 5 Dec, 6pm` or `Thu 5 Dec, 6:30pm`: how people write a deadline."""
    local = at.astimezone(LONDON)
    if not _english(language):
        return slot_time(at, language)
    hour = local.hour % 12 or 12
    suffix = "am" if local.hour < 12 else "pm"
    minutes = f":{local.minute:02d}" if local.minute else ""
    return f"{local:%a} {local.day} {local:%b}, {hour}{minutes}{suffix}"


def local(at: datetime) -> datetime:
    return at.astimezone(LONDON)
