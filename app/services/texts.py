"""A text to one patient, in their language: the one way services render an SMS for
someone they know (the invitation has its own batch renderer in `invitations`).

The patient's language picks the translation when it may be sent (approved, or the
demo's approval), else English; datetimes in `context` are written in the language
the text is actually in (app.sms.rendering).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.data.models import Patient
from app.domain import languages
from app.settings import Settings
from app.sms.rendering import render


def language_of(session: Session, patient_id: int | None) -> str:
    """The patient's language; English for nobody we know."""
    patient = session.get(Patient, patient_id) if patient_id is not None else None
    return patient.language if patient is not None else languages.ENGLISH


def render_for(
    session: Session, patient_id: int | None, kind: str, *, settings: Settings, **context: Any
) -> str:
    return render_in(language_of(session, patient_id), kind, settings=settings, **context)


def render_in(language: str | None, kind: str, *, settings: Settings, **context: Any) -> str:
    return render(
        kind, language=language, demo_approved=settings.translations_demo_approved, **context
    )
