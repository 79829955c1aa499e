"""Claiming due messages for a dispatcher: send windows, per-number caps, one owner each.

Due rows (`queued`, `not_before <= now`, their send window open, replies first) are locked
with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's `BEGIN IMMEDIATE` already
serialises writers) and marked `sending` with `claimed_by` / `claimed_at`, in one short
transaction. Expired messages and those to opted-out or untextable numbers are cancelled
instead (an opt-out acknowledgement is the one message such a number still gets).

A number never gets more than 20 identical or 100 messages in an hour. Two dispatchers
claiming different rows to one number at once would each count the hour's sends without
the other's claim; so on PostgreSQL the claim first takes a transaction-scoped advisory
lock per number (in sorted order: no deadlock), and counts after it, when the other's
claim is committed and visible.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import Campaign, Message
from app.domain.send_rate import (
    MAX_ANY_PER_HOUR,
    MAX_IDENTICAL_PER_HOUR,
    PER_NUMBER_PERIOD,
)
from app.domain.send_window import SendWindow, is_open
from app.services import numbers

log = logging.getLogger(__name__)

STOP_ACK = "stop_ack"
# campaigns whose invitations and reminders may go out (a paused campaign holds them;
# a closed one may still have appointment reminders for its bookings)
SENDING_CAMPAIGN_STATES = ("active", "closed")
# messages that reached (or may have reached) the provider, for the per-number caps
HANDED_OVER = ("sending", "uncertain")
# a message held by a per-number cap waits at least this long before it is looked at again
HOLD_RECHECK = timedelta(minutes=1)
DEFAULT_WINDOW = SendWindow.parse("09:00-19:00", "mon-sat")


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    uncertain: int = 0
    cancelled: int = 0
    held: int = 0  # over a per-number hourly cap; queued again for later
    failed_codes: Counter[str] = field(default_factory=Counter)

    def add(self, other: DispatchReport) -> None:
        for f in fields(self):
            if f.name == "failed_codes":
                self.failed_codes.update(other.failed_codes)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def summary(self) -> str:
        return (
            f"claimed {self.claimed}, sent {self.sent}, retry later {self.retried}, "
            f"failed {self.failed}, uncertain {self.uncertain}, cancelled {self.cancelled}, "
            f"held {self.held}"
        )


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    to: str
    body: str
    kind: str
    expires_at: datetime | None


def claim_due(
    db: Database, *, now: datetime, limit: int, worker_id: str
) -> tuple[list[ClaimedMessage], DispatchReport]:
    """Mark up to `limit` due messages `sending` for `worker_id`, in one short transaction."""
    report = DispatchReport()
    with db.transaction() as session:
        unsendable = Message.to_number.in_(numbers.unsendable_numbers())
        rows = session.execute(
            select(
                Message.id,
                Message.to_number,
                Message.body,
                Message.kind,
                Message.expires_at,
                unsendable.label("unsendable"),
            )
            .where(
                Message.direction == "out",
                Message.status == "queued",
                Message.not_before <= now,
                or_(_window_open(session, now), Message.expires_at <= now),
            )
            # replies (outside the window rules) first: someone is waiting for them
            .order_by(Message.in_send_window, Message.not_before, Message.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        expired = [r.id for r in rows if r.expires_at is not None and r.expires_at <= now]
        blocked = [
            r.id for r in rows if r.id not in set(expired) and r.unsendable and r.kind != STOP_ACK
        ]
        skip = set(expired) | set(blocked)
        candidates = [r for r in rows if r.id not in skip]
        _lock_numbers(session, sorted({r.to_number for r in candidates}))
        accepted, held = _within_per_number_caps(session, candidates, now=now)
        _set_status(session, expired, "cancelled", now=now, error_code="expired")
        _set_status(session, blocked, "cancelled", now=now, error_code="unsendable")
        if held:
            table = cast(Table, Message.__table__)
            session.execute(
                update(table)
                .where(table.c.id == bindparam("message_id"), table.c.status == "queued")
                .values(not_before=bindparam("free_at")),
                [{"message_id": i, "free_at": at} for i, at in held],
            )
        claimed_ids: set[int] = set()
        if accepted:
            claimed_ids = set(
                session.scalars(
                    update(Message)
                    .where(Message.id.in_([r.id for r in accepted]), Message.status == "queued")
                    .values(
                        status="sending",
                        claimed_by=worker_id,
                        claimed_at=now,
                        status_updated_at=now,
                        attempts=Message.attempts + 1,
                    )
                    .returning(Message.id)
                    .execution_options(synchronize_session=False)
                )
            )
    report.cancelled = len(expired) + len(blocked)
    report.held = len(held)
    report.claimed = len(claimed_ids)
    claimed = [
        ClaimedMessage(r.id, r.to_number, r.body, r.kind, r.expires_at)
        for r in accepted
        if r.id in claimed_ids
    ]
    return claimed, report


# -- claim helpers ---------------------------------------------------------------------
def _lock_numbers(session: Session, to_numbers: Sequence[str]) -> None:
    """Serialise claims to the same numbers across dispatchers until this commits
    (PostgreSQL; SQLite's writers are serialised already)."""
    if to_numbers and session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(hashtext(n))"
                " FROM unnest(CAST(:numbers AS text[])) AS n"
            ),
            {"numbers": list(to_numbers)},
        )


