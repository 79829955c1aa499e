"""One face for every fake provider, so the journey and fault tests run for each.

A `FakeProvider` starts the provider's fake server, gives the settings that point the
real client at it, records what the provider accepted (`creates`), injects faults, and
plays the resident (`resident_texts`) by calling Nudge's inbound webhook exactly as the
provider would. A third provider plugs in by adding a class here and its name to
`PROVIDERS`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator

from tests.fakes.notify_server import FakeNotify
from tests.fakes.twilio_server import FakeTwilio
from tests.faults.invariants import Create

PROVIDERS = ("twilio", "notify")
PUBLIC_BASE_URL = "https://nudge.example.test"
TWILIO_ACCOUNT_SID = "AC" + "0" * 32
TWILIO_AUTH_TOKEN = "fake-provider-auth-token"
NOTIFY_CALLBACK_TOKEN = "fake-provider-notify-callback-token"
FROM_NUMBER = "+447700900000"

# posts one callback into Nudge: (path, form or JSON, headers) -> HTTP status
Poster = Callable[[str, dict[str, Any], dict[str, str], bool], int]


class FakeProvider(Protocol):
    name: str
    server: Any

    def settings(self) -> dict[str, Any]: ...
    def creates(self) -> list[Create]: ...
    def create_count(self, *, to: str | None = None, body: str | None = None) -> int: ...
    def request_outcomes(self) -> list[str]: ...
    def fail_next(self, count: int = 1, *, status: int = 500) -> None: ...
    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None: ...
    def drop_next(self, count: int = 1, *, after_create: bool = True) -> None: ...
    def refuse_number(self, number: str) -> None: ...
    def resident_texts(self, number: str, body: str) -> int: ...
    def redeliver_last_text(self) -> int: ...
    def wait_for_callbacks(self, timeout: float = 10.0) -> None: ...


class TwilioFake:
    name = "twilio"
    # outcome names in the fake's own terms
    OUTCOMES = {"delivered": "delivered", "permanent": "undelivered:30003"}

    def __init__(self, server: FakeTwilio, post: Poster | None) -> None:
        self.server = server
        self.post = post
        self._sids = itertools.count(1)
        self._last: tuple[str, dict[str, Any], dict[str, str]] | None = None

    def settings(self) -> dict[str, Any]:
        return {
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
            "TWILIO_FROM_NUMBER": FROM_NUMBER,
            "TWILIO_API_BASE_URL": self.server.base_url,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }

    def creates(self) -> list[Create]:
        return [Create(to=m.to, body=m.body, sid=m.sid) for m in self.server.created]

    def create_count(self, *, to: str | None = None, body: str | None = None) -> int:
        return self.server.create_count(to=to, body=body)

    def request_outcomes(self) -> list[str]:
        return [r.outcome for r in self.server.requests]

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        self.server.fail_next(count, status=status)

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        self.server.hang_next(count, seconds=seconds)

    def drop_next(self, count: int = 1, *, after_create: bool = True) -> None:
        self.server.drop_next(count, after_create=after_create)

    def refuse_number(self, number: str) -> None:
        self.server.refuse(number, 21614)

    def resident_texts(self, number: str, body: str) -> int:
        assert self.post is not None
        path = "/webhooks/twilio/sms"
        params = {
            "MessageSid": f"SM{next(self._sids):032x}",
            "AccountSid": TWILIO_ACCOUNT_SID,
            "From": number,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
        }
        signature = RequestValidator(TWILIO_AUTH_TOKEN).compute_signature(
            PUBLIC_BASE_URL + path, params
        )
        self._last = (path, params, {"X-Twilio-Signature": signature})
        return self.post(path, params, {"X-Twilio-Signature": signature}, False)

    def redeliver_last_text(self) -> int:
        """Twilio retries a webhook with the same MessageSid and signature."""
        assert self.post is not None and self._last is not None
        return self.post(*self._last, False)

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        self.server.wait_for_callbacks(timeout)


class NotifyFake:
    name = "notify"
    OUTCOMES = {"delivered": "delivered", "permanent": "permanent-failure"}

    def __init__(self, server: FakeNotify) -> None:
        self.server = server

    def settings(self) -> dict[str, Any]:
        return {
            "SMS_PROVIDER": "notify",
            "NOTIFY_API_KEY": self.server.key("live"),
            "NOTIFY_TEMPLATE_ID": self.server.template_id,
            "NOTIFY_SMS_SENDER_ID": next(iter(self.server.sender_ids)),
            "NOTIFY_BASE_URL": self.server.base_url,
            "NOTIFY_CALLBACK_TOKEN": NOTIFY_CALLBACK_TOKEN,
            "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
        }

    def creates(self) -> list[Create]:
        return [Create(to=n.to, body=n.body, sid=n.id) for n in self.server.notifications]

    def create_count(self, *, to: str | None = None, body: str | None = None) -> int:
        return self.server.create_count(to=to, body=body)

    def request_outcomes(self) -> list[str]:
        return [r.outcome for r in self.server.requests]

    def fail_next(self, count: int = 1, *, status: int = 500) -> None:
        self.server.fail_next(count, status=status)

    def hang_next(self, count: int = 1, *, seconds: float = 30.0) -> None:
        self.server.hang_next(count, seconds=seconds)

    def drop_next(self, count: int = 1, *, after_create: bool = True) -> None:
        self.server.drop_next(count, after_create=after_create)

    def refuse_number(self, number: str) -> None:
        self.server.refuse(number)

    def resident_texts(self, number: str, body: str) -> int:
        text = self.server.receive(number, body)
        answered = [c.answered for c in self.server.callbacks if c.payload.get("id") == text.id]
        return answered[-1] if answered and answered[-1] is not None else 0

    def redeliver_last_text(self) -> int:
        """Notify retries a callback with the same payload and id."""
        last = [c for c in self.server.callbacks if c.url.endswith("/inbound")][-1]
        return self.server.send_callback(last.url, last.payload) or 0

    def wait_for_callbacks(self, timeout: float = 10.0) -> None:
        self.server.wait_for_callbacks(timeout)


@contextmanager
def fake_provider(
    name: str,
    *,
    post: Poster | None = None,
    outcome: str = "delivered",
    callbacks: bool = True,
    **options: Any,
) -> Iterator[FakeProvider]:
    """Start the named provider's fake; callbacks go to `post` (into the app under test)."""
    if name == "twilio":

        def twilio_sender(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
            assert post is not None
            return post(urlsplit(url).path, params, headers, False)

        with FakeTwilio(
            account_sid=TWILIO_ACCOUNT_SID,
            auth_token=TWILIO_AUTH_TOKEN,
            outcomes={TwilioFake.OUTCOMES[outcome]: 1.0},
            callbacks=callbacks and post is not None,
            callback_sender=twilio_sender,
            **options,
        ) as twilio:
            yield TwilioFake(twilio, post)
    elif name == "notify":

        def notify_sender(url: str, payload: dict[str, Any], headers: dict[str, str]) -> int:
            assert post is not None
            return post(urlsplit(url).path, payload, headers, True)

        wired = callbacks and post is not None
        with FakeNotify(
            outcomes={NotifyFake.OUTCOMES[outcome]: 1.0},
            status_callback_url=PUBLIC_BASE_URL + "/webhooks/notify/status" if wired else None,
            inbound_callback_url=PUBLIC_BASE_URL + "/webhooks/notify/inbound" if wired else None,
            callback_token=NOTIFY_CALLBACK_TOKEN,
            callback_sender=notify_sender,
            **options,
        ) as notify:
            yield NotifyFake(notify)
    else:
        raise ValueError(f"no fake for provider {name!r}")


def poster_for(client: Any) -> Poster:
    """Deliver callbacks into a Flask test client, as the provider's HTTP POST would."""

    def post(path: str, body: dict[str, Any], headers: dict[str, str], as_json: bool) -> int:
        if as_json:
            return int(client.post(path, json=body, headers=headers).status_code)
        return int(client.post(path, data=body, headers=headers).status_code)

    return post
