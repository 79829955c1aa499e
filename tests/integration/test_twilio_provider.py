"""The Twilio provider, through the real SDK, against the fake Twilio server."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from app.data.db import Database
from app.data.models import Message, PhoneNumber
from app.services.dispatch import dispatch_due
from app.sms import provider_from_config
from app.sms.outbox_provider import OutboxProvider
from app.sms.provider import (
    Doubt,
    OutgoingSms,
    PermanentFailure,
    TemporaryFailure,
    UncertainFailure,
    Unreachable,
)
from app.sms.twilio_provider import TwilioProvider, validity_seconds
from tests.builders import queue_outbound
from tests.fakes.twilio_server import DEFAULT_ACCOUNT_SID, FakeTwilio

NOW = datetime(2026, 1, 14, 10, 0, tzinfo=UTC)
TOKEN = "test-auth-token"
CALLBACK = "https://nudge.example.test/webhooks/twilio/status"


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    received: list[tuple[str, dict[str, str], dict[str, str]]] = []

    def capture(url: str, params: dict[str, str], headers: dict[str, str]) -> int:
        received.append((url, params, headers))
        return 204

    with FakeTwilio(auth_token=TOKEN, callback_sender=capture) as server:
        server.received = received  # type: ignore[attr-defined]
        yield server


def twilio(fake: FakeTwilio, timeout: float = 5.0) -> TwilioProvider:
    return provider_from_config(  # type: ignore[return-value]
        {
            "SMS_PROVIDER": "twilio",
            "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": TOKEN,
            "TWILIO_FROM_NUMBER": "+447700900000",
            "PUBLIC_BASE_URL": "https://nudge.example.test/",
            "TWILIO_API_BASE_URL": fake.base_url,
            "TWILIO_TIMEOUT_SECONDS": timeout,
        }
    )


def sms(to: str = "+447700900001", expires_at: datetime | None = None) -> OutgoingSms:
    return OutgoingSms(message_id=1, to=to, body="Hello from Nudge", expires_at=expires_at)


def test_config_chooses_the_outbox_provider_by_default() -> None:
    assert isinstance(provider_from_config({}), OutboxProvider)
    with pytest.raises(ValueError):
        provider_from_config({"SMS_PROVIDER": "carrier-pigeon"})


def test_the_sdk_creates_the_message_with_sender_callback_and_validity(fake: FakeTwilio) -> None:
    result = twilio(fake).send(sms(expires_at=NOW + timedelta(hours=2)), NOW)

    assert result.provider_sid.startswith("SM") and result.status == "queued"
    [created] = fake.created
    assert (created.to, created.from_, created.body) == (
        "+447700900001",
        "+447700900000",
        "Hello from Nudge",
    )
    assert created.status_callback == CALLBACK
    assert created.validity_period == 7200


def test_a_messaging_service_is_used_instead_of_a_from_number_when_configured(
    fake: FakeTwilio,
) -> None:
    provider = TwilioProvider(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=TOKEN,
        messaging_service_sid="MG" + "1" * 32,
        status_callback_url=CALLBACK,
        api_base_url=fake.base_url,
    )
    provider.send(sms(), NOW)
    assert fake.created[0].messaging_service_sid == "MG" + "1" * 32
    assert fake.created[0].from_ is None


def test_validity_period_stays_within_twilios_bounds() -> None:
    assert validity_seconds(None, NOW) is None
    assert validity_seconds(NOW + timedelta(days=3), NOW) == 36000
    assert validity_seconds(NOW - timedelta(minutes=1), NOW) == 1
    assert validity_seconds(NOW + timedelta(seconds=90.7), NOW) == 90


def test_a_wrong_auth_token_is_a_permanent_failure(fake: FakeTwilio) -> None:
    provider = TwilioProvider(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token="wrong",
        from_number="+447700900000",
        status_callback_url=CALLBACK,
        api_base_url=fake.base_url,
    )
    with pytest.raises(PermanentFailure):
        provider.send(sms(), NOW)
    assert fake.created == []


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_temporary(fake: FakeTwilio, status: int) -> None:
    fake.fail_next(1, status=status)
    with pytest.raises(TemporaryFailure):
        twilio(fake).send(sms(), NOW)
    assert fake.created == []


@pytest.mark.parametrize("code", [21610, 21211, 21614])
def test_twilio_refusals_are_permanent_with_their_code(fake: FakeTwilio, code: int) -> None:
    fake.refuse("+447700900001", code)
    with pytest.raises(PermanentFailure) as raised:
        twilio(fake).send(sms(), NOW)
    assert raised.value.error_code == str(code)


def test_a_read_timeout_is_uncertain_because_twilio_may_have_sent(fake: FakeTwilio) -> None:
    fake.hang_next(1, seconds=1.5)
    with pytest.raises(UncertainFailure):
        twilio(fake, timeout=0.3).send(sms(), NOW)


def test_a_dropped_connection_after_the_request_is_uncertain(fake: FakeTwilio) -> None:
    fake.drop_next(1)
    with pytest.raises(UncertainFailure):
        twilio(fake).send(sms(), NOW)
    assert len(fake.created) == 1  # it did go out: resending would double it


def test_a_refused_connection_is_temporary(fake: FakeTwilio) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    provider = TwilioProvider(
        account_sid=DEFAULT_ACCOUNT_SID,
        auth_token=TOKEN,
        from_number="+447700900000",
        status_callback_url=CALLBACK,
        api_base_url=f"http://127.0.0.1:{closed_port}",
    )
    with pytest.raises(TemporaryFailure):
        provider.send(sms(), NOW)


def test_status_callbacks_are_signed_exactly_as_twilio_signs(fake: FakeTwilio) -> None:
    fake.outcomes = {"undelivered:30003": 1}
    result = twilio(fake).send(sms(), NOW)
    fake.wait_for_callbacks()
    received = fake.received  # type: ignore[attr-defined]
    assert [p["MessageStatus"] for _, p, _ in received] == ["sent", "undelivered"]
    validator = RequestValidator(TOKEN)
    for url, params, headers in received:
        assert url == CALLBACK and params["MessageSid"] == result.provider_sid
        assert validator.validate(url, params, headers["X-Twilio-Signature"])
    assert received[-1][1]["ErrorCode"] == "30003"


def test_callbacks_can_be_duplicated_and_reordered(fake: FakeTwilio) -> None:
    fake.duplicate_rate = 1.0
    fake.reorder_rate = 1.0
    twilio(fake).send(sms(), NOW)
    fake.wait_for_callbacks()
    statuses = [p["MessageStatus"] for _, p, _ in fake.received]  # type: ignore[attr-defined]
    assert statuses[:2] == ["delivered", "sent"] and len(statuses) == 3


def test_server_errors_then_recovery_send_the_message_exactly_once(
    db: Database, fake: FakeTwilio
) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session).id
    fake.fail_next(2, status=500)
    fake.fail_next(1, status=429)
    provider = twilio(fake)
    at = NOW
    for _ in range(8):
        dispatch_due(db, provider, now=at)
        at += timedelta(minutes=10)
    assert fake.create_count(to="+447700900001") == 1
    assert [r.outcome for r in fake.requests] == ["error:500", "error:500", "error:429", "created"]
    with db.transaction() as session:
        row = session.get_one(Message, message_id)
        assert (row.status, row.attempts) == ("sent", 4)
        assert row.provider_sid == fake.created[0].sid


def test_21610_from_twilio_opts_the_number_out_and_cancels_its_queue(
    db: Database, fake: FakeTwilio
) -> None:
    with db.transaction() as session:
        first = queue_outbound(session, "+447700900003", "Invitation").id
        later = queue_outbound(
            session, "+447700900003", "Reminder", not_before=NOW + timedelta(days=1)
        ).id
    fake.refuse("+447700900003", 21610)
    report = dispatch_due(db, twilio(fake), now=NOW)
    assert report.failed_codes == {"21610": 1}
    with db.transaction() as session:
        phone = session.get_one(PhoneNumber, "+447700900003")
        assert phone.opted_out_at == NOW and phone.opt_out_source == "provider"
        rows = {m.id: (m.status, m.error_code) for m in session.scalars(select(Message))}
    assert rows == {first: ("failed", "21610"), later: ("cancelled", None)}


def test_an_invalid_number_from_twilio_is_marked_not_textable(
    db: Database, fake: FakeTwilio
) -> None:
    with db.transaction() as session:
        queue_outbound(session, "+447700900004", "Invitation")
    fake.refuse("+447700900004", 21614)
    dispatch_due(db, twilio(fake), now=NOW)
    with db.transaction() as session:
        phone = session.get_one(PhoneNumber, "+447700900004")
        assert phone.not_textable_at == NOW and phone.not_textable_reason == "twilio 21614"
        assert phone.opted_out_at is None


def test_a_timeout_leaves_the_message_uncertain_and_it_is_never_resent(
    db: Database, fake: FakeTwilio
) -> None:
    with db.transaction() as session:
        message_id = queue_outbound(session).id
    fake.hang_next(1, seconds=1.0)
    provider = twilio(fake, timeout=0.3)
    report = dispatch_due(db, provider, now=NOW)
    for minutes in (10, 60, 600):
        dispatch_due(db, provider, now=NOW + timedelta(minutes=minutes))
    assert report.uncertain == 1
    fake.wait_for_callbacks()
    assert fake.create_count() == 1  # the slow request did create it; nothing more
    with db.transaction() as session:
        assert session.get_one(Message, message_id).status == "uncertain"


def test_find_pages_through_the_messages_list_filtered_by_number_and_date_sent(
    fake: FakeTwilio,
) -> None:
    """Twilio lists newest first, 100 to a page here: the oldest match is on the last."""
    provider = twilio(fake)
    now = datetime.now(UTC)
    for i in range(230):
        provider.send(OutgoingSms(i, "+447700900001", f"Wave text {i % 115}"), now)
    provider.send(OutgoingSms(999, "+447700900002", "Wave text 5"), now)
    first = fake.created[5].sid
    again = fake.created[120].sid  # the same words, later
    doubt = Doubt(5, "+447700900001", "Wave text 5", now - timedelta(minutes=1))
    assert provider.find(doubt) == first
    assert provider.find(doubt, exclude=[first]) == again
    assert provider.find(doubt, exclude=[first, again]) is None
    # DateSent> the claim: nothing sent before it counts
    assert provider.find(Doubt(5, "+447700900001", "Wave text 5", now + timedelta(hours=1))) is None
    lists = [r for r in fake.list_requests if "PageToken" in r]
    assert len(lists) >= 2  # it followed next_page_uri


def test_find_is_unreachable_when_twilio_cannot_list(fake: FakeTwilio) -> None:
    fake.fail_next(1, status=503)
    with pytest.raises(Unreachable):
        twilio(fake).find(Doubt(1, "+447700900001", "x", NOW))
