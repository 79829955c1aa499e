"""After a crash or a timeout: settle every message whose fate is unknown, by asking.

A dispatcher that dies between claiming a message and recording the provider's answer
leaves it `sending`; a timeout or a dropped connection leaves it `uncertain`. Neither is
resent blindly (that could text someone twice) nor dropped (that would lose their
invitation). Instead:
1. `recover_stale_claims`: rows `sending` for longer than any live dispatcher holds a
   claim become `uncertain`.
2. `reconcile_uncertain`: once the provider's record has settled (`settle_after`), each
   `uncertain` message without a provider id is looked up there (Twilio: the Messages
   list, to that number, sent since the claim, matched on body; Notify: by reference,
   which is our message id). Found: it was sent, and its id is recorded. Not there: it
   never reached the provider, and is queued again. The provider cannot be asked: it
   stays `uncertain`, shown to staff, and is asked again next run.
3. `reconcile_early_callbacks`: status callbacks that beat the recording of their id.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from app.data.claims import HANDED_OVER
from app.data.db import Database
from app.data.models import Message, StatusEvent
from app.services import delivery
from app.sms.provider import Doubt, SmsProvider, Unreachable

log = logging.getLogger(__name__)

# provider statuses that follow `sent` (delivery outcomes)
LATER_THAN_SENT = ("delivered", "read", "undelivered", "canceled", "failed")
RECONCILE_BATCH = 500


@dataclass
class ReconcileReport:
    sent: int = 0  # the provider had it: its id is recorded
    requeued: int = 0  # the provider never got it: queued again
    unreachable: int = 0  # the provider could not be asked: still uncertain

    def summary(self) -> str:
        return (
            f"reconciled: {self.sent} found sent, {self.requeued} queued again, "
            f"{self.unreachable} left uncertain (provider unreachable)"
        )


def recover_stale_claims(db: Database, *, now: datetime, older_than: timedelta) -> int:
    """Rows left `sending` longer than `older_than` belong to a dispatcher that died.

    They may or may not have reached the provider, so they become `uncertain` until
    `reconcile_uncertain` has asked the provider. Returns how many.
    """
    with db.transaction() as session:
        result = session.execute(
            update(Message)
            .where(Message.status == "sending", Message.claimed_at < now - older_than)
            .values(status="uncertain", error_code="stale", status_updated_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def reconcile_uncertain(
    db: Database, provider: SmsProvider, *, now: datetime, limit: int = RECONCILE_BATCH
) -> ReconcileReport:
    """Ask the provider about each settled `uncertain` message (see the module doc)."""
    report = ReconcileReport()
    settled = now - provider.settle_after
    with db.transaction() as session:
        rows = session.execute(
            select(
                Message.id,
                Message.to_number,
                Message.body,
                Message.claimed_at,
                Message.attempts,
            )
            .where(
                Message.direction == "out",
                Message.status == "uncertain",
                Message.provider_sid.is_(None),
                Message.claimed_at <= settled,
            )
            .order_by(Message.id)
            .limit(limit)
        ).all()
    for index, row in enumerate(rows):
        doubt = Doubt(row.id, row.to_number, row.body, _aware(row.claimed_at or now))
        try:
            with db.transaction() as session:
                known = session.scalars(
                    select(Message.provider_sid).where(
                        Message.to_number == doubt.to,
                        Message.direction == "out",
                        Message.provider_sid.is_not(None),
                    )
                ).all()
            sid = provider.find(doubt, exclude=[s for s in known if s])
        except Unreachable as exc:
            log.warning(
                "message %s and later: provider could not be asked, they stay uncertain: %s",
                doubt.message_id,
                exc,
            )
            # the provider is down: every other look-up would wait out its timeout too
            report.unreachable += len(rows) - index
            break
        with db.transaction() as session:
            # still the doubt we asked about: not settled meanwhile by another recovery
            # job, nor sent again and in doubt again (each claim counts an attempt)
            ours = (
                Message.id == doubt.message_id,
                Message.status == "uncertain",
                Message.provider_sid.is_(None),
                Message.attempts == row.attempts,
            )
            if sid is not None:
                settled_sent = session.execute(
                    update(Message)
                    .where(*ours)
                    .values(
                        status="sent",
                        provider_sid=sid,
                        sent_at=now,
                        status_updated_at=now,
                        error_code=None,
                    )
                    .execution_options(synchronize_session=False)
                )
                if settled_sent.rowcount:  # type: ignore[attr-defined]
                    delivery.replay_stored_events(session, sid, now=now)
                    report.sent += 1
            else:
                requeued = session.execute(
                    update(Message)
                    .where(*ours)
                    .values(
                        status="queued",
                        not_before=now,
                        claimed_by=None,
                        status_updated_at=now,
                        error_code="requeued",
                    )
                    .execution_options(synchronize_session=False)
                )
                report.requeued += int(requeued.rowcount or 0)  # type: ignore[attr-defined]
    return report


def recover_and_reconcile(
    db: Database, provider: SmsProvider, *, now: datetime, older_than: timedelta
) -> tuple[int, ReconcileReport]:
    """The recovery job: stale claims become uncertain, then every settled doubt is
    settled against the provider's record."""
    stale = recover_stale_claims(db, now=now, older_than=older_than)
    return stale, reconcile_uncertain(db, provider, now=now)


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


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
