"""GOV.UK Notify's callbacks: bearer-token authenticated, idempotent, order-safe."""

from __future__ import annotations

import itertools
import re
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app import create_app
from app.data.models import Booking, Message, Offer, PhoneNumber
from tests.builders import act_on_inbound, add_open_offer, add_user, queue_outbound
from tests.conftest import make_test_config
from tests.web.staff import post, sign_in

TOKEN = "notify-callback-token-for-tests"
MOBILE = "+447700900001"


@pytest.fixture
def app(app):
    app.config["NOTIFY_CALLBACK_TOKEN"] = TOKEN
    return app


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def receipt(notification_id: str, status: str, reference: str = "1") -> dict[str, str]:
    return {
        "id": notification_id,
        "reference": reference,
        "to": MOBILE.lstrip("+"),
        "status": status,
        "created_at": "2026-01-14T10:00:00.000000Z",
        "completed_at": "2026-01-14T10:00:05.000000Z",
        "sent_at": "2026-01-14T10:00:01.000000Z",
        "notification_type": "sms",
    }


def received(body: str, text_id: str | None = None) -> dict[str, str]:
    return {
        "id": text_id or str(uuid.uuid4()),
        "source_number": MOBILE.lstrip("+"),
        "destination_number": "447700900000",
        "message": body,
        "date_received": "2026-01-14T10:30:00.000000Z",
    }


def count(db, model, *where) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def sent_invitation(db, clock, sid: str) -> int:
    with db.transaction() as session:
        offer = add_open_offer(session, mobile=MOBILE, now=clock.now())
        message = queue_outbound(
            session, to=MOBILE, body="x", kind="invitation", now=clock.now(), offer_id=offer.id
        )
        message.status, message.provider_sid = "sent", sid
        return offer.id


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-token"), {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["missing", "wrong", "no-scheme", "basic"],
)
def test_a_callback_without_the_bearer_token_is_401_changes_nothing_and_logs_no_patient_data(
    client, db, clock, caplog, headers
):
    offer_id = sent_invitation(db, clock, "n-1")
    for path, payload in (
        ("/webhooks/notify/inbound", received("STOP, this is Jo Bloggs")),
        ("/webhooks/notify/status", receipt("n-1", "permanent-failure")),
    ):
        answer = client.post(path, json=payload, headers=headers)
        assert answer.status_code == 401
    assert count(db, Message, Message.direction == "in") == 0
    with db.sessions() as session:
        assert session.get(Offer, offer_id).state == "open"
        assert session.scalars(select(Message.status)).all() == ["sent"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "rejected Notify callback" in logged
    assert "7700900001" not in logged and "Bloggs" not in logged and TOKEN not in logged


def test_production_without_a_callback_token_refuses_every_callback(
    tmp_path, sqlite_url, monkeypatch
):
    monkeypatch.setenv("NUDGE_INSTANCE_PATH", str(tmp_path / "instance"))
    production = make_test_config(
        sqlite_url,
        tmp_path,
        ENV="production",
        SECRET_KEY="k" * 32,
        ALLOW_SQLITE_IN_PRODUCTION=True,
        ALLOW_OUTBOX_IN_PRODUCTION=True,
    )
    app = create_app(production)
    client = app.test_client()
    for token in ("", "dev-notify-anything"):
        answer = client.post("/webhooks/notify/inbound", json=received("1"), headers=bearer(token))
        assert answer.status_code == 401
    app.extensions["nudge.db"].dispose()


def test_a_received_text_is_stored_once_by_its_id_and_acted_on_once(app, client, db, clock):
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=clock.now())
    text = received("2")
    first = client.post("/webhooks/notify/inbound", json=text, headers=bearer())
    assert first.status_code == 200
    assert act_on_inbound(app) == 1
    again = client.post("/webhooks/notify/inbound", json=text, headers=bearer())  # retried
    assert again.status_code == 200 and act_on_inbound(app) == 0
    assert count(db, Message, Message.direction == "in") == 1
    assert count(db, Booking) == 1
    with db.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    assert (inbound.from_number, inbound.to_number, inbound.provider_sid) == (
        MOBILE,
        "+447700900000",
        text["id"],
    )


