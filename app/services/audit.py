"""The audit trail: who did what, when, from where. Written in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

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
