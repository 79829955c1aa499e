"""The Twilio provider: the official SDK, with Twilio's errors mapped to retry or not.

Error mapping (Twilio error codes, https://www.twilio.com/docs/api/errors):
- 21610 (recipient replied STOP to Twilio) -> PermanentFailure("21610"): the dispatcher
  opts the number out; 21211 (invalid 'To') and 21614 (not a mobile) -> PermanentFailure:
  the dispatcher marks the number not textable; any other 4xx -> PermanentFailure.
- 429 and 5xx, and failures to connect -> TemporaryFailure: nothing reached Twilio, so
  retrying with backoff cannot send twice.
- A read timeout, or the connection dropping after the request went out ->
  UncertainFailure: Twilio may have queued the message, so it is not resent until
  `find` has asked Twilio's own record (the Messages list resource, to that number,
  sent since the claim, matched on body) and found nothing there.
The SDK's own retries stay off for the same reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.sms.provider import (
    NOT_TEXTABLE,
    OPTED_OUT,
    Doubt,
    OutgoingSms,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
    UncertainFailure,
    Unreachable,
)
from app.sms.transport import request_went_out

TWILIO_API = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
UNSUBSCRIBED = "21610"
NOT_TEXTABLE_CODES = frozenset({"21211", "21614"})
# Twilio's Messages list filters on DateSent, which it sets when the message leaves its
# queue: at Nudge's send rates that is seconds, so after this a message it took is listed
SETTLE_AFTER = timedelta(minutes=15)
# our clock and Twilio's may disagree by a little: look a little earlier than the claim
CLOCK_SLACK = timedelta(minutes=2)
# Twilio accepts a ValidityPeriod of 1..36000 seconds (10 hours, also its default)
MAX_VALIDITY_SECONDS = 36000


class RedirectingHttpClient(TwilioHttpClient):
    """The SDK's HTTP client with `https://api.twilio.com` swapped for another base URL.

    `TwilioHttpClient.request` is the one place every SDK call passes through with a full
    URL, so rewriting the prefix there points the unchanged SDK at a local fake Twilio.
    """

    def __init__(self, base_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


def validity_seconds(expires_at: datetime | None, now: datetime) -> int | None:
    """Seconds until the offer expires, within Twilio's 1..36000, so a queued invitation
    is dropped by Twilio rather than delivered after its slots have gone."""
    if expires_at is None:
        return None
    remaining = math.floor((expires_at - now).total_seconds())
    return max(1, min(MAX_VALIDITY_SECONDS, remaining))


class TwilioProvider:
    name = "twilio"
    settle_after = SETTLE_AFTER

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        status_callback_url: str,
        messaging_service_sid: str = "",
        from_number: str = "",
        api_base_url: str = "",
        timeout: float = 10.0,
    ) -> None:
        if not (messaging_service_sid or from_number):
            raise ValueError("Twilio needs a Messaging Service SID or a From number")
        http_client: TwilioHttpClient
        if api_base_url and api_base_url.rstrip("/") != TWILIO_API:
            http_client = RedirectingHttpClient(api_base_url, timeout=timeout)
        else:
            http_client = TwilioHttpClient(timeout=timeout)
        self.client = Client(account_sid, auth_token, http_client=http_client)
        self.status_callback_url = status_callback_url
        self.messaging_service_sid = messaging_service_sid
        self.from_number = from_number

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult:
        options: dict[str, Any] = {
            "to": sms.to,
            "body": sms.body,
            "status_callback": self.status_callback_url,
        }
        if self.messaging_service_sid:
            options["messaging_service_sid"] = self.messaging_service_sid
        else:
            options["from_"] = self.from_number
        validity = validity_seconds(sms.expires_at, now)
        if validity is not None:
            options["validity_period"] = validity
        try:
            message = self.client.messages.create(**options)
        except TwilioRestException as exc:
            raise _map_rest_error(exc) from exc
        except requests.exceptions.ReadTimeout as exc:
            raise UncertainFailure(f"Twilio did not answer in time: {exc}", "timeout") from exc
        except requests.exceptions.RequestException as exc:
            if request_went_out(exc):
                raise UncertainFailure(f"Twilio dropped the connection: {exc}", "dropped") from exc
            raise TemporaryFailure(f"could not connect to Twilio: {exc}") from exc
        return SendResult(provider_sid=str(message.sid), status=str(message.status or "queued"))

    def find(self, doubt: Doubt, exclude: Sequence[str] = ()) -> str | None:
        """The SID of the message Twilio sent to this number since the claim with this
        body (the oldest such, not one of `exclude`), through the Messages list resource
        (`To`, `DateSent>`, paged by the SDK)."""
        skip = set(exclude)
        found: str | None = None
        try:
            for message in self.client.messages.stream(
                to=doubt.to, date_sent_after=doubt.claimed_at - CLOCK_SLACK, page_size=100
            ):
                outbound = str(message.direction or "").startswith("outbound")
                if outbound and message.body == doubt.body and message.sid not in skip:
                    found = str(message.sid)  # newest first: the last match is the oldest
        except TwilioException as exc:  # a refused page is a TwilioException, not a Rest one
            raise Unreachable(f"Twilio could not list messages: {exc}", "list") from exc
        except requests.exceptions.RequestException as exc:
            raise Unreachable(f"could not ask Twilio: {exc}", "unreachable") from exc
        return found

    def number_fault(self, error_code: str | None) -> str | None:
        if error_code == UNSUBSCRIBED:
            return OPTED_OUT
        if error_code in NOT_TEXTABLE_CODES:
            return NOT_TEXTABLE
        return None


def _map_rest_error(exc: TwilioRestException) -> Exception:
    code = str(exc.code) if exc.code else None
    if exc.status == 429 or exc.status >= 500:
        return TemporaryFailure(f"Twilio answered {exc.status}: {exc.msg}", code or str(exc.status))
    if code == UNSUBSCRIBED or code in NOT_TEXTABLE_CODES:
        return PermanentFailure(f"Twilio refused: {exc.msg}", code)
    return PermanentFailure(f"Twilio answered {exc.status}: {exc.msg}", code or str(exc.status))
