"""What an invitation says: the facts of an offer rendered through its variant's template.

One renderer for every offer, a wave's or one made on demand. A wave renders the same
few templates and slot times many times over, so the renderer looks each template up
once and formats each distinct start time once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from app.domain import languages, timefmt
from app.domain.personalisation import personalise
from app.sms.rendering import environment
from app.sms.translations import template_for


def expiry_for(now: datetime, hold_hours: int) -> datetime:
    """The hold ends on the hour after `hold_hours`: `Thu 5 Dec, 6pm` reads better than
    `6:23pm`, and the patient gets a little longer, never less."""
    end = now + timedelta(hours=hold_hours)
    rounded = end.replace(minute=0, second=0, microsecond=0)
    return rounded if rounded == end else rounded + timedelta(hours=1)


@dataclass(frozen=True)
class InvitationFacts:
    """What an invitation says; everything comes from the offer's rows."""

    variant: str
    first_name: str | None
    practice_name: str
    practice_phone: str | None
    slot_starts: Sequence[datetime]
    expires_at: datetime
    info_url: str | None
    age_band: str | None
    sex: str | None
    # the resident's language: the invitation goes in it once its translation is approved
    language: str = languages.ENGLISH


def render_invitation(facts: InvitationFacts, *, demo_approved: bool = False) -> str:
    return InvitationRenderer(demo_approved=demo_approved).render(facts)


def invitation_context(
    facts: InvitationFacts, slots: list[str], expiry: str, language: str = languages.ENGLISH
) -> dict[str, Any]:
    """The template's fields; `language` is the one the template is in, so the
    personalisation lines match the text around them."""
    return {
        "first_name": (facts.first_name or "").strip()[:30] or None,
        "practice_name": facts.practice_name,
        "practice_phone": facts.practice_phone or "your GP practice",
        "slots": slots,
        "expiry": expiry,
        "info_url": facts.info_url or "",
        "personal": _personal(facts.age_band, facts.sex, language),
    }


@lru_cache(maxsize=256)
def _personal(age_band: str | None, sex: str | None, language: str) -> dict[str, str]:
    """A handful of (age band, sex, language) triples cover everyone: worked out once a
    process."""
    return personalise(age_band=age_band, sex=sex, language=language)


class InvitationRenderer:
    """Renders many invitations, each (variant, language) template looked up and each
    slot time formatted once per language. A language whose invitation translation is
    not approved gets the English template, with English times.

    `demo_approved`: draft translations count as approved (Settings.translations_demo_approved).
    """

    def __init__(self, *, demo_approved: bool = False) -> None:
        self.demo_approved = demo_approved
        self._templates: dict[tuple[str, str], tuple[Any, str]] = {}
        self._slot_text: dict[tuple[datetime, str], str] = {}
        self._expiry_text: dict[tuple[datetime, str], str] = {}

    def _slot(self, starts_at: datetime, language: str) -> str:
        key = (starts_at, language)
        if key not in self._slot_text:
            self._slot_text[key] = timefmt.slot_time(starts_at, language)
        return self._slot_text[key]

    def render(self, facts: InvitationFacts) -> str:
        key = (facts.variant, facts.language)
        found = self._templates.get(key)
        if found is None:
            base, english_only = languages.variant_template(facts.variant)
            name, used = template_for(
                f"invitation_{base}",
                languages.ENGLISH if english_only else facts.language,
                demo_approved=self.demo_approved,
            )
            found = self._templates[key] = (environment().get_template(name), used)
        template, used = found
        expiry_key = (facts.expires_at, used)
        if expiry_key not in self._expiry_text:
            self._expiry_text[expiry_key] = timefmt.deadline(facts.expires_at, used)
        slots = [self._slot(s, used) for s in facts.slot_starts]
        context = invitation_context(facts, slots, self._expiry_text[expiry_key], used)
        return str(template.render(**context)).strip()
