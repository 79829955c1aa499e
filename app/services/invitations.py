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

from app.domain import timefmt
from app.domain.personalisation import personalise
from app.sms.rendering import environment, render


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


def render_invitation(facts: InvitationFacts) -> str:
    return render(f"invitation_{facts.variant}", **invitation_context(facts))


def invitation_context(
    facts: InvitationFacts, slot_text: Any = timefmt.slot_time, expiry: str | None = None
) -> dict[str, Any]:
    return {
        "first_name": (facts.first_name or "").strip()[:30] or None,
        "practice_name": facts.practice_name,
        "practice_phone": facts.practice_phone or "your GP practice",
        "slots": [slot_text(s) for s in facts.slot_starts],
        "expiry": expiry or timefmt.deadline(facts.expires_at),
        "info_url": facts.info_url or "",
        "personal": _personal(facts.age_band, facts.sex),
    }


@lru_cache(maxsize=256)
def _personal(age_band: str | None, sex: str | None) -> dict[str, str]:
    """A handful of (age band, sex) pairs cover everyone: worked out once a process."""
    return personalise(age_band=age_band, sex=sex)


class InvitationRenderer:
    """Renders many invitations, each template looked up and each slot time formatted once
    (the same text `render_invitation` gives)."""

    def __init__(self) -> None:
        self._templates: dict[str, Any] = {}
        self._slot_text: dict[datetime, str] = {}
        self._expiry_text: dict[datetime, str] = {}

    def _slot(self, starts_at: datetime) -> str:
        if starts_at not in self._slot_text:
            self._slot_text[starts_at] = timefmt.slot_time(starts_at)
        return self._slot_text[starts_at]

    def render(self, facts: InvitationFacts) -> str:
        template = self._templates.get(facts.variant)
        if template is None:
            template = environment().get_template(f"invitation_{facts.variant}.txt.j2")
            self._templates[facts.variant] = template
        if facts.expires_at not in self._expiry_text:
            self._expiry_text[facts.expires_at] = timefmt.deadline(facts.expires_at)
        context = invitation_context(facts, self._slot, self._expiry_text[facts.expires_at])
        return str(template.render(**context)).strip()
