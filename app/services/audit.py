"""The audit trail: who did what, when, from where. Written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import AuditEvent


def record(
    session: Session,
    *,
    now: datetime,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    ip: str | None = None,
) -> None:
    """Add one audit entry. Never put patient identifiers in `target` or `detail`
    beyond internal ids: the audit log is read by admins, not clinicians."""
    session.add(
        AuditEvent(at=now, actor=actor, action=action, target=target, detail=detail or {}, ip=ip)
    )


def recent(
    db: Database, *, action: str = "", actor: str = "", offset: int = 0, limit: int = 100
) -> list[AuditEvent]:
    """Entries newest first; `action` matches a prefix ("sign_in" finds every sign-in
    entry), `actor` an exact (lower-case) email."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if actor:
        query = query.where(AuditEvent.actor == actor.lower())
    with db.transaction() as session:
        return list(session.scalars(query.offset(offset).limit(limit)))
