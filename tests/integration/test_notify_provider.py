"""The GOV.UK Notify provider, through the real notifications-python-client, against the
fake Notify (which checks the API key's JWT as Notify does)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import jwt
import pytest
import requests
from sqlalchemy import select

from app.data.db import Database
from app.data.models import Message
from app.services import received_texts
from app.sms import provider_from_config
from app.sms.notify_provider import NOT_MOBILE, NotifyProvider
from app.sms.provider import (
    NOT_TEXTABLE,
    Doubt,
    OutgoingSms,
    PermanentFailure,
    TemporaryFailure,
    UncertainFailure,
    Unreachable,
)
from tests.fakes.notify_server import DEFAULT_SENDER_ID, FakeNotify

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeNotify]:
    with FakeNotify() as server:
        yield server


def notify(fake: FakeNotify, *, key: str = "live", timeout: float = 5.0) -> NotifyProvider:
    return provider_from_config(  # type: ignore[return-value]
        {
            "SMS_PROVIDER": "notify",
            "NOTIFY_API_KEY": fake.key(key),
            "NOTIFY_TEMPLATE_ID": fake.template_id,
            "NOTIFY_SMS_SENDER_ID": DEFAULT_SENDER_ID,
            "NOTIFY_BASE_URL": fake.base_url,
            "NOTIFY_TIMEOUT_SECONDS": timeout,
        }
    )


def sms(to: str = "+447700900001", message_id: int = 41) -> OutgoingSms:
    return OutgoingSms(message_id=message_id, to=to, body="Hello from Nudge: reply 1, 2 or 3")


def test_the_text_goes_through_the_one_template_with_our_id_as_reference(
    fake: FakeNotify,
) -> None:
    result = notify(fake).send(sms(), NOW)
    [sent] = fake.notifications
    assert result.provider_sid == sent.id
    assert sent.body == "Hello from Nudge: reply 1, 2 or 3"  # the template is ((body))
    assert sent.reference == "41" and sent.sms_sender_id == DEFAULT_SENDER_ID
    assert sent.to == "+447700900001"


def test_a_request_signed_with_another_key_is_refused_as_notify_refuses_it(
    fake: FakeNotify,
) -> None:
    wrong = NotifyProvider(
        api_key=f"other-{fake.service_id}-00000000-0000-0000-0000-000000000000",
        template_id=fake.template_id,
        base_url=fake.base_url,
    )
    with pytest.raises(PermanentFailure) as refused:
        wrong.send(sms(), NOW)
    assert refused.value.error_code == "403" and "API key not found" in str(refused.value)
    assert fake.create_count() == 0


def test_a_token_from_a_clock_more_than_30_seconds_out_is_refused(fake: FakeNotify) -> None:
    secret = fake.key("live")[-36:]
    for skew in (-45, 45):
        iat = int(datetime.now(UTC).timestamp()) + skew
        token = jwt.encode({"iss": fake.service_id, "iat": iat}, secret, algorithm="HS256")
        answer = requests.get(
            fake.base_url + "/v2/notifications",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert answer.status_code == 403
        assert (
            "clock must be accurate to within 30 seconds" in answer.json()["errors"][0]["message"]
        )
    fresh = jwt.encode(
        {"iss": fake.service_id, "iat": int(datetime.now(UTC).timestamp())}, secret, "HS256"
    )
    ok = requests.get(
        fake.base_url + "/v2/notifications", headers={"Authorization": f"Bearer {fresh}"}
    )
    assert ok.status_code == 200


def test_a_token_for_another_service_is_refused(fake: FakeNotify) -> None:
    secret = fake.key("live")[-36:]
    token = jwt.encode(
        {"iss": "00000000-0000-0000-0000-000000000000", "iat": int(datetime.now(UTC).timestamp())},
        secret,
        "HS256",
    )
    answer = requests.get(
        fake.base_url + "/v2/notifications", headers={"Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 403


def test_a_number_that_is_not_a_uk_mobile_is_a_permanent_not_textable_failure(
    fake: FakeNotify,
) -> None:
    provider = notify(fake)
    with pytest.raises(PermanentFailure) as refused:
        provider.send(sms(to="+12025550123"), NOW)
    assert refused.value.error_code == NOT_MOBILE
    assert provider.number_fault(refused.value.error_code) == NOT_TEXTABLE
    assert "phone_number Not a UK mobile number" in str(refused.value)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_temporary(fake: FakeNotify, status: int) -> None:
    fake.fail_next(1, status=status)
    with pytest.raises(TemporaryFailure) as failed:
        notify(fake).send(sms(), NOW)
    assert failed.value.error_code == str(status)


def test_the_daily_limit_answers_429_and_is_temporary() -> None:
    with FakeNotify(daily_limit=1) as fake:
        provider = notify(fake)
        provider.send(sms(), NOW)
        with pytest.raises(TemporaryFailure) as failed:
            provider.send(sms(message_id=42), NOW)
    assert failed.value.error_code == "429" and "for today" in str(failed.value)


def test_an_unknown_template_is_permanent(fake: FakeNotify) -> None:
    provider = NotifyProvider(
        api_key=fake.key("live"), template_id=fake.service_id, base_url=fake.base_url
    )
    with pytest.raises(PermanentFailure, match="Template not found"):
        provider.send(sms(), NOW)


def test_a_read_timeout_is_uncertain_and_found_by_reference_afterwards(
    fake: FakeNotify,
) -> None:
    fake.hang_next(1, seconds=1.0)
    provider = notify(fake, timeout=0.3)
    with pytest.raises(UncertainFailure):
        provider.send(sms(message_id=77), NOW)
    fake.wait_for_callbacks(timeout=5)
    found = provider.find(Doubt(77, "+447700900001", "ignored", NOW))
    assert found == fake.notifications[0].id
    assert provider.find(Doubt(78, "+447700900001", "ignored", NOW)) is None
    assert provider.find(Doubt(77, "+447700900001", "x", NOW), exclude=[found]) is None


def test_a_dropped_connection_is_uncertain(fake: FakeNotify) -> None:
    fake.drop_next(1, after_create=True)
    with pytest.raises(UncertainFailure):
        notify(fake).send(sms(), NOW)


def test_a_refused_connection_is_temporary_and_a_lookup_then_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = NotifyProvider(
        api_key=f"k-{'1' * 8}-1111-1111-1111-{'1' * 12}-{'2' * 8}-2222-2222-2222-{'2' * 12}",
        template_id="t",
        base_url=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(TemporaryFailure):
        provider.send(sms(), NOW)
    with pytest.raises(Unreachable):
        provider.find(Doubt(1, "+447700900001", "x", NOW))


def test_a_test_key_treats_notifys_test_numbers_as_notify_does(fake: FakeNotify) -> None:
    provider = notify(fake, key="test")
    for number in ("+447700900000", "+447700900111", "+447700900002", "+447700900003"):
        provider.send(sms(to=number), NOW)
    outcomes = {n.to: n.status for n in fake.notifications}
    assert outcomes == {
        "+447700900000": "delivered",
        "+447700900111": "delivered",
        "+447700900002": "permanent-failure",
        "+447700900003": "temporary-failure",
    }
    # a live key does not see what a test key sent
    assert notify(fake).find(Doubt(41, "+447700900000", "x", NOW)) is None


def test_a_team_key_sends_only_to_the_team(fake: FakeNotify) -> None:
    with pytest.raises(PermanentFailure, match="team-only API key"):
        notify(fake, key="team").send(sms(), NOW)


def test_polling_stores_each_received_text_once_oldest_first(
    fake: FakeNotify, db: Database
) -> None:
    for body in ("1", "2", "STOP"):
        fake.receive("+447700900005", body)
    provider = notify(fake)
    first = received_texts.poll(db, provider, now=NOW, inbound_number="+447700900000")
    fake.receive("+447700900006", "HELP")
    second = received_texts.poll(
        db, provider, now=NOW + timedelta(seconds=30), inbound_number="+447700900000"
    )
    assert (first.stored, second.stored) == (3, 1)
    with db.sessions() as session:
        stored = session.execute(
            select(Message.from_number, Message.body, Message.to_number)
            .where(Message.direction == "in")
            .order_by(Message.id)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("+447700900005", "1", "+447700900000"),
        ("+447700900005", "2", "+447700900000"),
        ("+447700900005", "STOP", "+447700900000"),
        ("+447700900006", "HELP", "+447700900000"),
    ]


@pytest.mark.parametrize("key", ["", "not-a-key", "live-" + "1" * 36])
def test_a_malformed_api_key_is_refused_when_the_provider_is_built(key: str) -> None:
    with pytest.raises(ValueError, match="NUDGE_NOTIFY"):
        NotifyProvider(api_key=key, template_id="t")