def _window_open(session: Session, now: datetime) -> ColumnElement[bool]:
    """Which queued rows the send window lets out now: evaluated per campaign in Python
    (London time, bank holidays) and handed to SQL as a list of campaign ids."""
    open_ids = [
        row.id
        for row in session.execute(
            select(
                Campaign.id,
                Campaign.send_window_start,
                Campaign.send_window_end,
                Campaign.send_days,
            ).where(Campaign.state.in_(SENDING_CAMPAIGN_STATES))
        )
        if _campaign_window_open(row.send_window_start, row.send_window_end, row.send_days, now)
    ]
    clauses: list[ColumnElement[bool]] = [Message.in_send_window.is_(False)]
    if open_ids:
        clauses.append(Message.campaign_id.in_(open_ids))
    if is_open(DEFAULT_WINDOW, now):
        clauses.append(Message.campaign_id.is_(None))
    return or_(*clauses) if clauses else false()


def _campaign_window_open(start: time, end: time, days: str, now: datetime) -> bool:
    window = _window(start, end, days)
    return window is not None and is_open(window, now)


@lru_cache(maxsize=256)
def _window(start: time, end: time, days: str) -> SendWindow | None:
    try:
        return SendWindow.stored(start, end, days)
    except ValueError:
        log.error(
            "campaign send window %s-%s %r is invalid: holding its messages", start, end, days
        )
        return None


def _within_per_number_caps(
    session: Session, candidates: Sequence[Any], *, now: datetime
) -> tuple[list[Any], list[tuple[int, datetime]]]:
    """Split candidates into those the hourly per-number caps allow now, and the rest
    with the moment the cap lets them out: when the oldest send that counts against them
    is an hour old."""
    if not candidates:
        return [], []
    to_numbers = sorted({c.to_number for c in candidates})
    cutoff = now - PER_NUMBER_PERIOD
    recent = session.execute(
        select(
            Message.to_number,
            Message.body,
            func.count(),
            func.min(func.coalesce(Message.sent_at, Message.claimed_at)),
        )
        .where(
            Message.direction == "out",
            Message.to_number.in_(to_numbers),
            or_(
                Message.sent_at > cutoff,
                and_(Message.status.in_(HANDED_OVER), Message.claimed_at > cutoff),
            ),
        )
        .group_by(Message.to_number, Message.body)
    ).all()
    any_count: Counter[str] = Counter()
    same_count: Counter[tuple[str, str]] = Counter()
    oldest_any: dict[str, datetime] = {}
    oldest_same: dict[tuple[str, str], datetime] = {}
    for number, body, count, oldest in recent:
        oldest = _utc(oldest) if oldest is not None else now
        any_count[number] += count
        same_count[(number, body)] += count
        oldest_any[number] = min(oldest, oldest_any.get(number, oldest))
        oldest_same[(number, body)] = oldest
    accepted: list[Any] = []
    held: list[tuple[int, datetime]] = []
    for c in candidates:
        number, body = c.to_number, c.body
        full_any = any_count[number] >= MAX_ANY_PER_HOUR
        full_same = same_count[(number, body)] >= MAX_IDENTICAL_PER_HOUR
        if full_any or full_same:
            free_at = now + HOLD_RECHECK
            if full_any:
                free_at = max(free_at, oldest_any.get(number, now) + PER_NUMBER_PERIOD)
            if full_same:
                free_at = max(free_at, oldest_same.get((number, body), now) + PER_NUMBER_PERIOD)
            held.append((c.id, free_at))
            continue
        any_count[number] += 1
        same_count[(number, body)] += 1
        accepted.append(c)
    return accepted, held


def _utc(at: datetime | str) -> datetime:
    """An aggregate over a UTC column comes back without the column's type on SQLite
    (naive, or text); every stored time is UTC."""
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _set_status(
    session: Session, ids: Sequence[int], status: str, *, now: datetime, error_code: str
) -> None:
    if ids:
        session.execute(
            update(Message)
            .where(Message.id.in_(ids))
            .values(status=status, error_code=error_code, status_updated_at=now)
            .execution_options(synchronize_session=False)
        )
