"""The outbox provider: sends nothing, so `make run`, the dev phone and tests need no network.

The message row is already the record of what would have been sent (the dev phone reads
it); this provider only hands back a unique, recognisable SID (`OB` + 32 hex digits, the
same shape as Twilio's `SM...`) so the rest of the pipeline runs unchanged. Nothing leaves,
so a message whose fate is unknown was never handed to anyone: `find` says so at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from app.sms.provider import Doubt, OutgoingSms, SendResult


class OutboxProvider:
    name = "outbox"
    settle_after = timedelta(0)

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        return SendResult(provider_sid="OB" + uuid.uuid4().hex, status="sent")

    def find(self, doubt: Doubt, exclude: Sequence[str] = ()) -> str | None:
        return None

    def number_fault(self, error_code: str | None) -> str | None:
        return None
