"""Claiming due messages for a dispatcher: send windows, per-number caps, one owner each.

Due rows (`queued`, `not_before <= now`, their send window open, replies first) are locked
for one dispatcher and marked `sending` with `claimed_by` / `claimed_at`, in one short
transaction (`app.data.claims` holds the queries and locks). Expired messages and those
to opted-out or untextable numbers are cancelled instead (an opt-out acknowledgement is
the one message such a number still gets).

A number never gets more than 20 identical or 100 messages in an hour. Two dispatchers
claiming different rows to one number at once would each count the hour's sends without
the other's claim; so the claim first locks the numbers (`claim_data.lock_numbers`, in
sorted order: no deadlock), and counts after it, when the other's claim is visible.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from functools import lru_cache

from sqlalchemy.orm import Session

from app.data import claims as claim_data
from app.data.claims import DueRow
from app.data.db import Database
from app.domain.send_rate import (
    MAX_ANY_PER_HOUR,
    MAX_IDENTICAL_PER_HOUR,
    PER_NUMBER_PERIOD,
)
from app.domain.send_window import SendWindow, is_open

log = logging.getLogger(__name__)

STOP_ACK = "stop_ack"
# campaigns whose invitations and reminders may go out (a paused campaign holds them;
# a closed one may still have appointment reminders for its bookings)
SENDING_CAMPAIGN_STATES = ("active", "closed")
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
        open_ids = [
            w.id
            for w in claim_data.campaign_windows(session, SENDING_CAMPAIGN_STATES)
            if _campaign_window_open(w.send_window_start, w.send_window_end, w.send_days, now)
        ]
        rows = claim_data.due_outbound(
            session,
            now=now,
            open_campaign_ids=open_ids,
            default_window_open=is_open(DEFAULT_WINDOW, now),
            limit=limit,
        )
        expired = [r.id for r in rows if r.expires_at is not None and r.expires_at <= now]
        blocked = [
            r.id for r in rows if r.id not in set(expired) and r.unsendable and r.kind != STOP_ACK
        ]
        skip = set(expired) | set(blocked)
        candidates = [r for r in rows if r.id not in skip]
        claim_data.lock_numbers(session, sorted({r.to_number for r in candidates}))
        accepted, held = _within_per_number_caps(session, candidates, now=now)
        claim_data.set_status(session, expired, "cancelled", now=now, error_code="expired")
        claim_data.set_status(session, blocked, "cancelled", now=now, error_code="unsendable")
        claim_data.hold_until(session, held)
        claimed_ids = claim_data.mark_sending(
            session, [r.id for r in accepted], worker_id=worker_id, now=now
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
def _campaign_window_open(start: time, end: time, days: str, now: datetime) -> bool:
    """Whether a campaign's stored send window is open now (London time, bank holidays)."""
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
    session: Session, candidates: Sequence[DueRow], *, now: datetime
) -> tuple[list[DueRow], list[tuple[int, datetime]]]:
    """Split candidates into those the hourly per-number caps allow now, and the rest
    with the moment the cap lets them out: when the oldest send that counts against them
    is an hour old."""
    if not candidates:
        return [], []
    to_numbers = sorted({c.to_number for c in candidates})
    recent = claim_data.recent_sends(session, to_numbers, since=now - PER_NUMBER_PERIOD)
    any_count: Counter[str] = Counter()
    same_count: Counter[tuple[str, str]] = Counter()
    oldest_any: dict[str, datetime] = {}
    oldest_same: dict[tuple[str, str], datetime] = {}
    for number, body, count, sent in recent:
        oldest = sent if sent is not None else now
        any_count[number] += count
        same_count[(number, body)] += count
        oldest_any[number] = min(oldest, oldest_any.get(number, oldest))
        oldest_same[(number, body)] = oldest
    accepted: list[DueRow] = []
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
