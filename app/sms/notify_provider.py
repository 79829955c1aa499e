"""The GOV.UK Notify provider: the official `notifications-python-client`, errors mapped.

Nudge renders its own texts, so it sends every message through one Notify text template
whose whole body is the placeholder `((body))`, with the rendered text as that
placeholder's value, and Nudge's message id as Notify's `reference`.

Error mapping (Notify's API errors, https://docs.notifications.service.gov.uk/python.html):
- 400 `ValidationError` about `phone_number` (not a UK mobile, too many or too few
  digits...) -> PermanentFailure("not_mobile"): the dispatcher marks the number not
  textable; any other 400 or 403 (bad key, unknown template) -> PermanentFailure.
- 429 (3,000 a minute per key type, or the service's daily limit) and 5xx, and failures
  to connect -> TemporaryFailure: retried with backoff.
- A read timeout, or the connection dropping after the request went out ->
  UncertainFailure: Notify may have taken it. `find` then asks Notify for notifications
  with that reference: found means sent, none means safe to queue again.
Notify does not act on STOP for texts: Nudge's own opt-out handling is the only one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from notifications_python_client.errors import APIError
from notifications_python_client.notifications import NotificationsAPIClient

from app.sms.provider import (
    NOT_TEXTABLE,
    Doubt,
    OutgoingSms,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
    UncertainFailure,
    Unreachable,
)
from app.sms.transport import request_went_out

NOTIFY_API = "https://api.notifications.service.gov.uk"
PLACEHOLDER = "body"
# an API key as Notify shows it: its name, then the service id and the secret (two UUIDs)
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
API_KEY = re.compile(rf"^.*-{_UUID}-{_UUID}$", re.IGNORECASE)
NOT_MOBILE = "not_mobile"
# Notify stores a notification before it answers the POST: once a request from a dead
# dispatcher has had time to finish, its reference is either listed or never will be
SETTLE_AFTER = timedelta(minutes=2)


class NotifyProvider:
    name = "notify"
    settle_after = SETTLE_AFTER

    def __init__(
        self,
        *,
        api_key: str,
        template_id: str,
        sms_sender_id: str = "",
        base_url: str = "",
        timeout: float = 10.0,
    ) -> None:
        if not api_key or not template_id:
            raise ValueError("Notify needs NUDGE_NOTIFY_API_KEY and NUDGE_NOTIFY_TEMPLATE_ID")
        if not API_KEY.match(api_key):
            # the client would slice a service id and secret out of anything, and every
            # send would then fail for good with 403
            raise ValueError(
                "NUDGE_NOTIFY_API_KEY is not a Notify API key (name-serviceid-secret, "
                "as Notify's API integration page shows it)"
            )
        self.api_key = api_key
        self.template_id = template_id
        self.sms_sender_id = sms_sender_id or None
        self.base_url = (base_url or NOTIFY_API).rstrip("/")
        self.timeout = timeout
        # the client keeps a requests.Session, which is not thread-safe
        self._local = threading.local()

    @property
    def client(self) -> NotificationsAPIClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = NotificationsAPIClient(
                self.api_key, base_url=self.base_url, timeout=self.timeout
            )
            self._local.client = client
        return client

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        try:
            answer = self.client.send_sms_notification(
                phone_number=sms.to,
                template_id=self.template_id,
                personalisation={PLACEHOLDER: sms.body},
                reference=str(sms.message_id),
                sms_sender_id=self.sms_sender_id,
            )
        except APIError as exc:
            raise _map_api_error(exc) from exc
        return SendResult(provider_sid=str(answer["id"]), status="created")

    def find(self, doubt: Doubt, exclude: Sequence[str] = ()) -> str | None:
        """The id of the notification Notify holds with this message's reference."""
        try:
            answer = self.client.get_all_notifications(
                template_type="sms", reference=str(doubt.message_id)
            )
        except APIError as exc:
            raise Unreachable(f"could not ask Notify: {exc}", str(exc.status_code)) from exc
        skip = set(exclude)
        found = [n["id"] for n in answer.get("notifications", []) if n["id"] not in skip]
        return str(found[-1]) if found else None  # newest first: the oldest is last

    def number_fault(self, error_code: str | None) -> str | None:
        return NOT_TEXTABLE if error_code == NOT_MOBILE else None

    def received_texts(self) -> Iterator[Mapping[str, Any]]:
        """Texts residents sent to the service's inbound number, newest first (7 days)."""
        try:
            yield from self.client.get_received_texts_iterator()
        except APIError as exc:
            raise Unreachable(f"could not ask Notify: {exc}", str(exc.status_code)) from exc


def _map_api_error(exc: APIError) -> Exception:
    if exc.response is None:
        cause = exc.__cause__
        went_out = cause is None or request_went_out(cause)
        if isinstance(cause, requests.exceptions.ReadTimeout):
            return UncertainFailure(f"Notify did not answer in time: {cause}", "timeout")
        if went_out:
            return UncertainFailure(f"Notify dropped the connection: {cause}", "dropped")
        return TemporaryFailure(f"could not connect to Notify: {cause}", "connect")
    status = exc.status_code
    text = _messages(exc)
    if status == 429 or status >= 500:
        return TemporaryFailure(f"Notify answered {status}: {text}", str(status))
    if status == 400 and "phone_number" in text:
        return PermanentFailure(f"Notify refused the number: {text}", NOT_MOBILE)
    return PermanentFailure(f"Notify answered {status}: {text}", str(status))


def _messages(exc: APIError) -> str:
    """Notify's error body: {"status_code": 400, "errors": [{"error", "message"}]}."""
    message = exc.message
    if isinstance(message, list):
        return "; ".join(f"{e.get('error')}: {e.get('message')}" for e in message)
    return str(message)
