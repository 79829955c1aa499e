"""The outbox provider: sends nothing, so `make run`, the dev phone and tests need no network.

The message row is already the record of what would have been sent (the dev phone reads
it); this provider only hands back a unique, recognisable SID (`OB` + 32 hex digits, the
same shape as Twilio's `SM...`) so the rest of the pipeline runs unchanged. Nothing leaves,
so a message whose fate is unknown was never handed to anyone: `find` says so at once.

Like a real network, it then reports delivery (`receipt_for`, read by the
`outbox_receipts` job): every text is delivered except to the designated test numbers,
which fail the way GOV.UK Notify's test numbers do, so `make run` exercises every row of
the delivery report: 07700 900002 fails permanently (the number does not exist, so it
is marked not textable) and 07700 900003 fails temporarily (phone off for the whole
retry period).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.sms.provider import Doubt, OutgoingSms, SendResult

SID_PREFIX = "OB"
PERMANENT_FAILURE_NUMBER = "+447700900002"
TEMPORARY_FAILURE_NUMBER = "+447700900003"
# receipts in GOV.UK Notify's words (app.services.delivery.NOTIFY_RECEIPTS maps them)
TEST_RECEIPTS = {
    PERMANENT_FAILURE_NUMBER: "permanent-failure",
    TEMPORARY_FAILURE_NUMBER: "temporary-failure",
}


def receipt_for(to: str) -> str:
    """The delivery receipt the imaginary network gives a text to `to` (E.164)."""
    return TEST_RECEIPTS.get(to, "delivered")


class OutboxProvider:
    name = "outbox"
    settle_after = timedelta(0)

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        return SendResult(provider_sid=SID_PREFIX + uuid.uuid4().hex, status="sent")

    def find(self, doubt: Doubt, exclude: Sequence[str] = ()) -> str | None:
        return None

    def number_fault(self, error_code: str | None) -> str | None:
        return None
