"""Delivery receipts for the outbox provider (development and demo): each text it took is
reported delivered, or failed for the designated test numbers, through the same path a
real provider's receipts take (`delivery.record_notify_receipt`), so reports, numbers
marked not textable and the dev phone behave as they would against a real network."""

from __future__ import annotations

from datetime import datetime

from app.data import receipts
from app.data.db import Database
from app.services.delivery import record_notify_receipt
from app.sms.outbox_provider import SID_PREFIX, receipt_for

BATCH = 500


def report_deliveries(db: Database, *, now: datetime, limit: int = BATCH) -> dict[str, int]:
    """Receipts for the outbox's texts sent by `now` and not yet reported; counts by status."""
    with db.transaction() as session:
        waiting = receipts.awaiting_receipt(
            session, sid_prefix=SID_PREFIX, sent_by=now, limit=limit
        )
    counts: dict[str, int] = {}
    for sid, number in waiting:
        status = receipt_for(number)
        record_notify_receipt(db, notification_id=sid, status=status, now=now)
        counts[status] = counts.get(status, 0) + 1
    return counts


__all__ = ["report_deliveries"]
