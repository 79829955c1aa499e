"""Operational reads and the scheduler heartbeat: what `/readyz`, `/metrics` and `status` see.

Every read here is one aggregate statement, cheap enough to run on each scrape: the
outbound counts are one pass over outbound messages, the queue and backlog reads use the
dispatch and pending-inbound indexes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, case, delete, func, select, update
from sqlalchemy.orm import Session

from app.data.models import AuditEvent, Message, SchedulerHeartbeat


def record_heartbeat(
    session: Session,
    *,
    worker_id: str,
    hostname: str,
    pid: int,
    started_at: datetime,
    now: datetime,
) -> None:
    """Upsert this scheduler's row (only its own process ever writes it, so no race)."""
    updated = cast(
        CursorResult[Any],
        session.execute(
            update(SchedulerHeartbeat)
            .where(SchedulerHeartbeat.worker_id == worker_id)
            .values(beat_at=now, started_at=started_at, hostname=hostname, pid=pid)
        ),
    ).rowcount
    if not updated:
        session.add(
            SchedulerHeartbeat(
                worker_id=worker_id, hostname=hostname, pid=pid, started_at=started_at, beat_at=now
            )
        )


def prune_heartbeats(session: Session, *, before: datetime) -> int:
    """Forget schedulers silent since `before` (restarted processes get a new worker id)."""
    return cast(
        CursorResult[Any],
        session.execute(delete(SchedulerHeartbeat).where(SchedulerHeartbeat.beat_at < before)),
    ).rowcount


def list_heartbeats(session: Session) -> list[SchedulerHeartbeat]:
    return list(
        session.scalars(select(SchedulerHeartbeat).order_by(SchedulerHeartbeat.beat_at.desc()))
    )


@dataclass
class OutboundCounts:
    by_status: dict[str, int] = field(default_factory=dict)
    errors_by_code: dict[str, int] = field(default_factory=dict)
    sent_total: int = 0
    sent_since: int = 0


def outbound_counts(session: Session, *, since: datetime) -> OutboundCounts:
    """Outbound messages by status and by provider error code, and how many were handed to
    the provider in all and since `since`, in one pass."""
    rows = session.execute(
        select(
            Message.status,
            Message.error_code,
            func.count(),
            func.count(Message.sent_at),
            func.coalesce(func.sum(case((Message.sent_at >= since, 1), else_=0)), 0),
        )
        .where(Message.direction == "out")
        .group_by(Message.status, Message.error_code)
    ).all()
    counts = OutboundCounts()
    for status, error_code, total, sent, recent in rows:
        counts.by_status[status] = counts.by_status.get(status, 0) + total
        if error_code:
            counts.errors_by_code[error_code] = counts.errors_by_code.get(error_code, 0) + total
        counts.sent_total += sent
        counts.sent_since += int(recent)
    return counts


def oldest_due_queued_at(session: Session, *, now: datetime) -> datetime | None:
    """When the oldest queued message that may go now was queued (waiting for the send
    window is not a backlog, so messages held until later are left out)."""
    return session.scalar(
        select(func.min(Message.created_at)).where(
            Message.status == "queued",
            Message.direction == "out",
            (Message.not_before.is_(None)) | (Message.not_before <= now),
        )
    )


def replies_backlog(session: Session) -> tuple[int, datetime | None]:
    """Stored inbound texts not yet acted on, and when the oldest of them arrived."""
    count, oldest = session.execute(
        select(func.count(), func.min(Message.created_at)).where(
            Message.direction == "in", Message.processed_at.is_(None)
        )
    ).one()
    return int(count), oldest


def count_audit_events(session: Session, action: str) -> int:
    return int(session.scalar(select(func.count()).where(AuditEvent.action == action)) or 0)


def audit_events(
    session: Session, *, action: str | None, actor: str | None, offset: int, limit: int
) -> list[AuditEvent]:
    """Entries newest first; `action` a prefix, `actor` an exact email."""
    query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if actor:
        query = query.where(AuditEvent.actor == actor)
    return list(session.scalars(query.offset(offset).limit(limit)))
