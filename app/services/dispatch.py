"""Dispatch: hand every queued message to the SMS provider at most once, and lose none.

The protocol (issue 3), in three kinds of short transaction so no lock is held while
the provider is called:
1. claim: due rows (`queued`, `not_before <= now`, their send window open, replies first)
   are locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite's `BEGIN IMMEDIATE`
   already serialises writers) and marked `sending` with `claimed_by` / `claimed_at`,
   then committed. Expired messages and those to opted-out or untextable numbers are
   cancelled instead (an opt-out acknowledgement is the one message such a number gets).
2. per message, just before the provider call: check the row is still ours and the
   number has not sent STOP since the claim.
3. record what the provider said: `sent` with its SID; `queued` again after a temporary
   failure with exponential backoff and jitter, until `DISPATCH_MAX_ATTEMPTS`; `failed`
   with the number-level action for a permanent one (21610 opts the number out; 21211 /
   21614 mark it not textable); `uncertain` when the request may have gone out.
A dispatcher that dies between 1 and 3 leaves rows `sending`; `recover_stale_claims` turns
them `uncertain`, which nothing resends automatically: staff decide. So a message can be
lost to doubt, visibly, but is never sent twice.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from time import monotonic
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from app.data.db import Database
from app.data.models import Campaign, Message, StatusEvent
from app.domain.send_rate import (
    MAX_ANY_PER_HOUR,
    MAX_IDENTICAL_PER_HOUR,
    PER_NUMBER_PERIOD,
    TokenBucket,
    backoff,
)
from app.domain.send_window import SendWindow, is_open
from app.services import delivery, numbers
from app.sms.provider import (
    OutgoingSms,
    PermanentFailure,
    SmsProvider,
    TemporaryFailure,
    UncertainFailure,
)

log = logging.getLogger(__name__)

STOP_ACK = "stop_ack"
OPTED_OUT_CODE = "21610"
NOT_TEXTABLE_CODES = frozenset({"21211", "21614"})
# campaigns whose invitations and reminders may go out (a paused campaign holds them;
# a closed one may still have appointment reminders for its bookings)
SENDING_CAMPAIGN_STATES = ("active", "closed")
# messages that reached (or may have reached) the provider, for the per-number caps
HANDED_OVER = ("sending", "uncertain")
# provider statuses that follow `sent` (Twilio's delivery outcomes)
LATER_THAN_SENT = ("delivered", "read", "undelivered", "canceled", "failed")
# Accepted sends are recorded in small groups, so the database commits once per group, not
# once per message (a commit costs a disk flush: about 4 ms, which alone would cap dispatch
# near 250 messages/s). A crash loses at most one group's records: those rows stay
# `sending` and become `uncertain`, never resent. At the production rate (10/s) the
# interval, not the size, closes a group: two or three messages.
RECORD_BATCH = 100
RECORD_INTERVAL = 0.25  # seconds
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


@dataclass(frozen=True)
class Outcome:
    kind: str  # sent | retry | failed | uncertain
    provider_sid: str | None = None
    error_code: str | None = None


def default_worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{threading.get_ident() % 100000}"


def dispatch_due(
    db: Database,
    provider: SmsProvider,
    *,
    now: datetime,
    limit: int = 100,
    worker_id: str | None = None,
    bucket: TokenBucket | None = None,
    max_attempts: int = 5,
    rng: random.Random | None = None,
) -> DispatchReport:
    """Claim up to `limit` due messages and send each at most once (see the module doc)."""
    worker = (worker_id or default_worker_id())[:80]
    claimed, report = claim_due(db, now=now, limit=limit, worker_id=worker)
    accepted: list[tuple[ClaimedMessage, Outcome]] = []
    last_flush = monotonic()

    def flush(also: tuple[ClaimedMessage, Outcome] | None = None) -> None:
        nonlocal last_flush
        with db.transaction() as session:
            _record_sent(session, accepted, now=now, report=report)
            if also is not None:
                _record(session, *also, now=now, max_attempts=max_attempts, rng=rng, report=report)
        accepted.clear()
        last_flush = monotonic()

    # the re-check is one read; on PostgreSQL an autocommit connection makes it one round
    # trip instead of three (BEGIN, SELECT, COMMIT). SQLite's BEGIN IMMEDIATE hook needs
    # a real transaction, and is cheap there.
    reader = (
        None
        if db.is_sqlite
        else db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    )
    try:
        for sms in claimed:
            if bucket is not None:
                bucket.acquire()
            if not _still_ours_and_sendable(db, reader, sms, worker=worker, now=now, report=report):
                continue
            outcome = _call(provider, sms, now)
            if outcome.kind != "sent":
                # failures act on the number (opt-out, not textable) before the next re-check
                flush(also=(sms, outcome))
                continue
            accepted.append((sms, outcome))
            if len(accepted) >= RECORD_BATCH or monotonic() - last_flush >= RECORD_INTERVAL:
                flush()
        if accepted:
            flush()
    finally:
        if reader is not None:
            reader.close()
    return report


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


def reconcile_early_callbacks(db: Database, *, now: datetime) -> int:
    """Apply final status callbacks that raced the recording of their message's SID.

    A callback can arrive while the dispatcher's transaction that stores the SID is still
    open: the webhook then finds no message (and stores the event), and the dispatcher's
    look for stored events does not yet see it. Neither applies it, so this query-driven
    pass, run every dispatch tick, does: sent messages with a later status already
    received. Applying a status only ever moves a message up, so repeating it is harmless.
    """
    with db.transaction() as session:
        sids = list(
            session.scalars(
                select(Message.provider_sid)
                .distinct()
                .join(StatusEvent, StatusEvent.provider_sid == Message.provider_sid)
                .where(
                    Message.direction == "out",
                    Message.status.in_(("sent", *HANDED_OVER)),
                    StatusEvent.status.in_(LATER_THAN_SENT),
                )
            )
        )
        for sid in sids:
            if sid is not None:
                delivery.replay_stored_events(session, sid, now=now)
    return len(sids)


def recover_stale_claims(db: Database, *, now: datetime, older_than: timedelta) -> int:
    """Rows left `sending` longer than `older_than` belong to a dispatcher that died.

    They may or may not have reached the provider, so they become `uncertain`: shown to
    staff, never resent automatically (issue 3: at most once). Returns how many.
    """
    with db.transaction() as session:
        result = session.execute(
            update(Message)
            .where(Message.status == "sending", Message.claimed_at < now - older_than)
            .values(status="uncertain", error_code="stale", status_updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- claim helpers ---------------------------------------------------------------------
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
        return SendWindow.parse(f"{start:%H:%M}-{end:%H:%M}", days)
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


# -- send helpers ----------------------------------------------------------------------
def _still_ours_and_sendable(
    db: Database,
    reader: Connection | None,
    sms: ClaimedMessage,
    *,
    worker: str,
    now: datetime,
    report: DispatchReport,
) -> bool:
    """STOP may have arrived since the claim; and a claim recovered as stale is not ours."""
    query = select(
        Message.status,
        Message.to_number.in_(numbers.unsendable_numbers()).label("blocked"),
    ).where(Message.id == sms.id, Message.claimed_by == worker)
    if reader is not None:
        row = reader.execute(query).one_or_none()
    else:
        with db.transaction() as session:
            row = session.execute(query).one_or_none()
    if row is None or row.status != "sending":
        return False
    if row.blocked and sms.kind != STOP_ACK:
        with db.transaction() as session:
            session.execute(
                update(Message)
                .where(Message.id == sms.id, Message.status == "sending")
                .values(status="cancelled", error_code="unsendable", status_updated_at=now)
                .execution_options(synchronize_session=False)
            )
        report.cancelled += 1
        return False
    return True


def _call(provider: SmsProvider, sms: ClaimedMessage, now: datetime) -> Outcome:
    outgoing = OutgoingSms(message_id=sms.id, to=sms.to, body=sms.body, expires_at=sms.expires_at)
    try:
        result = provider.send(outgoing, now)
    except TemporaryFailure as exc:
        log.warning("message %s: temporary failure, will retry: %s", sms.id, exc)
        return Outcome("retry", error_code=_code(exc.error_code))
    except PermanentFailure as exc:
        log.warning("message %s: refused for good: %s", sms.id, exc)
        return Outcome("failed", error_code=_code(exc.error_code) or "refused")
    except UncertainFailure as exc:
        log.error("message %s: fate unknown, not resending: %s", sms.id, exc)
        return Outcome("uncertain", error_code=_code(exc.error_code) or "unknown")
    except Exception:
        # a bug or an unexpected library error after the request may have gone out
        log.exception("message %s: provider raised unexpectedly; marking uncertain", sms.id)
        return Outcome("uncertain", error_code="error")
    return Outcome("sent", provider_sid=result.provider_sid)


def _code(code: str | None) -> str | None:
    return code[:10] if code else None


def _record_sent(
    session: Session,
    accepted: Sequence[tuple[ClaimedMessage, Outcome]],
    *,
    now: datetime,
    report: DispatchReport,
) -> None:
    """Record provider SIDs in one statement (executemany); apply early callbacks."""
    if not accepted:
        return
    # also over `uncertain`: if recovery gave up on us but the provider took it, we know;
    # on the Core table a list of parameters is one executemany (the ORM wants PK rows)
    table = cast(Table, Message.__table__)
    session.execute(
        update(table)
        .where(
            table.c.id == bindparam("message_id"),
            or_(table.c.status == "sending", table.c.status == "uncertain"),
        )
        .values(
            status="sent",
            provider_sid=bindparam("sid"),
            sent_at=now,
            status_updated_at=now,
            error_code=None,
        ),
        [{"message_id": sms.id, "sid": outcome.provider_sid} for sms, outcome in accepted],
    )
    report.sent += len(accepted)
    # Twilio's status callbacks can beat us here; lane D stores them by SID for replay
    sids = [outcome.provider_sid for _, outcome in accepted if outcome.provider_sid]
    early = session.scalars(
        select(StatusEvent.provider_sid).distinct().where(StatusEvent.provider_sid.in_(sids))
    ).all()
    for sid in early:
        delivery.replay_stored_events(session, sid, now=now)


def _record(
    session: Session,
    sms: ClaimedMessage,
    outcome: Outcome,
    *,
    now: datetime,
    max_attempts: int,
    rng: random.Random | None,
    report: DispatchReport,
) -> None:
    mine = and_(Message.id == sms.id, Message.status == "sending")
    if outcome.kind == "sent":
        _record_sent(session, [(sms, outcome)], now=now, report=report)
    elif outcome.kind == "retry":
        attempts = session.scalar(select(Message.attempts).where(Message.id == sms.id)) or 0
        if attempts >= max_attempts:
            values: dict[str, object] = {"status": "failed"}
            report.failed += 1
            report.failed_codes[outcome.error_code or "retries"] += 1
        else:
            values = {"status": "queued", "not_before": now + backoff(attempts, rng)}
            report.retried += 1
        session.execute(
            update(Message)
            .where(mine)
            .values(error_code=outcome.error_code, status_updated_at=now, **values)
            .execution_options(synchronize_session=False)
        )
    elif outcome.kind == "failed":
        session.execute(
            update(Message)
            .where(mine)
            .values(status="failed", error_code=outcome.error_code, status_updated_at=now)
            .execution_options(synchronize_session=False)
        )
        report.failed += 1
        report.failed_codes[outcome.error_code or "refused"] += 1
        if outcome.error_code == OPTED_OUT_CODE:
            numbers.opt_out(session, sms.to, now=now, word="twilio 21610", source="provider")
        elif outcome.error_code in NOT_TEXTABLE_CODES:
            numbers.mark_not_textable(
                session, sms.to, now=now, reason=f"twilio {outcome.error_code}"
            )
    else:
        session.execute(
            update(Message)
            .where(mine)
            .values(status="uncertain", error_code=outcome.error_code, status_updated_at=now)
            .execution_options(synchronize_session=False)
        )
        report.uncertain += 1
