"""Checking SMS templates: render each with worst-case data and count its segments.

Rule: every template in message_templates/ must stay within
the configured segment limit (SMS_SEGMENT_LIMIT, default 3; invitations 2) even with the longest
names, links and times it can be given, and should be GSM-7 (one curly quote or emoji
turns a message into UCS-2 and more than doubles its cost), so the check names every
character that forces UCS-2.

Each language folder (app.sms.translations) is checked the same way with that
language's longest day, month and time names: its encoding, segments and cost, whether
it is approved, a flag at 4 segments or more, and the GSM-7-friendly spelling a
Latin-script language allows (app.domain.spelling), with its trade-off.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateError, Undefined

from app.domain import segments, spelling, timefmt
from app.domain.personalisation import longest
from app.sms import translations

SUFFIX = ".txt.j2"
# the longest a slot time or deadline can be written (app.domain.timefmt)
LONGEST_SLOT = "Wed 30 Sep 10:20"
LONGEST_DEADLINE = "Wed 30 Sep, 12:30pm"
# a filler for names a template uses that we have no worst case for
UNKNOWN_FILLER = "X" * 20

# Invitations go to every eligible person, so each costs money at scale: they must fit
# in two segments (306 GSM-7 characters) whatever the configured limit.
INVITATION_SEGMENT_LIMIT = 2
INVITATION_PREFIX = "invitation_"

# long but real-world values: a hyphenated forename and a long practice name (rendering
# trims first names to 30; the longest practice names in England are about this long)
WORST_CASE: dict[str, Any] = {
    "first_name": "Alexandra-Charlotte",
    "practice_name": "St Bartholomew's Park Road Medical Centre",
    "practice_phone": "020 7946 0999",
    "slots": [LONGEST_SLOT] * 3,
    "slot_time": LONGEST_SLOT,
    "others": "2 or 3",
    "when": LONGEST_SLOT,
    "expiry": LONGEST_DEADLINE,
    "deadline": LONGEST_DEADLINE,
    "info_url": "https://www.nhs.uk/conditions/nhs-health-check/",
    "personal": longest(),
    "location": "Nurse room 2, Park Road Surgery, first floor",
    "practice_address": "Park Road Surgery, 123 Long Street Name, London SW1A 1AA",
    "duration_minutes": 45,
    "calendar_url": "https://nudge.example.nhs.uk/c/" + "A" * 43 + ".ics",
}


@dataclass(frozen=True)
class TemplateReport:
    name: str
    encoding: str
    characters: int
    segments: int
    unicode_chars: tuple[str, ...]
    unknown_names: tuple[str, ...]
    error: str | None = None

    def limit(self, configured: int) -> int:
        """The segment limit for this template: invitations have their own, lower one."""
        if self.name.startswith(INVITATION_PREFIX):
            return min(configured, INVITATION_SEGMENT_LIMIT)
        return configured

    def ok(self, limit: int) -> bool:
        return self.error is None and self.segments <= self.limit(limit)


class _Recording(Undefined):
    """Undefined names render as a 20-character filler and are remembered."""

    seen: set[str] = set()

    def __str__(self) -> str:
        if self._undefined_name:
            _Recording.seen.add(self._undefined_name)
        return UNKNOWN_FILLER

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __bool__(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self


def _environment(directory: Path) -> Environment:
    return Environment(
        loader=FileSystemLoader(str(directory)),
        undefined=_Recording,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render_worst(directory: Path, name: str, context: dict[str, Any] = WORST_CASE) -> str:
    """`name` (without suffix) rendered with worst-case data, every branch taken true."""
    _Recording.seen = set()
    return _environment(directory).get_template(name + SUFFIX).render(**context).strip()


def check_template(
    directory: Path, name: str, context: dict[str, Any] = WORST_CASE
) -> TemplateReport:
    """Render `name` (without suffix) with worst-case data, every branch taken true."""
    try:
        text = render_worst(directory, name, context)
    except TemplateError as error:
        return TemplateReport(name, "-", 0, 0, (), (), error=str(error))
    count = segments.count(text)
    return TemplateReport(
        name,
        count.encoding,
        count.characters,
        count.segments,
        count.unicode_chars,
        tuple(sorted(_Recording.seen)),
    )


def _weight(text: str) -> tuple[int, int]:
    count = segments.count(text)
    return (0 if count.encoding == "GSM-7" else 1, count.characters)


@cache
def worst_case(language: str) -> dict[str, Any]:
    """WORST_CASE with the longest slot time and deadline `language` writes in a year,
    and its longest personalisation lines."""
    if language == "en":
        return WORST_CASE
    start = datetime(2027, 1, 1, 10, 20, tzinfo=UTC)
    moments = [start + timedelta(days=d, hours=h) for d in range(366) for h in (0, 2, 12)]
    slot = max((timefmt.slot_time(m, language) for m in moments), key=_weight)
    deadline = max((timefmt.deadline(m, language) for m in moments), key=_weight)
    return {
        **WORST_CASE,
        "slots": [slot] * 3,
        "slot_time": slot,
        "when": slot,
        "expiry": deadline,
        "deadline": deadline,
        "personal": longest(language),
    }


FLAG_SEGMENTS = 4  # a translation this long or longer is flagged for a shorter wording


@dataclass(frozen=True)
class TranslationReport:
    language: str
    status: str  # app.sms.translations: approved | demo approval | draft
    report: TemplateReport
    plain: spelling.SpellingOffer | None

    @property
    def flagged(self) -> bool:
        return self.report.segments >= FLAG_SEGMENTS


def check_language(
    directory: Path, language: str, *, demo_approved: bool = False
) -> list[TranslationReport]:
    """Every translated template of `language` under `directory`, checked as English is."""
    folder = directory / language
    out = []
    for name in translations.english_kinds(folder):
        context = worst_case(language)
        report = check_template(folder, name, context)
        plain = None
        if report.error is None:
            plain = spelling.offer(language, render_worst(folder, name, context))
        status = translations.status(
            language, name, demo_approved=demo_approved, directory=directory
        )
        out.append(TranslationReport(language, status, report, plain))
    return out


def check_all(directory: Path) -> list[TemplateReport]:
    names = sorted(p.name[: -len(SUFFIX)] for p in directory.glob("*" + SUFFIX))
    return [check_template(directory, name) for name in names]


__all__ = [
    "FLAG_SEGMENTS",
    "INVITATION_SEGMENT_LIMIT",
    "TemplateReport",
    "TranslationReport",
    "check_all",
    "check_language",
    "check_template",
    "worst_case",
]
