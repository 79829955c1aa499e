"""GP practices: registering one and finding it by ODS code."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from app.data import staff
from app.data.db import Database
from app.data.models import Practice
from app.data.slots import practice_with_ods
from app.services import audit

# ODS organisation codes for GP practices: a letter and five digits (e.g. F84003);
# other organisation codes are 3-6 letters and digits, so accept those too.
_ODS = re.compile(r"[A-Z0-9]{3,8}")


class PracticeError(ValueError):
    pass


def normalise_ods(ods: str) -> str:
    """ODS codes are upper case letters and digits; people type them any case."""
    code = ods.strip().upper()
    if not _ODS.fullmatch(code):
        raise PracticeError(f"not an ODS code: {ods!r}")
    return code


def get_by_ods(session: Session, ods: str) -> Practice | None:
    return practice_with_ods(session, normalise_ods(ods))


def require_by_ods(session: Session, ods: str) -> Practice:
    practice = get_by_ods(session, ods)
    if practice is None:
        raise PracticeError(f"no practice with ODS code {normalise_ods(ods)}")
    return practice


def add_practice(
    db: Database,
    *,
    ods: str,
    name: str,
    phone: str | None = None,
    address: str | None = None,
    local_authority: str | None = None,
    now: datetime,
    actor: str = "system",
) -> tuple[Practice, bool]:
    """Register a practice, or update its details if the ODS code is known.

    Returns (practice, created). Idempotent, so scripts and the demo can run it twice.
    """
    code = normalise_ods(ods)
    if not name.strip():
        raise PracticeError("a practice needs a name")
    with db.transaction() as session:
        practice = practice_with_ods(session, code)
        created = practice is None
        if practice is None:
            practice = Practice(ods_code=code, name=name.strip(), created_at=now)
            session.add(practice)
        wanted: dict[str, str | None] = {"name": name.strip()}
        if phone is not None:
            wanted["phone"] = phone.strip() or None
        if address is not None:
            wanted["address"] = address.strip() or None
        if local_authority is not None:
            wanted["local_authority"] = local_authority.strip() or None
        changed = sorted(k for k, v in wanted.items() if getattr(practice, k) != v)
        for key in changed:
            setattr(practice, key, wanted[key])
        session.flush()
        if created or changed:  # nothing changed, nothing to audit (the demo runs twice)
            audit.record(
                session,
                now=now,
                actor=actor,
                action="practice.added" if created else "practice.updated",
                target=f"practice:{practice.id}",
                detail={"ods": code, "changed": changed},
            )
    return practice, created


def list_practices(session: Session) -> list[Practice]:
    return staff.practices_by_ods(session)


def by_name(db: Database, only: frozenset[int] | None = None) -> list[Practice]:
    """Practices in name order, for pickers; `only` limits them to these ids."""
    with db.transaction() as session:
        return staff.practices_by_name(session, only)
