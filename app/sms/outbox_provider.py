"""The outbox provider: sends nothing, so `make run`, the dev phone and tests need no network.

The message row is already the record of what would have been sent (the dev phone reads
it); this provider only hands back a unique, recognisable SID (`OB` + 32 hex digits, the
same shape as Twilio's `SM...`) so the rest of the pipeline runs unchanged.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from app.sms.provider import OutgoingSms, SendResult


class OutboxProvider:
    name = "outbox"

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        return SendResult(provider_sid="OB" + uuid.uuid4().hex, status="sent")
