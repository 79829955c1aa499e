"""The service's operational state: readiness, queue depths and scheduler heartbeats.

One snapshot feeds `/readyz`, `/metrics` and `flask status`, so an operator, a load
balancer and Prometheus all see the same figures.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.data import migrate, operations
from app.data.db import Database
from app.settings import Settings

# a scheduler writes a beat every HEARTBEAT_SECONDS; readiness allows a few missed beats
HEARTBEAT_SECONDS = 10
# rows of schedulers silent this long are forgotten (each restart has a new worker id)
HEARTBEAT_FORGET_AFTER = timedelta(days=7)
SEND_RATE_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class Heartbeat:
    worker_id: str
    hostname: str
    pid: int
    started_at: datetime
    beat_at: datetime
    age_seconds: float
    alive: bool


@dataclass
class Readiness:
    database: bool = False
    migrations_at_head: bool = False
    scheduler_alive: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.database and self.migrations_at_head and self.scheduler_alive


@dataclass
class Snapshot:
    """Everything an operator asks first: is it ready, is anything piling up."""

    at: datetime
    readiness: Readiness
    heartbeats: list[Heartbeat] = field(default_factory=list)
    messages_by_status: dict[str, int] = field(default_factory=dict)
    provider_errors_by_code: dict[str, int] = field(default_factory=dict)
    sent_total: int = 0
    send_rate_per_second: float = 0.0
    oldest_queued_age_seconds: float | None = None
    replies_backlog: int = 0
    replies_lag_seconds: float | None = None
    uncertain: int = 0
    sign_in_failures: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(),
            "ready": self.readiness.ready,
            "checks": {
                "database": self.readiness.database,
                "migrations_at_head": self.readiness.migrations_at_head,
                "scheduler_alive": self.readiness.scheduler_alive,
            },
            "problems": list(self.readiness.problems),
            "schedulers": [
                {
                    "worker_id": h.worker_id,
                    "hostname": h.hostname,
                    "pid": h.pid,
                    "started_at": h.started_at.isoformat(),
                    "last_heartbeat": h.beat_at.isoformat(),
                    "age_seconds": round(h.age_seconds, 1),
                    "alive": h.alive,
                }
                for h in self.heartbeats
            ],
            "messages_by_status": dict(sorted(self.messages_by_status.items())),
            "queued": self.messages_by_status.get("queued", 0),
            "sending": self.messages_by_status.get("sending", 0),
            "uncertain": self.uncertain,
            "oldest_queued_age_seconds": _round(self.oldest_queued_age_seconds),
            "replies_backlog": self.replies_backlog,
            "replies_lag_seconds": _round(self.replies_lag_seconds),
            "sent_total": self.sent_total,
            "send_rate_per_second": round(self.send_rate_per_second, 2),
            "provider_errors_by_code": dict(sorted(self.provider_errors_by_code.items())),
            "sign_in_failures": self.sign_in_failures,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def heartbeat_max_age(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.ready_heartbeat_max_age_seconds)


def beat(db: Database, *, worker_id: str, started_at: datetime, now: datetime) -> None:
    """Record that this scheduler process is alive (and forget long-dead ones)."""
    with db.transaction() as session:
        operations.record_heartbeat(
            session,
            worker_id=worker_id,
            hostname=socket.gethostname()[:64],
            pid=os.getpid(),
            started_at=started_at,
            now=now,
        )
        operations.prune_heartbeats(session, before=now - HEARTBEAT_FORGET_AFTER)


def readiness(db: Database, *, now: datetime, max_heartbeat_age: timedelta) -> Readiness:
    """Ready = the database answers, its schema is the code's, and a scheduler beat lately.

    Without a live scheduler no text is sent and no reply acted on, so a node that takes
    traffic then would silently store replies nobody answers.
    """
    return _readiness_and_heartbeats(db, now=now, max_heartbeat_age=max_heartbeat_age)[0]


def _readiness_and_heartbeats(
    db: Database, *, now: datetime, max_heartbeat_age: timedelta
) -> tuple[Readiness, list[Heartbeat]]:
    result = Readiness()
    heartbeats: list[Heartbeat] = []
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            result.database = True
            current = migrate.current_revisions(conn)
        expected = migrate.head_revisions()
        result.migrations_at_head = current == expected
        if not result.migrations_at_head:
            result.problems.append(
                f"database at revision {', '.join(sorted(current)) or 'none'}, "
                f"code expects {', '.join(sorted(expected))}: run `flask db upgrade`"
            )
            return result, heartbeats
        with db.transaction() as session:
            rows = operations.list_heartbeats(session)
    except SQLAlchemyError as exc:
        result.problems.append(f"database unreachable: {type(exc).__name__}")
        return result, heartbeats
    for row in rows:
        age = (now - row.beat_at).total_seconds()
        heartbeats.append(
            Heartbeat(
                worker_id=row.worker_id,
                hostname=row.hostname,
                pid=row.pid,
                started_at=row.started_at,
                beat_at=row.beat_at,
                age_seconds=age,
                alive=age <= max_heartbeat_age.total_seconds(),
            )
        )
    result.scheduler_alive = any(h.alive for h in heartbeats)
    if not result.scheduler_alive:
        last = f"{heartbeats[0].age_seconds:.0f} s ago" if heartbeats else "never"
        result.problems.append(
            f"no scheduler heartbeat within {max_heartbeat_age.total_seconds():.0f} s "
            f"(last {last}): texts are not being sent nor replies acted on"
        )
    return result, heartbeats


def snapshot(db: Database, *, now: datetime, max_heartbeat_age: timedelta) -> Snapshot:
    """Readiness plus the queue figures (these only when the schema is the code's)."""
    ready, heartbeats = _readiness_and_heartbeats(db, now=now, max_heartbeat_age=max_heartbeat_age)
    result = Snapshot(at=now, readiness=ready, heartbeats=heartbeats)
    if not ready.migrations_at_head:
        return result
    with db.transaction() as session:
        counts = operations.outbound_counts(session, since=now - SEND_RATE_WINDOW)
        oldest_queued = operations.oldest_due_queued_at(session, now=now)
        backlog, oldest_reply = operations.replies_backlog(session)
        result.sign_in_failures = operations.count_audit_events(session, "sign_in.failed")
    result.messages_by_status = counts.by_status
    result.provider_errors_by_code = counts.errors_by_code
    result.sent_total = counts.sent_total
    result.send_rate_per_second = counts.sent_since / SEND_RATE_WINDOW.total_seconds()
    result.uncertain = counts.by_status.get("uncertain", 0)
    result.replies_backlog = backlog
    if oldest_queued is not None:
        result.oldest_queued_age_seconds = max(0.0, (now - oldest_queued).total_seconds())
    if oldest_reply is not None:
        result.replies_lag_seconds = max(0.0, (now - oldest_reply).total_seconds())
    return result
