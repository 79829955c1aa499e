"""The Twilio provider: the official SDK, with Twilio's errors mapped to retry or not.

Error mapping (Twilio error codes, https://www.twilio.com/docs/api/errors):
- 21610 (recipient replied STOP to Twilio) -> PermanentFailure("21610"): the dispatcher
  opts the number out; 21211 (invalid 'To') and 21614 (not a mobile) -> PermanentFailure:
  the dispatcher marks the number not textable; any other 4xx -> PermanentFailure.
- 429 and 5xx, and failures to connect -> TemporaryFailure: nothing reached Twilio, so
  retrying with backoff cannot send twice.
- A read timeout, or the connection dropping after the request went out ->
  UncertainFailure: Twilio may have queued the message, and at most once beats at
  least once, so the dispatcher never resends it.
The SDK's own retries stay off for the same reason.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from app.sms.provider import (
    OutgoingSms,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
    UncertainFailure,
)

TWILIO_API = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/webhooks/twilio/status"
OPTED_OUT = "21610"
NOT_TEXTABLE = frozenset({"21211", "21614"})
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
        except (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError) as exc:
            raise TemporaryFailure(f"could not connect to Twilio: {exc}") from exc
        except requests.exceptions.ReadTimeout as exc:
            raise UncertainFailure(f"Twilio did not answer in time: {exc}", "timeout") from exc
        except requests.exceptions.ConnectionError as exc:
            if _request_went_out(exc):
                raise UncertainFailure(f"Twilio dropped the connection: {exc}", "dropped") from exc
            raise TemporaryFailure(f"could not connect to Twilio: {exc}") from exc
        return SendResult(provider_sid=str(message.sid), status=str(message.status or "queued"))


def _map_rest_error(exc: TwilioRestException) -> Exception:
    code = str(exc.code) if exc.code else None
    if exc.status == 429 or exc.status >= 500:
        return TemporaryFailure(f"Twilio answered {exc.status}: {exc.msg}", code or str(exc.status))
    if code == OPTED_OUT or code in NOT_TEXTABLE:
        return PermanentFailure(f"Twilio refused: {exc.msg}", code)
    return PermanentFailure(f"Twilio answered {exc.status}: {exc.msg}", code or str(exc.status))


def _request_went_out(exc: requests.exceptions.ConnectionError) -> bool:
    """A refused or unresolvable connection never carried the request; anything else
    (reset, remote closed mid-answer) may have, after Twilio acted on it."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        text = type(cause).__name__
        if text in {"NewConnectionError", "NameResolutionError", "ConnectionRefusedError"}:
            return False
        cause = cause.__cause__ or cause.__context__ or _first_arg_exception(cause)
    return True


def _first_arg_exception(exc: BaseException) -> BaseException | None:
    for arg in getattr(exc, "args", ()):
        if isinstance(arg, BaseException):
            return arg
        reason = getattr(arg, "reason", None)
        if isinstance(reason, BaseException):
            return reason
    return None
