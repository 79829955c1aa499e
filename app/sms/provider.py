"""The SMS provider interface: Twilio or GOV.UK Notify in production, the outbox elsewhere.

The dispatcher sees only this: `send()` either returns the provider's message id, or
raises `TemporaryFailure` (retry later with backoff), `PermanentFailure` (never retry;
`error_code` says why and whether the number is to blame, see `NumberFault`) or
`UncertainFailure` (the request may have reached the provider). `find()` answers, for a
message whose fate is unknown, whether the provider has it: the reconciliation that
decides between "it was sent" and "safe to queue again" after a crash or a timeout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class OutgoingSms:
    message_id: int
    to: str
    body: str
    # the last moment the message is still worth delivering (offer expiry); providers
    # that queue (Twilio) turn it into a validity period
    expires_at: datetime | None = None


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    status: str = "sent"  # what the provider said: queued, accepted, created, sent


@dataclass(frozen=True)
class Doubt:
    """A message claimed for sending whose provider id was never recorded."""

    message_id: int
    to: str
    body: str
    claimed_at: datetime


class ProviderError(Exception):
    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class TemporaryFailure(ProviderError):
    """Rate limited, server error, connection failure: retry with backoff."""


class PermanentFailure(ProviderError):
    """The provider refused this message for good: do not retry."""


class UncertainFailure(ProviderError):
    """The request may have reached the provider (timeout after sending): never resend
    until the provider's own record (`find`) says it does not have it."""


class Unreachable(ProviderError):
    """The provider could not be asked (down, timing out, refusing our credentials)."""


# what a refusal's error code says about the number, whichever provider gave it
OPTED_OUT = "opted_out"
NOT_TEXTABLE = "not_textable"


class SmsProvider(Protocol):
    name: str
    # how long after a claim the provider's own record is sure to show a message it took
    settle_after: timedelta

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult: ...

    def find(self, doubt: Doubt, exclude: Sequence[str] = ()) -> str | None:
        """The provider's id for this message if it has it (ids in `exclude` are other
        messages' and never the answer), else None; raises `Unreachable`."""
        ...

    def number_fault(self, error_code: str | None) -> str | None:
        """OPTED_OUT or NOT_TEXTABLE when a refusal with this code is the number's fault."""
        ...
