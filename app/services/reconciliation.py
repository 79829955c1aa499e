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

from app.data import doubts
from app.data.db import Database
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
        return doubts.mark_stale_uncertain(session, claimed_before=now - older_than, now=now)


def reconcile_uncertain(
    db: Database, provider: SmsProvider, *, now: datetime, limit: int = RECONCILE_BATCH
) -> ReconcileReport:
    """Ask the provider about each settled `uncertain` message (see the module doc)."""
    report = ReconcileReport()
    settled = now - provider.settle_after
    with db.transaction() as session:
        rows = doubts.settled_doubts(session, claimed_by=settled, limit=limit)
    for index, row in enumerate(rows):
        doubt = Doubt(row.id, row.to_number, row.body, _aware(row.claimed_at or now))
        try:
            with db.transaction() as session:
                known = doubts.sids_sent_to(session, doubt.to)
            sid = provider.find(doubt, exclude=known)
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
            # settled only if still the doubt we asked about
            if sid is not None:
                if doubts.settle_sent(
                    session, doubt.message_id, attempts=row.attempts, sid=sid, now=now
                ):
                    delivery.replay_stored_events(session, sid, now=now)
                    report.sent += 1
            else:
                report.requeued += doubts.requeue(
                    session, doubt.message_id, attempts=row.attempts, now=now
                )
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
        sids = doubts.sids_with_later_receipts(session, LATER_THAN_SENT)
        for sid in sids:
            if sid is not None:
                delivery.replay_stored_events(session, sid, now=now)
    return len(sids)


def _aware(at: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
