"""The audit trail: who did what, when, from where. Written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.data import operations
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
    with db.transaction() as session:
        return operations.audit_events(
            session,
            action=action,
            actor=actor.lower(),
            offset=offset,
            limit=limit,
        )
