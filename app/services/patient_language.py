"""A patient's language and interpreter flag, changed by staff or by the resident.

Staff change it on the patient page or the conversation (audited, scoped to their
practices); a resident changes it by texting the language's name (app.services.reply_actions).
The list import sets it too, unless the file has no language column.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import Patient
from app.domain import languages
from app.services import audit


class LanguageError(ValueError):
    """Not a language we text in, or a patient the user may not change."""


def choices() -> list[tuple[str, str]]:
    """(code, label) of every language we text in, English first."""
    return [(code, language.label) for code, language in languages.LANGUAGES.items()]


def label(code: str | None) -> str:
    """`Polish (Polski)`; an unknown code as itself."""
    return languages.LANGUAGES[code].label if code in languages.LANGUAGES else str(code)


def set_language(
    db: Database,
    patient_id: int,
    *,
    language: str,
    interpreter_needed: bool,
    now: datetime,
    actor: str,
    practice_ids: Iterable[int] | None,
    mobile: str | None = None,
) -> str:
    """Record the patient's language and interpreter flag; returns the NHS number (to
    show the patient again). `practice_ids`: the user's practices (None: all);
    `mobile`: the conversation's number the patient must have, when changed from one."""
    code = languages.lookup(language)
    if code is None:
        raise LanguageError(f"{language!r} is not a language Nudge texts in")
    with db.transaction() as session:
        patient = session.get(Patient, patient_id)
        allowed = patient is not None and (
            practice_ids is None or patient.practice_id in set(practice_ids)
        )
        if mobile is not None and patient is not None and patient.mobile != mobile:
            allowed = False
        if patient is None or not allowed:
            raise LanguageError("no such patient at your practices")
        before = (patient.language, patient.interpreter_needed)
        patient.language = code
        patient.interpreter_needed = interpreter_needed
        if before != (code, interpreter_needed):
            audit.record(
                session,
                now=now,
                actor=actor,
                action="patient.language",
                target=f"patient:{patient_id}",
                detail={"from": before[0], "to": code, "interpreter_needed": interpreter_needed},
            )
        return patient.nhs_number


def switch_by_text(
    session: Session, patient_id: int, code: str, *, now: datetime, actor: str = "sms"
) -> bool:
    """The resident asked for `code` by texting its name (or the demo set it); False if
    nothing changed."""
    patient = session.get(Patient, patient_id)
    if patient is None or patient.language == code:
        return False
    audit.record(
        session,
        now=now,
        actor=actor,
        action="patient.language",
        target=f"patient:{patient_id}",
        detail={"from": patient.language, "to": code, "by": "text"},
    )
    patient.language = code
    return True
