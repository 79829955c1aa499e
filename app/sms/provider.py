"""The SMS provider interface: Twilio in production, the outbox provider everywhere else.

The dispatcher sees only this: `send()` either returns the provider's message id, or
raises `TemporaryFailure` (retry later with backoff) or `PermanentFailure` (never retry;
`error_code` says why, e.g. 21610 unsubscribed, 21211 invalid number, 21614 not mobile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
    status: str = "sent"  # what the provider said: queued, accepted, sent


class ProviderError(Exception):
    def __init__(self, message: str, error_code: str | None = None) -> None:
        super().__init__(message)
        self.error_code = error_code


class TemporaryFailure(ProviderError):
    """Rate limited, server error, connection failure: retry with backoff."""


class PermanentFailure(ProviderError):
    """The provider refused this message for good: do not retry."""


class UncertainFailure(ProviderError):
    """The request may have reached the provider (timeout after sending): never resend."""


class SmsProvider(Protocol):
    name: str

    def send(self, sms: OutgoingSms, now: datetime) -> SendResult: ...
