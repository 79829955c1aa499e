"""Out through the real Twilio SDK to the fake Twilio, back through the signed status webhook."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from flask import Flask
from sqlalchemy import select

from app.data.db import Database
from app.data.models import Message, PhoneNumber
from app.services.dispatch import dispatch_due
from app.services.reconciliation import reconcile_early_callbacks
from app.sms import provider_from_config
from tests.builders import queue_outbound
from tests.conftest import DEFAULT_NOW
from tests.fakes.twilio_server import FakeTwilio

FINAL = {"delivered": "delivered", "undelivered:30003": "undelivered", "failed:21610": "failed"}


@pytest.fixture
def fake(app: Flask) -> Iterator[FakeTwilio]:
    client = app.test_client()

    def through_the_webhook(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
        return client.post(urlsplit(url).path, data=params, headers=headers).status_code

    with FakeTwilio(
        auth_token=app.config["TWILIO_AUTH_TOKEN"],
        account_sid=app.config["TWILIO_ACCOUNT_SID"],
        outcomes={"delivered": 6, "undelivered:30003": 2, "failed:21610": 2},
        duplicate_rate=0.5,
        reorder_rate=0.5,
        seed=3,
        callback_sender=through_the_webhook,
    ) as server:
        yield server


def test_each_message_is_created_once_and_ends_in_the_state_twilio_reported(
    app: Flask, db: Database, fake: FakeTwilio
) -> None:
    numbers = [f"+4477009005{n:02d}" for n in range(30)]
    with db.transaction() as session:
        for number in numbers:
            queue_outbound(session, number, f"Hello {number}", in_send_window=False)
    provider = provider_from_config(
        {
            **app.config,
            "SMS_PROVIDER": "twilio",
            "TWILIO_FROM_NUMBER": "+447700900000",
            "TWILIO_API_BASE_URL": fake.base_url,
        }
    )

    report = dispatch_due(db, provider, now=DEFAULT_NOW)
    fake.wait_for_callbacks(timeout=30)
    # the next dispatch tick settles callbacks that raced the recording of their SID
    reconcile_early_callbacks(db, now=DEFAULT_NOW)

    assert report.sent == 30
    assert all(fake.create_count(to=number) == 1 for number in numbers)
    assert all(c.answered == 200 for c in fake.callbacks), {c.answered for c in fake.callbacks}
    outcome = {m.sid: m.outcome for m in fake.created}
    with db.transaction() as session:
        rows = session.execute(select(Message.provider_sid, Message.status, Message.to_number))
        for sid, status, number in rows:
            assert status == FINAL[outcome[sid]], (sid, outcome[sid], status)
            phone = session.get(PhoneNumber, number)
            if outcome[sid] == "failed:21610":
                assert phone is not None and phone.opted_out_at is not None
            elif outcome[sid] == "undelivered:30003":
                assert phone is not None and phone.not_textable_at is not None
            else:
                assert phone is None or (
                    phone.opted_out_at is None and phone.not_textable_at is None
                )
    assert set(outcome.values()) == set(FINAL)  # the mix really was mixed
