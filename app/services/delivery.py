"""Delivery status callbacks: recorded once each, in any order, acting on permanent failures.

Twilio's status callbacks and Notify's delivery receipts repeat and arrive out of order
(there is no callback for Twilio's initial `queued`). Notify's statuses are first put in
Twilio's terms (`NOTIFY_RECEIPTS`), so one precedence and one set of actions serve both:
- each callback is stored once in `status_event` (unique sid, status, error code); a
  repeat changes nothing;
- a message's status only moves up this precedence, whatever order callbacks arrive in:
  queued/accepted/scheduled < sending < sent < delivered/read < undelivered < canceled
  < failed. Final states (delivered, undelivered, failed) are never overwritten by an
  earlier one (sent, queued). Between conflicting finals a failure outranks `delivered`,
  so the failure's consequences (below) happen whichever order the two arrive in and
  the end state is the same for every permutation;
- a permanent failure acts on the number at once: 30003 unreachable, 30005 unknown,
  30006 landline, 21211 invalid and 21614 not a mobile, and Notify's permanent-failure
  (the number does not exist or cannot take texts) mark it not textable; 21610
  (recipient unsubscribed at the carrier) is an opt-out, exactly like STOP. Both close
  the number's open offers so their held slots go to someone who can get them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.data import receipts
from app.data.db import Database
from app.data.models import StatusEvent
from app.services import numbers

RANK = {
    "queued": 0,
    "accepted": 0,
    "scheduled": 0,
    # our own pre-callback states: a callback proves the provider has the message
    "sending": 1,
    "uncertain": 1,
    "sent": 2,
    "delivered": 3,
    "read": 3,
    "undelivered": 4,
    "canceled": 5,
    "failed": 6,
}
FINAL = frozenset({"delivered", "read", "undelivered", "canceled", "failed"})
NOT_TEXTABLE_ERRORS = {
    "30003": "unreachable handset (30003)",
    "30005": "unknown destination (30005)",
    "30006": "landline or unreachable carrier (30006)",
    "21211": "invalid number (21211)",
    "21614": "not a mobile number (21614)",
    "permanent": "Notify permanent-failure",
}
# Notify's delivery receipt statuses as (status, error code) in the precedence above
NOTIFY_RECEIPTS: dict[str, tuple[str, str | None]] = {
    "created": ("sent", None),
    "sending": ("sent", None),
    "pending": ("sent", None),
    "sent": ("sent", None),
    "delivered": ("delivered", None),
    # the number does not exist or cannot take texts
    "permanent-failure": ("undelivered", "permanent"),
    # the phone was off or its inbox full for Notify's 72 hours of trying
    "temporary-failure": ("undelivered", "temporary"),
    # Notify's own fault: the text never left Notify
    "technical-failure": ("failed", "technical"),
}
UNSUBSCRIBED_ERROR = "21610"


@dataclass(frozen=True)
class StatusResult:
    """`outcome`: updated | kept (an earlier or equal status) | duplicate | unknown_sid."""

    outcome: str
    status: str | None = None
    number_action: str | None = None  # not_textable | opted_out


def outranks(new: str, current: str) -> bool:
    """True if `new` should replace `current` (see the precedence in the module doc)."""
    return RANK.get(new, -1) > RANK.get(current, -1)


def record_status(
    db: Database,
    *,
    message_sid: str,
    status: str,
    error_code: str | None,
    now: datetime,
) -> StatusResult:
    """Record one status callback, once; move the message's status up; act on failures."""
    status = status.strip().lower()
    code = (error_code or "").strip()
    with db.transaction() as session:
        try:
            with session.begin_nested():
                # '' not NULL: NULLs are distinct in a unique constraint, '' repeats are not
                session.add(
                    StatusEvent(
                        provider_sid=message_sid, status=status, error_code=code, received_at=now
                    )
                )
                session.flush()
        except IntegrityError:
            return StatusResult("duplicate")
        return apply_status(session, message_sid, status, code or None, now=now)


def record_notify_receipt(
    db: Database, *, notification_id: str, status: str, now: datetime
) -> StatusResult:
    """Record one Notify delivery receipt; `KeyError` for a status Notify does not send."""
    ours, code = NOTIFY_RECEIPTS[status.strip().lower()]
    return record_status(db, message_sid=notification_id, status=ours, error_code=code, now=now)


def apply_status(
    session: Session, message_sid: str, status: str, error_code: str | None, *, now: datetime
) -> StatusResult:
    """Apply one callback to its message in the caller's transaction (no commit).

    The dispatcher may call this for events stored before it recorded the SID.
    """
    lower = [name for name, rank in RANK.items() if rank < RANK.get(status, -1)]
    moved = receipts.move_status_up(
        session, message_sid, status=status, error_code=error_code, from_statuses=lower, now=now
    )
    if moved is None:
        to_number = receipts.number_of(session, message_sid)
        if to_number is None:
            return StatusResult("unknown_sid")
        outcome = "kept"
    else:
        to_number = moved
        outcome = "updated"
    action = None
    if error_code == UNSUBSCRIBED_ERROR:
        numbers.opt_out(session, to_number, now=now, word=UNSUBSCRIBED_ERROR, source="provider")
        action = "opted_out"
    elif error_code in NOT_TEXTABLE_ERRORS and status in FINAL:
        numbers.mark_not_textable(
            session, to_number, now=now, reason=NOT_TEXTABLE_ERRORS[error_code]
        )
        action = "not_textable"
    return StatusResult(outcome, status=status, number_action=action)


def replay_stored_events(session: Session, message_sid: str, *, now: datetime) -> None:
    """Apply callbacks that arrived before the dispatcher stored `message_sid` (no commit)."""
    for event in receipts.stored_events(session, message_sid):
        apply_status(session, message_sid, event.status, event.error_code or None, now=now)