def test_a_delivery_receipt_moves_the_message_on(client, db, clock):
    sent_invitation(db, clock, "n-2")
    answer = client.post(
        "/webhooks/notify/status", json=receipt("n-2", "delivered"), headers=bearer()
    )
    assert answer.status_code == 200
    with db.sessions() as session:
        assert session.scalars(select(Message.status)).one() == "delivered"


@pytest.mark.parametrize(
    "order",
    sorted(set(itertools.permutations(["delivered", "permanent-failure"] * 2))),
    ids=lambda o: ">".join(s[0] for s in o),
)
def test_receipts_in_any_order_and_repeated_end_the_same_and_release_the_holds(
    client, db, clock, order
):
    offer_id = sent_invitation(db, clock, "n-3")
    for status in order:
        answer = client.post(
            "/webhooks/notify/status", json=receipt("n-3", status), headers=bearer()
        )
        assert answer.status_code == 200
    with db.sessions() as session:
        message = session.scalars(select(Message)).one()
        assert (message.status, message.error_code) == ("undelivered", "permanent")
        assert session.get(Offer, offer_id).state == "withdrawn"
        phone = session.get(PhoneNumber, MOBILE)
        assert phone is not None and phone.not_textable_at is not None


def test_a_temporary_failure_does_not_blame_the_number(client, db, clock):
    offer_id = sent_invitation(db, clock, "n-4")
    client.post(
        "/webhooks/notify/status", json=receipt("n-4", "temporary-failure"), headers=bearer()
    )
    with db.sessions() as session:
        assert session.scalars(select(Message.status)).one() == "undelivered"
        assert session.get(Offer, offer_id).state == "open"
        assert session.get(PhoneNumber, MOBILE) is None


@pytest.mark.parametrize(
    "payload",
    [
        "not json",
        {"id": "n-5"},
        {"id": "n-5", "status": "exploded"},
        {"id": "n\x005", "status": "delivered"},
        {"id": "n" * 65, "status": "delivered"},
        {"id": "n-\ud800", "status": "delivered"},
    ],
    ids=["text", "no-status", "unknown-status", "nul", "too-long", "lone-surrogate"],
)
def test_a_malformed_receipt_is_400_and_changes_nothing(client, db, clock, payload):
    sent_invitation(db, clock, "n-5")
    if isinstance(payload, str):
        answer = client.post(
            "/webhooks/notify/status",
            data=payload,
            headers={**bearer(), "Content-Type": "text/plain"},
        )
    else:
        answer = client.post("/webhooks/notify/status", json=payload, headers=bearer())
    assert answer.status_code == 400
    with db.sessions() as session:
        assert session.scalars(select(Message.status)).one() == "sent"


def test_the_dev_phone_speaks_notify_when_notify_is_the_provider(app, client, db, clock):
    app.config["SMS_PROVIDER"] = "notify"
    with db.transaction() as session:
        add_open_offer(session, mobile=MOBILE, now=clock.now())
        add_user(session, "admin@example.nhs.uk", "admin")
    sign_in(client, "admin@example.nhs.uk")
    post(client, "/dev/phone/open", {"number": MOBILE})
    page = client.get("/dev/phone").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    answer = client.post(
        "/dev/phone/send", data={"body": "2", "csrf_token": csrf.group(1) if csrf else ""}
    )
    assert answer.status_code == 302
    assert count(db, Booking) == 1
    with db.sessions() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).one()
    uuid.UUID(inbound.provider_sid)  # a Notify received-text id, not a Twilio SID


FIELDS = st.sampled_from(
    ["id", "reference", "to", "status", "source_number", "destination_number", "message"]
)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=80),
    st.text(st.characters(codec=None, categories=["Cs", "Cc", "Lo"]), max_size=8),
    st.sampled_from(["delivered", "permanent-failure", "temporary-failure", "447700900001"]),
    st.lists(st.text(max_size=5), max_size=2),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    path=st.sampled_from(["/webhooks/notify/status", "/webhooks/notify/inbound"]),
    payload=st.one_of(
        st.dictionaries(FIELDS, VALUES, max_size=7),
        st.lists(st.integers(), max_size=3),
        st.text(max_size=20),
    ),
)
def test_fuzzed_callbacks_with_the_token_never_answer_5xx(client, path, payload):
    answer = client.post(path, json=payload, headers=bearer())
    assert answer.status_code in (200, 400), (payload, answer.status_code)
