"""Translated templates: which exist, which a person has approved, which one a text uses.

`message_templates/<code>/<kind>.txt.j2` translates the English `<kind>.txt.j2`. Its
header comment records its approval:

    approved-by: <the qualified translator or reviewer>
    approved-on: <YYYY-MM-DD>

Without both it is a draft: visible in the campaign review and `templates check`, never
sent (the English text goes instead). A kind a language lacks falls back to English,
never to a broken text. The demo (TRANSLATIONS_DEMO_APPROVED) treats drafts as approved,
and every place that shows a status says "demo approval".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from app import PROJECT_ROOT
from app.domain import languages

TEMPLATE_DIR = PROJECT_ROOT / "message_templates"
SUFFIX = ".txt.j2"
_HEADER = re.compile(r"\A\s*\{#(.*?)#\}", re.S)
_FIELD = re.compile(r"^\s*(approved-by|approved-on)\s*:[ \t]*(.*?)\s*$", re.M | re.I)

APPROVED = "approved"
DEMO = "demo approval"
DRAFT = "draft"
MISSING = "no translation"


@dataclass(frozen=True)
class Translation:
    language: str
    kind: str
    approved_by: str
    approved_on: date | None

    @property
    def approved(self) -> bool:
        return bool(self.approved_by) and self.approved_on is not None


def read_header(text: str) -> tuple[str, date | None]:
    """(approved-by, approved-on) from a template's leading comment; blanks if absent or
    the date is not YYYY-MM-DD."""
    found = _HEADER.match(text)
    fields = {k.lower(): v for k, v in _FIELD.findall(found.group(1))} if found else {}
    try:
        on = date.fromisoformat(fields.get("approved-on", ""))
    except ValueError:
        on = None
    return fields.get("approved-by", ""), on


def english_kinds(directory: Path = TEMPLATE_DIR) -> tuple[str, ...]:
    return tuple(sorted(p.name[: -len(SUFFIX)] for p in directory.glob("*" + SUFFIX)))


@cache
def catalogue(directory: Path = TEMPLATE_DIR) -> dict[str, dict[str, Translation]]:
    """language -> kind -> its translation, for every language folder we text in."""
    found: dict[str, dict[str, Translation]] = {}
    for code in languages.TRANSLATED:
        folder = directory / code
        kinds: dict[str, Translation] = {}
        for path in sorted(folder.glob("*" + SUFFIX)) if folder.is_dir() else ():
            by, on = read_header(path.read_text(encoding="utf-8"))
            kind = path.name[: -len(SUFFIX)]
            kinds[kind] = Translation(code, kind, by, on)
        found[code] = kinds
    return found


def status(language: str, kind: str, *, demo_approved: bool, directory: Path = TEMPLATE_DIR) -> str:
    """approved | demo approval | draft | no translation, for one kind in one language."""
    translation = catalogue(directory).get(language, {}).get(kind)
    if translation is None:
        return MISSING
    if translation.approved:
        return APPROVED
    return DEMO if demo_approved else DRAFT


def template_for(
    kind: str, language: str | None, *, demo_approved: bool, directory: Path = TEMPLATE_DIR
) -> tuple[str, str]:
    """(template file name, language it is in): the translation when it may be sent,
    else English."""
    code = language or languages.ENGLISH
    if code != languages.ENGLISH and status(
        code, kind, demo_approved=demo_approved, directory=directory
    ) in (APPROVED, DEMO):
        return f"{code}/{kind}{SUFFIX}", code
    return f"{kind}{SUFFIX}", languages.ENGLISH


@dataclass(frozen=True)
class LanguageStatus:
    """One language's translations, for the campaign review and `templates check`."""

    language: str
    approved: tuple[str, ...]
    demo: tuple[str, ...]
    drafts: tuple[str, ...]
    missing: tuple[str, ...]

    @property
    def sendable(self) -> bool:
        """Nothing in it is a draft: every text goes translated or (missing) in English."""
        return not self.drafts

    @property
    def summary(self) -> str:
        if self.drafts:
            return f"draft ({len(self.drafts)} texts): English is sent until approved"
        if self.demo:
            return "demo approval (not approved by a translator)"
        if not self.approved:
            return "no translation: English"
        if self.missing:
            return f"approved; {len(self.missing)} texts have no translation and go in English"
        return "approved"


def language_status(
    language: str,
    *,
    demo_approved: bool,
    kinds: tuple[str, ...] | None = None,
    directory: Path = TEMPLATE_DIR,
) -> LanguageStatus:
    """Where each of `kinds` (default: every English kind) stands in `language`."""
    sorted_kinds: dict[str, list[str]] = {APPROVED: [], DEMO: [], DRAFT: [], MISSING: []}
    for kind in kinds if kinds is not None else english_kinds(directory):
        found = status(language, kind, demo_approved=demo_approved, directory=directory)
        sorted_kinds[found].append(kind)
    return LanguageStatus(
        language,
        tuple(sorted_kinds[APPROVED]),
        tuple(sorted_kinds[DEMO]),
        tuple(sorted_kinds[DRAFT]),
        tuple(sorted_kinds[MISSING]),
    )


__all__ = [
    "APPROVED",
    "DEMO",
    "DRAFT",
    "MISSING",
    "LanguageStatus",
    "TEMPLATE_DIR",
    "Translation",
    "catalogue",
    "english_kinds",
    "language_status",
    "read_header",
    "status",
    "template_for",
]
